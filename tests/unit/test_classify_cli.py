"""``propdesk classify``: the JSON-lines contract, the readable form, per-file errors."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from propdesk.cli import build_parser, classify, main
from propdesk.clock import Clock

DATA = Path(__file__).resolve().parents[1] / "data"
TWO = str(DATA / "classify_two_problems_building.eml")
THANKS = str(DATA / "classify_thanks_only.eml")
AUTO = str(DATA / "auto_reply_auto_submitted.eml")
FIELDS = {
    "category",
    "subcategory",
    "urgency",
    "priority",
    "request_type",
    "unit_number",
    "property_id",
    "building",
    "floor",
    "requires_contractor",
    "after_hours",
    "estimated_cost",
    "assignment_group",
    "assigned_to",
    "short_description",
    "matched_rules",
    "triage_confidence",
    "needs_review",
    "unsure",
    "review_reasons",
}


def _json_lines(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict]]:
    code = main(["classify", "--format", "json", *argv])
    lines = capsys.readouterr().out.splitlines()
    return code, [json.loads(line) for line in lines]


def test_one_json_object_per_file_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _json_lines(capsys, TWO, THANKS, AUTO)
    assert code == 0
    assert [o["file"] for o in out] == [TWO, THANKS, AUTO]
    two = out[0]
    assert two["ignored"] is None
    assert [(t["category"], t["subcategory"], t["urgency"]) for t in two["tickets"]] == [
        ("Maintenance", "plumbing", "2"),
        ("Maintenance", "plumbing", "2"),
    ]
    ticket = two["tickets"][0]
    assert set(ticket) == FIELDS
    assert (ticket["unit_number"], ticket["building"], ticket["floor"]) == ("Unit 3C", "C", "3")
    assert ticket["assigned_to"] == "plumber@property.com"
    assert ticket["matched_rules"]
    assert out[1] == {"file": THANKS, "tickets": [], "ignored": "no_action_items"}
    assert out[2]["tickets"] == [] and out[2]["ignored"] == "auto_reply"


def test_unreadable_file_gets_an_error_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = str(tmp_path / "missing.eml")
    code, out = _json_lines(capsys, missing, TWO)
    assert code == 1
    assert out[0]["file"] == missing and out[0]["error"]
    assert out[1]["file"] == TWO and len(out[1]["tickets"]) == 2


def test_readable_explanation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify", TWO]) == 0
    text = capsys.readouterr().out
    assert "ticket 2: Maintenance / plumbing, urgency 2" in text
    assert "Unit 3C, building C, floor 3" in text
    assert "· split:" in text  # why the second problem is its own ticket


def test_rules_override_is_applied(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    override = tmp_path / "ops.toml"
    override.write_text('[contractor]\nphrases = ["toilet"]\n')
    # the rules alone: the triage model may overrule a phrase it has not seen in training
    code, out = _json_lines(capsys, "--rules-only", "--rules", str(override), TWO)
    assert code == 0
    assert [t["requires_contractor"] for t in out[0]["tickets"]] == [False, True]


def _dateless(tmp_path: Path) -> str:
    path = tmp_path / "no-date.eml"
    path.write_bytes(
        b"From: Ana <ana@example.com>\r\nTo: maintenance@property.example\r\n"
        b"Subject: Kitchen sink clogged\r\nMessage-ID: <no-date-1@example.com>\r\n\r\n"
        b"The kitchen sink is clogged and will not drain. Apt 4C\r\n"
    )
    return str(path)


@pytest.mark.parametrize(("hour", "after_hours"), [(3, True), (14, False)])
def test_a_file_without_date_takes_its_time_from_the_clock_passed_in(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, hour: int, after_hours: bool
) -> None:
    """No Date header: the clock handed to the command, not the machine's, decides after_hours."""
    args = build_parser().parse_args(["classify", "--format", "json", _dateless(tmp_path)])
    fixed = datetime(2026, 12, 2, hour, 0, tzinfo=UTC)  # a Wednesday
    assert classify.run(args, Clock(now=lambda: fixed)) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert [t["after_hours"] for t in json.loads(line)["tickets"]] == [after_hours]


def test_json_explains_the_models_part_and_its_doubt(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Every model decision is named with its probability in ``matched_rules``; each unsure one
    has a reason (``urgency=2 p=0.62``); ``--rules-only`` has no model part and no doubt."""
    eml = tmp_path / "stain.eml"
    eml.write_bytes(
        b"From: t@example.com\r\nTo: m@property.com\r\nSubject: ceiling\r\n"
        b"Date: Mon, 07 Dec 2026 10:00:00 +0000\r\n\r\nThere's a stain on the bathroom ceiling "
        b"that seems bigger than last week. Unit 4D\r\n"
    )
    _, (out,) = _json_lines(capsys, str(eml))
    (ticket,) = out["tickets"]
    model = [r for r in ticket["matched_rules"] if r.startswith("model:")]
    heads = [r.split("=")[0].split(" ")[0] for r in model]
    assert set(heads) == {"model:keep", "model:kind", "model:urgency", "model:contractor"}, model
    assert all(re.search(r" p=[01]\.\d\d", r) for r in model), model
    assert 0.0 <= ticket["triage_confidence"] <= 1.0
    assert ticket["needs_review"] == bool(ticket["unsure"])
    assert [r.split("=")[0].split(" ")[0] for r in ticket["review_reasons"]] == ticket["unsure"]
    _, (plain,) = _json_lines(capsys, "--rules-only", str(eml))
    (rules_only,) = plain["tickets"]
    assert set(rules_only) == FIELDS
    assert (rules_only["triage_confidence"], rules_only["needs_review"]) == (None, False)
    assert rules_only["review_reasons"] == [] and rules_only["unsure"] == []
    assert not any(r.startswith("model:") for r in rules_only["matched_rules"])
