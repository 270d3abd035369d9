"""Per-email notes and the tenant directory's pure parts: no database, no mail."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from propdesk.core.classify import classify_text
from propdesk.core.hours import BusinessHours
from propdesk.core.message import Address, InboundMessage
from propdesk.core.models import TicketNote
from propdesk.core.notes import email_notes, phone_in, tenant_phone
from propdesk.core.pipeline import analyse_message
from propdesk.core.rules import load_rules, rules_from_text
from propdesk.core.tenants import (
    TenantRecord,
    fill_from_directory,
    greeting_name,
    parse_directory_csv,
)
from propdesk.errors import RulesError
from tests.unit.helpers_core import make_ticket

RULES = load_rules()
VOCAB = RULES.vocabulary
NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)

TWO_PROBLEMS_AND_NOTES = (
    "The bathroom faucet drips all night.\n\nAlso the hallway light is flickering.\n\n"
    "We have a cat, please don't let the cat out. The key is under the mat. "
    "I'm available after 5pm on weekdays. Call me at 555-201-3344."
)


def _message(body: str, subject: str = "Two things") -> InboundMessage:
    return InboundMessage(
        message_id="<notes@example.org>",
        sha256="0" * 64,
        size=len(body),
        sender=Address("ana@example.org", "Ana Ruiz"),
        reply_to=(),
        to=(),
        cc=(),
        subject=subject,
        date=None,
        in_reply_to=None,
        references=(),
        body_text=body,
        new_text=body,
        quoted_text="",
        signature="",
    )


def test_a_pet_note_opens_no_lease_ticket_and_every_ticket_carries_the_notes() -> None:
    analysis = analyse_message(
        _message(TWO_PROBLEMS_AND_NOTES),
        rules=RULES,
        business_hours=BusinessHours(),
        received_at=NOW,
        now=NOW,
        new_id=lambda n: b"\x01" * n,
    )
    kinds = sorted(
        (t.category.value, t.subcategory.value if t.subcategory else None) for t in analysis.tickets
    )
    assert kinds == [("Maintenance", "electrical"), ("Maintenance", "plumbing")]
    want = (
        TicketNote("pets", "We have a cat, please don't let the cat out."),
        TicketNote("access", "The key is under the mat."),
        TicketNote("availability", "I'm available after 5pm on weekdays."),
        TicketNote("phone", "Call me at 555-201-3344."),
    )
    assert all(t.notes == want for t in analysis.tickets)


def test_a_question_about_a_pet_is_a_lease_matter_not_a_note() -> None:
    body = "Can I have a dog here? It's a small terrier."
    assert [c.category for c in classify_text("Question", body, VOCAB)] == ["Lease"]
    assert email_notes(body, VOCAB) == ()


def test_a_sentence_that_names_a_problem_is_a_matter_not_a_note() -> None:
    body = "The pool gate code isn't working since they changed it on Friday."
    items = classify_text("Gate", body, VOCAB)
    assert len(items) == 1
    assert email_notes(body, VOCAB) == ()


def test_phone_from_a_note_else_the_signature() -> None:
    assert phone_in("call me at +1 (555) 201-3344 please") == "+1 (555) 201-3344"
    assert phone_in("Unit 4C, since 2019") is None
    note = (TicketNote("phone", "My cell is 555-0148."),)
    assert tenant_phone(note, "Ana\n(555) 999-0000") == "555-0148"
    assert tenant_phone((), "Ana Ruiz\nUnit 4C\n555 999 0000") == "555 999 0000"


# --- the directory ---------------------------------------------------------------------------

CSV_OK = (
    "unit,building,property,name,email,phone\n"
    "4C,North,P-MAPLE,Ana Ruiz,Ana@Example.org,555-0101\n"
    "Unit 5a,,,Ben Ode,ben@example.org,\n"
)


def test_the_csv_is_read_with_lower_cased_addresses_and_bare_units() -> None:
    parsed = parse_directory_csv(CSV_OK)
    assert parsed.errors == ()
    assert parsed.records == (
        TenantRecord("ana@example.org", "Ana Ruiz", "4C", "North", "P-MAPLE", "555-0101"),
        TenantRecord("ben@example.org", "Ben Ode", "5A"),
    )


def test_every_bad_line_is_named_by_its_line_number() -> None:
    text = (
        "unit,building,property,name,email,phone\n"
        "4C,,,Ana,ana@example.org,\n"
        ",,,No Unit,nounit@example.org,\n"
        "\n"
        "5A,,,Bad,not-an-address,\n"
        "6B,,,Again,ANA@example.org,\n"
        "7C,,,Short,short@example.org\n"
    )
    parsed = parse_directory_csv(text)
    assert [str(e) for e in parsed.errors] == [
        "line 3: unit is empty",
        "line 5: email 'not-an-address' is not an address",
        "line 6: ana@example.org already on line 2",
        "line 7: expected 6 fields, got 5",
    ]


def test_a_wrong_header_is_line_one() -> None:
    parsed = parse_directory_csv("email,unit\nana@example.org,4C\n")
    assert [e.line for e in parsed.errors] == [1]
    assert parsed.records == ()


ANA = TenantRecord("ana@example.org", "Ana Ruiz", "4C", "North", "P-MAPLE", "555-0101")


def test_the_directory_fills_a_ticket_whose_text_names_no_unit() -> None:
    ticket = make_ticket(unit_number=None, property_id="P000")
    filled = fill_from_directory(ticket, ANA, RULES.policy)
    assert filled.unit_number == "Unit 4C"
    assert filled.property_id == "P-MAPLE"
    assert filled.metadata.building == "NORTH"
    assert any(r.startswith("directory:unit Unit 4C") for r in filled.metadata.matched_rules)


def test_the_text_wins_over_the_directory_and_the_ticket_says_so() -> None:
    ticket = make_ticket(unit_number="Unit 9Z")
    kept = fill_from_directory(ticket, ANA, RULES.policy)
    assert kept.unit_number == "Unit 9Z"
    assert kept.metadata.matched_rules[-1] == (
        "directory:the text names Unit 9Z, the tenant directory says Unit 4C for "
        "ana@example.org; the text wins"
    )


def test_an_unknown_sender_changes_nothing() -> None:
    ticket = make_ticket(unit_number=None)
    assert fill_from_directory(ticket, None, RULES.policy) is ticket


def test_the_greeting_prefers_the_directory_name() -> None:
    assert greeting_name(ANA, "A. R.") == "Ana Ruiz"
    assert greeting_name(None, "Ana  Ruiz") == "Ana Ruiz"
    assert greeting_name(None, "ana@example.org") == ""


def test_an_override_of_the_note_cues_reaches_the_detection() -> None:
    body = "The sink is leaking.\n\nThe parrot must stay in its cage."
    assert email_notes(body, VOCAB) == ()
    notes = {"access": ["spare key"], "pets": ["the parrot"], "phone": ["ring me"]}
    override = "[notes]\n" + "".join(f"{k} = {v!r}\n" for k, v in notes.items())
    with pytest.raises(RulesError, match=r"\[notes\].*availability"):
        rules_from_text(override)
    full = override + "availability = ['home after']\n"
    vocab = rules_from_text(full).vocabulary
    assert email_notes(body, vocab) == (TicketNote("pets", "The parrot must stay in its cage."),)
