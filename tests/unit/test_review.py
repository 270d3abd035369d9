"""Doubt as a feature: which decision was unsure in words, who is mailed for a needs-review
ticket, the configurable review threshold, the triage mail's text, and check-config's line."""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest

from propdesk.cli import main
from propdesk.config import parse_config
from propdesk.core.conversation import plan_staff_reply
from propdesk.core.doubt import review_reasons
from propdesk.core.models import TicketMetadata, Urgency
from propdesk.core.notifications import STAFF, Source, plan_created
from propdesk.core.review import REVIEW_KIND, plan_review, review_key, with_review_below
from propdesk.core.rules import load_rules
from propdesk.core.staff_commands import parse_commands
from propdesk.core.triage import decide
from propdesk.core.triage_features import ItemView
from propdesk.errors import ConfigError
from propdesk.mail.compose import Composer, Outgoing, Templates, make_message_id
from tests.unit.notify_factory import NOW, ticket

RULES = load_rules()
SLA = RULES.policy.sla
TRIAGE = "triage@property.com"
UNSURE_RULES = (
    "topic:cleaning_common=4.5 [stain|stains]",
    "model:keep p=0.98",
    "model:kind=Maintenance/cleaning p=0.27",
    "model:urgency=1 p=0.62 (rules: 2)",
    "model:contractor=False p=1.00",
)


def _meta(unsure: tuple[str, ...], rules: tuple[str, ...] = UNSURE_RULES) -> TicketMetadata:
    return TicketMetadata(
        "Stain", "t@example.com", matched_rules=rules, triage_confidence=0.27, unsure=unsure
    )


def _doubtful(n: int = 1, **changes: object) -> object:
    return ticket(n, metadata=_meta(("category", "urgency")), **changes)


def test_reasons_name_the_decision_its_answer_and_probability() -> None:
    assert review_reasons(("category", "urgency"), UNSURE_RULES) == (
        "category=Maintenance/cleaning p=0.27",
        "urgency=1 p=0.62 (rules: 2)",
    )
    assert review_reasons(("ticket",), UNSURE_RULES) == ("ticket p=0.98",)
    assert review_reasons((), UNSURE_RULES) == ()


def test_a_reason_without_the_models_note_is_the_bare_decision() -> None:
    assert review_reasons(("urgency", "contractor"), ("urgency:base=2",)) == (
        "urgency",
        "contractor",
    )


def test_an_urgency_the_safety_list_raised_says_so() -> None:
    rules = (*UNSURE_RULES, "safety:gas raises urgency to 1")
    assert review_reasons(("urgency",), rules) == ("urgency=1 (safety:gas raises urgency to 1)",)


def test_the_triage_arbiters_notes_give_reasons_for_every_unsure_decision() -> None:
    """The format ``core.triage`` writes is the one read back (whatever the model's numbers)."""
    model = with_review_below(RULES, 1.0).triage
    assert model is not None
    view = ItemView(
        "There is a stain on the bathroom ceiling", "stain", "Maintenance", "cleaning", "2",
        False, ("topic:cleaning_common=4.5",), 0, 1, False,
    )  # fmt: skip
    d = decide(view, model)
    assert set(d.unsure) == {"ticket", "category", "urgency", "contractor"}  # p < 1 always
    reasons = review_reasons(d.unsure, d.notes)
    assert [r.split("=")[0].split(" ")[0] for r in reasons] == list(d.unsure)
    assert all(" p=" in r for r in reasons), reasons


def test_a_needs_review_ticket_mails_the_triage_address_as_well_as_its_assignee() -> None:
    doubtful = _doubtful()
    created = plan_created([doubtful], Source(None), SLA)  # type: ignore[list-item]
    review = plan_review([doubtful], " Triage@Property.com ", SLA)  # type: ignore[list-item]
    assert [p.recipient for p in created if p.audience == STAFF] == ["plumber@property.com"]
    assert created[0].context["tickets"][0]["review_reasons"] == [
        "category=Maintenance/cleaning p=0.27",
        "urgency=1 p=0.62 (rules: 2)",
    ]
    assert len(review) == 1
    (mail,) = review
    assert (mail.kind, mail.audience, mail.recipient) == (REVIEW_KIND, STAFF, TRIAGE)
    assert mail.ticket_ids == ("TKT-00000001",)
    assert mail.dedupe_key == review_key("TKT-00000001") == "triage_review:TKT-00000001"
    ctx = mail.context["tickets"][0]
    assert ctx["needs_review"] is True and ctx["triage_confidence"] == 0.27


def test_no_triage_mail_when_confident_unconfigured_or_the_assignee_is_triage() -> None:
    confident = ticket(1, metadata=_meta(()))
    doubtful = _doubtful(2)
    assert plan_review([confident], TRIAGE, SLA) == []
    assert plan_review([doubtful], "", SLA) == []  # type: ignore[list-item]
    mine = _doubtful(3, assigned_to=TRIAGE)
    assert plan_review([mine], TRIAGE.upper(), SLA) == []  # type: ignore[list-item]
    both = plan_review([confident, doubtful, confident], TRIAGE, SLA)  # type: ignore[list-item]
    assert [p.ticket_ids for p in both] == [("TKT-00000002",)]


def test_review_below_moves_the_threshold_and_nothing_else() -> None:
    model = RULES.triage
    assert model is not None
    assert with_review_below(RULES, None) is RULES
    strict = with_review_below(RULES, 0.999).triage
    assert strict is not None and strict.thresholds.confident == 0.999
    assert strict.thresholds.urgency == model.thresholds.urgency
    assert strict.heads is model.heads
    rules_only = load_rules(model=False)
    assert with_review_below(rules_only, 0.5) is rules_only


def test_the_triage_mail_says_what_was_unsure_and_how_to_clear_it() -> None:
    config = parse_config({"smtp": {"message_id_domain": "mail.property.com"}})
    (mail,) = plan_review([_doubtful()], TRIAGE, SLA)  # type: ignore[list-item]
    out = Outgoing(
        kind=mail.kind,
        recipient=mail.recipient,
        ticket_ids=mail.ticket_ids,
        message_id=make_message_id("TKT-00000001", 9, "mail.property.com"),
        context=mail.context,
    )
    raw = Composer(config, Templates()).compose(out, NOW).as_bytes()
    msg = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    assert msg["Subject"].startswith("Triage Review Needed: [TKT-00000001]")
    assert msg["To"] == TRIAGE
    for part in ("plain", "html"):
        body = msg.get_body((part,))
        assert body is not None
        text = str(body.get_content())
        assert "urgency=1 p=0.62 (rules: 2)" in text
        assert "propdesk tickets review TKT-00000001 --ok" in text


def test_triage_address_must_be_an_address() -> None:
    with pytest.raises(ConfigError, match="triage"):
        parse_config({"triage": {"address": "triage team"}})
    with pytest.raises(ConfigError, match="review_below"):
        parse_config({"triage": {"review_below": 1.5}})
    assert parse_config({"triage": {"address": " Triage@X.org "}}).triage.address == "triage@x.org"


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("", "ok   triage: no [triage] address: needs-review tickets (model's threshold) go"),
        (
            '[triage]\naddress = "triage@property.com"\nreview_below = 0.9\n',
            "ok   triage: needs-review tickets (p < 0.9) also go to triage@property.com",
        ),
        (
            '[triage]\naddress = "maintenance@property.com"\n',
            "FAIL triage: address maintenance@property.com is one of ours",
        ),
    ],
)
def test_check_config_says_where_doubt_goes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], section: str, expected: str
) -> None:
    path = tmp_path / "propdesk.toml"
    path.write_text('[smtp]\nfrom_address = "maintenance@property.com"\n\n' + section)
    code = main(["--config", str(path), "check-config"])
    lines = [line for line in capsys.readouterr().out.splitlines() if "triage:" in line]
    assert len(lines) == 1 and lines[0].startswith(expected), lines
    assert code == (2 if expected.startswith("FAIL") else 0)


def test_a_staff_reply_reviewed_ok_plans_the_review_and_a_bad_value_is_refused() -> None:
    keys = RULES.conversation.command_keys
    assert "reviewed" in keys
    commands = parse_commands("Reviewed: OK\nUrgency: 1\n\nchecked it", keys)
    plan = plan_staff_reply(ticket(1), commands, TRIAGE, keys)
    assert (plan.kind, plan.reviewed, plan.urgency, plan.comment) == (
        "commands",
        True,
        Urgency.HIGH,
        "checked it",
    )
    refused = plan_staff_reply(ticket(1), parse_commands("Reviewed: maybe", keys), TRIAGE, keys)
    assert refused.kind == "refused" and not refused.reviewed
    assert refused.refusals == ("Reviewed: expected ok, got 'maybe'",)
    assert "Reviewed: ok" in refused.help
    assert not plan_staff_reply(ticket(1), parse_commands("Note: x", keys), TRIAGE, keys).reviewed
