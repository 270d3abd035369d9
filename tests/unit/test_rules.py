"""Rules loader: defaults, whole-table override, and one clear error per broken file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from propdesk.core.models import Category, RequestType, Subcategory, TicketStatus, Urgency
from propdesk.core.policy import POLICY_TABLES, Assignment, SlaTarget, TableCheck
from propdesk.core.rules import load_rules, rules_from_text
from propdesk.core.vocabulary import VOCABULARY_TABLES
from propdesk.errors import RulesError


def test_defaults_load_and_cover_every_category() -> None:
    policy = load_rules().policy
    assert set(policy.assignment) == set(Category)
    assert policy.assignment[Category.MAINTENANCE] == Assignment(
        "Property Maintenance", "maintenance@property.com"
    )
    assert policy.default_assignment == Assignment("General Support", "support@property.com")
    assert policy.specialists[Subcategory.PLUMBING] == "plumber@property.com"
    assert policy.sla[Urgency.HIGH] == SlaTarget(timedelta(minutes=30), timedelta(hours=4))
    assert policy.sla[Urgency.LOW] == SlaTarget(timedelta(hours=8), timedelta(hours=72))
    assert [r.name for r in policy.escalations] == [
        "supervisor",
        "contractor_coordinator",
        "emergency_coordinator",
    ]
    supervisor = policy.escalations[0]
    assert supervisor.after == timedelta(minutes=30)
    assert supervisor.urgency == frozenset({Urgency.HIGH})
    assert supervisor.status == frozenset({TicketStatus.NEW})
    assert policy.request_type_by_category[Category.PAYMENT] is RequestType.BILLING
    assert dict(policy.properties) == {}


def test_override_replaces_one_table_and_keeps_the_rest() -> None:
    rules = rules_from_text(
        """
        [specialists]
        plumbing = "Pipes@Example.com"
        """,
        name="ops.toml",
    )
    # The whole table is replaced: the other specialists are gone, not merged.
    assert dict(rules.policy.specialists) == {Subcategory.PLUMBING: "pipes@example.com"}
    assert rules.sources["specialists"] == "ops.toml"
    # Tables the override omits keep the defaults.
    assert rules.policy.sla[Urgency.HIGH].response == timedelta(minutes=30)
    assert rules.sources["sla"] == "propdesk/rules/policy.toml"


def test_override_properties_upper_cases_buildings() -> None:
    rules = rules_from_text('[properties]\nmaple = "P100"\n')
    assert dict(rules.policy.properties) == {"MAPLE": "P100"}


def test_load_rules_reads_the_override_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('[default_assignment]\ngroup = "Desk"\nassignee = "desk@example.org"\n')
    rules = load_rules(path)
    assert rules.policy.default_assignment == Assignment("Desk", "desk@example.org")
    assert rules.sources["default_assignment"] == str(path)


def test_missing_override_file_is_a_rules_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match=r"nope\.toml: cannot read"):
        load_rules(tmp_path / "nope.toml")


def test_override_is_validated_as_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('[sla.1]\nresponse_minutes = "soon"\nresolution_minutes = 240\n')
    with pytest.raises(RulesError) as info:
        load_rules(path)
    assert str(info.value).startswith(f"{path}: [sla] 1.response_minutes: expected a whole number")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("[escalations]\n", r"ops.toml: \[escalations\]: unknown table \(known: "),
        ("[sla]\nx = 1\n", r"ops.toml: \[sla\] x: expected one of '1', '2', '3', got 'x'"),
        (
            "[sla.1]\nresponse_minutes = 30\nresolution_minutes = 240\n",
            r"ops.toml: \[sla\] 2: missing \(every urgency needs SLA targets\)",
        ),
        (
            "[sla.1]\nresponse_minutes = 60\nresolution_minutes = 30\n",
            r"ops.toml: \[sla\] 1: resolution_minutes is shorter than response_minutes",
        ),
        (
            '[specialists]\nplumbing = "plumber at property.com"\n',
            r"ops.toml: \[specialists\] plumbing: not an e-mail address",
        ),
        (
            '[specialists]\nplumbing = "a@b.com"\nPlumbing = "c@d.com"\n',
            r"ops.toml: \[specialists\] Plumbing: duplicate entry for 'plumbing'",
        ),
        (
            '[specialists]\nroofing = "a@b.com"\n',
            r"ops.toml: \[specialists\] roofing: expected one of 'plumbing'",
        ),
        (
            '[properties]\nMAPLE = "P1"\nmaple = "P2"\n',
            r"ops.toml: \[properties\] maple: duplicate entry for building 'MAPLE'",
        ),
        (
            '[assignment.Lease]\ngroup = "Leasing"\n',
            r"ops.toml: \[assignment\] Lease.assignee: missing \(required\)",
        ),
        (
            '[assignment.Lease]\ngroup = "L"\nassignee = "l@x.com"\nphone = "1"\n',
            r"ops.toml: \[assignment\] Lease.phone: unknown key",
        ),
        (
            '[escalation.boss]\ndescription = "d"\ntarget = "b@x.com"\n',
            r"ops.toml: \[escalation\] boss: names no condition",
        ),
        (
            '[escalation.boss]\ndescription = "d"\ntarget = "b@x.com"\nurgency = ["1", "1"]\n',
            r"ops.toml: \[escalation\] boss.urgency\[1\]: duplicate entry '1'",
        ),
        (
            '[escalation.boss]\ndescription = "d"\ntarget = "b@x.com"\nafter_minutes = -5\n',
            r"ops.toml: \[escalation\] boss.after_minutes: expected a whole number",
        ),
        (
            '[escalation.boss]\ndescription = "d"\ntarget = "b@x.com"\nafter_hours = "yes"\n',
            r"ops.toml: \[escalation\] boss.after_hours: expected true or false",
        ),
        (
            '[request_types]\ndefault = "Chat"\n',
            r"ops.toml: \[request_types\] default: expected one of 'Repair'",
        ),
        (
            '[estimated_cost]\ndefault = "low"\ncontractor = "huge"\n',
            r"ops.toml: \[estimated_cost\] contractor: expected one of 'low'",
        ),
        (
            '[[priority.overrides]]\ncategory = "Complaint"\n',
            r"ops.toml: \[priority\] overrides\[0\].priority: missing",
        ),
        (
            '[specialists]\nplumbing = "a@b.com"\nplumbing = "c@d.com"\n',
            r"ops.toml: duplicate key or table: Cannot overwrite a value \(at line 3",
        ),
        ("[sla.1]\n[sla.1]\n", r"ops.toml: duplicate key or table: Cannot declare"),
        ("sla = 5\n", r"ops.toml: \[sla\]: expected a table, got 5"),
        ("[sla\n", r"ops.toml: TOML syntax error"),
    ],
)
def test_broken_override_gives_one_clear_error(override: str, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        rules_from_text(override, name="ops.toml")


def test_priority_override_parses() -> None:
    rules = rules_from_text(
        '[[priority.overrides]]\ncategory = "Complaint"\nsubcategory = "security"\n'
        'urgency = "2"\npriority = "1"\n'
    )
    (override,) = rules.policy.priority_overrides
    assert override.subcategory is Subcategory.SECURITY
    assert override.priority == "1"


def test_policy_and_vocabulary_tables_do_not_overlap() -> None:
    # A table in both sets would be validated twice and owned by nobody.
    assert POLICY_TABLES.isdisjoint(VOCABULARY_TABLES)


def test_keyword_checks_for_the_vocabulary() -> None:
    check = TableCheck("vocabulary.toml", "subcategories")
    assert check.keywords(["Leak", "no  hot water"], "plumbing") == ("leak", "no hot water")
    with pytest.raises(RulesError, match=r"\[subcategories\] plumbing\[1\]: duplicate keyword"):
        check.keywords(["leak", "LEAK"], "plumbing")
    with pytest.raises(RulesError, match=r"plumbing\[0\]: expected a non-empty string"):
        check.keywords([""], "plumbing")
    with pytest.raises(
        RulesError,
        match=r"vocabulary.toml: \[subcategories\] general_repair: "
        r"duplicate keyword 'door' \(also in plumbing\)",
    ):
        check.unique_across({"plumbing": ["leak", "door"], "general_repair": ["door"]})
