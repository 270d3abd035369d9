"""Statutory deadlines, pure: spans across weekends, DST and holidays; which line applies."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from importlib import resources

import pytest

from propdesk.core.deadlines import add_span, deadline_for, parse_jurisdictions
from propdesk.core.hours import BusinessHours
from propdesk.core.rules import rules_from_text
from propdesk.errors import RulesError
from tests.unit.test_safety import tickets_for

SEATTLE = BusinessHours.from_values(
    "America/Los_Angeles",
    {d: (time(8), time(18)) for d in ("mon", "tue", "wed", "thu", "fri")},
    [date(2026, 11, 26)],  # Thanksgiving
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_hours_are_elapsed_also_across_the_dst_change() -> None:
    # Sat 31 Oct 2026 14:00 PDT (21:00Z); DST ends Sun 1 Nov 02:00: 24 h later is 13:00 PST
    assert add_span(utc(2026, 10, 31, 21), 24, "hours", SEATTLE) == utc(2026, 11, 1, 21)


def test_days_keep_the_local_wall_time_across_the_dst_change() -> None:
    # 14:00 PDT on 31 Oct + 10 days = 14:00 PST on 10 Nov = 22:00Z
    assert add_span(utc(2026, 10, 31, 21), 10, "days", SEATTLE) == utc(2026, 11, 10, 22)


def test_business_days_skip_the_weekend_and_holidays() -> None:
    # Wed 25 Nov 2026 10:00 PST (18:00Z) + 3 business days: Thu 26 is Thanksgiving, Fri 27,
    # Mon 30, Tue 1 Dec
    assert add_span(utc(2026, 11, 25, 18), 3, "business_days", SEATTLE) == utc(2026, 12, 1, 18)
    # Friday + 1 business day = Monday
    assert add_span(utc(2026, 11, 27, 18), 1, "business_days", SEATTLE) == utc(2026, 11, 30, 18)


WA_EXAMPLE = {
    "US-WA-example": {
        "citation": "EXAMPLE: RCW 59.18.070",
        "properties": ["*"],
        "rules": [
            {
                "name": "no heat, water or electricity; imminent hazard",
                "span": 24,
                "unit": "hours",
                "situations": ["no heat", "no water", "gas", "flooding"],
            },
            {
                "name": "major appliance or plumbing fixture",
                "span": 72,
                "unit": "hours",
                "subcategories": ["appliance", "plumbing"],
            },
        ],
        "otherwise": {"name": "other repairs", "span": 10, "unit": "days"},
    }
}


def jurisdictions() -> tuple:  # type: ignore[type-arg]
    return parse_jurisdictions(
        WA_EXAMPLE, lambda t: "ops.toml", frozenset({"no heat", "no water", "gas", "flooding"})
    )


@pytest.mark.parametrize(
    ("body", "rule", "hours"),
    [
        ("There is no heat in my apartment since this morning. Unit 101.", "no heat", 24),
        ("There is a leak under the kitchen sink in unit 3B", "major appliance", 72),
        ("The closet door came off its hinge in unit 3B", "other repairs", 10 * 24),
    ],
)
def test_the_first_matching_line_from_the_receive_time(body: str, rule: str, hours: int) -> None:
    (ticket,) = tickets_for(body)
    ticket = replace(ticket, received_at=utc(2026, 12, 1, 18))
    found = deadline_for(ticket, jurisdictions(), SEATTLE)
    assert found is not None and found.rule.startswith(rule)
    assert (found.due_at - ticket.received_at).total_seconds() == hours * 3600


def test_no_jurisdiction_no_deadline() -> None:
    (ticket,) = tickets_for("There is no heat in my apartment. Unit 101.")
    assert deadline_for(ticket, (), SEATTLE) is None
    only_other = parse_jurisdictions(
        {"X": {"citation": "EXAMPLE", "properties": ["P999"]}}, lambda t: "f", frozenset()
    )
    assert deadline_for(ticket, only_other, SEATTLE) is None


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"X": {"properties": ["*"]}}, "X.citation: must name the law"),
        ({"X": {"citation": "c", "rules": [{"span": 0, "unit": "hours"}]}}, "rules[0].span"),
        ({"X": {"citation": "c", "rules": [{"span": 1, "unit": "weeks"}]}}, "rules[0].unit"),
        (
            {"X": {"citation": "c", "otherwise": {"span": 1, "unit": "days", "situations": ["?"]}}},
            "otherwise.situations: not urgency rules",
        ),
    ],
)
def test_bad_jurisdictions_name_file_table_and_entry(spec: dict, problem: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(RulesError) as err:
        parse_jurisdictions(spec, lambda t: "ops.toml", frozenset())
    assert str(err.value).startswith("ops.toml: [statutory_deadlines] X") and problem in str(
        err.value
    )


def test_the_shipped_examples_are_off_and_valid_once_uncommented() -> None:
    assert rules_from_text().statutory == ()
    text = resources.files("propdesk.rules").joinpath("policy.toml").read_text(encoding="utf-8")
    block = text[text.index("# [statutory_deadlines.US-WA-example]") :]
    lines = [ln[2:] if ln.startswith("# ") else ln for ln in block.splitlines()]
    example = "\n".join(ln for ln in lines if not ln.startswith(("EXAMPLE", "#")))
    rules = rules_from_text(example)
    assert [j.key for j in rules.statutory] == ["US-WA-example", "US-TX-example"]
    assert all("not legal advice" in j.citation for j in rules.statutory)
    (heat,) = tickets_for("There is no heat in my apartment since this morning. Unit 101.")
    found = deadline_for(replace(heat, received_at=utc(2026, 12, 4, 18)), rules.statutory, SEATTLE)
    assert found is not None and found.due_at == utc(2026, 12, 5, 18)
