"""Classification traps, one family per test, on our own tenant emails (classify_cases.py).

Each case is an email the dev corpus does not contain, labelled by the corpus README's rules.
"""

from __future__ import annotations

import re

import pytest

from propdesk.core.classify import classify_text
from propdesk.core.location import UNIT_NOT_SPECIFIED, extract_location
from propdesk.core.rules import load_rules
from propdesk.core.vocabulary import Vocabulary
from tests.unit import classify_cases
from tests.unit.classify_cases import Case

# every batch of our own emails: CASES, CASES_2, ... (each written blind, then fixed for)
ALL_CASES: list[Case] = [
    case
    for name in sorted(vars(classify_cases))
    if re.fullmatch(r"CASES(_\d+)?", name)
    for case in getattr(classify_cases, name)
]


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_rules().vocabulary


def _tickets(vocab: Vocabulary, subject: str, body: str) -> list[tuple[str, str | None, str, bool]]:
    return sorted(
        (
            (c.category, c.subcategory, c.urgency, c.requires_contractor)
            for c in classify_text(subject, body, vocab)
        ),
        key=str,
    )


@pytest.mark.parametrize("case", ALL_CASES, ids=[c[0] for c in ALL_CASES])
def test_tickets(vocab: Vocabulary, case: Case) -> None:
    _, subject, body, expected, _, _, _ = case
    assert _tickets(vocab, subject, body) == sorted(expected, key=str)


@pytest.mark.parametrize("case", ALL_CASES, ids=[c[0] for c in ALL_CASES])
def test_location(vocab: Vocabulary, case: Case) -> None:
    _, subject, body, _, unit, building, floor = case
    signature = ""
    if "\n--\n" in body:  # what the parser separates as the signature
        body, signature = body.split("\n--\n", 1)
    loc = extract_location(subject, body, signature, vocab)
    assert (loc.unit_number, loc.building, loc.floor) == (
        unit or UNIT_NOT_SPECIFIED,
        building,
        floor,
    )


def test_every_decision_keeps_its_rules(vocab: Vocabulary) -> None:
    (item,) = classify_text("Leak", "Water is pouring through my bathroom ceiling!", vocab)
    assert item.urgency == "1"
    assert any(r.startswith("urgency:") for r in item.matched_rules)
    assert any(r.startswith("topic:plumbing") for r in item.matched_rules)


def test_substrings_never_match(vocab: Vocabulary) -> None:
    # "light" in "lightly", "unit" in "community", "ant" in "want"/"pants", "rat" in "separate"
    items = classify_text(
        "Question",
        "I lightly touched on this at the community meeting: I want to know whether separate "
        "pants drying racks are allowed in the laundry area?",
        vocab,
    )
    assert all(c.subcategory not in {"electrical", "general_repair"} for c in items)


def test_negation_no_fire(vocab: Vocabulary) -> None:
    (item,) = classify_text(
        "Alarm", "The smoke alarm keeps going off - no fire, I was just cooking. Unit 2B", vocab
    )
    assert (item.subcategory, item.urgency) == ("electrical", "2")


def test_hedging_does_not_lower_a_real_emergency(vocab: Vocabulary) -> None:
    (item,) = classify_text(
        "Not an emergency", "Not an emergency, but water is dripping from the ceiling.", vocab
    )
    assert item.urgency == "1"


def test_shouting_does_not_raise_a_question(vocab: Vocabulary) -> None:
    (item,) = classify_text("URGENT!!!", "URGENT!!! When does the pool reopen?", vocab)
    assert (item.category, item.urgency) == ("Amenity", "3")


def test_context_water_bill_is_payment(vocab: Vocabulary) -> None:
    (item,) = classify_text("Bill", "The water bill is wrong, I was charged twice.", vocab)
    assert item.category == "Payment"


def test_context_loud_music_rattling_windows_is_noise(vocab: Vocabulary) -> None:
    (item,) = classify_text(
        "Music", "The music next door is so loud the windows rattle every night.", vocab
    )
    assert (item.category, item.subcategory) == ("Complaint", "noise_complaint")


def test_quoted_reply_subject_alone_is_not_a_ticket(vocab: Vocabulary) -> None:
    assert classify_text("Re: Leaking faucet", "Tuesday works, thanks!", vocab) == []


@pytest.mark.parametrize(
    ("subject", "body", "expected"),
    [
        ("Re: Leaking tub faucet", "Still not fixed!!", [("plumbing", "2")]),
        ("RE: Clogged sink", "Following up on this - any update?", [("plumbing", "2")]),
        ("Re: No heat", "It's still not working and it's freezing in here.", [("hvac", "1")]),
        ("Re: toilet", "Thanks, it works now.", []),
    ],
)
def test_follow_up_on_a_reply_is_a_ticket_for_that_issue(
    vocab: Vocabulary, subject: str, body: str, expected: list[tuple[str, str]]
) -> None:
    assert [(c.subcategory, c.urgency) for c in classify_text(subject, body, vocab)] == expected


@pytest.mark.parametrize(
    ("body", "urgency"),
    [
        ("It's 55 degrees in my apartment and the heat is on.", "1"),
        ("The heater is on but it's only 58 degrees inside.", "1"),
        ("The AC is broken and it's 88 degrees in here.", "2"),
        ("The radiator clanks but it's 70 degrees inside, fine.", "2"),
    ],
)
def test_indoor_temperature_is_evidence(vocab: Vocabulary, body: str, urgency: str) -> None:
    (item,) = classify_text("Temperature", body, vocab)
    assert (item.subcategory, item.urgency) == ("hvac", urgency)


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Re: Plumber visit", "Sounds good, see you Tuesday!"),
        ("Re: AC repair", "Will do, thanks."),
        ("Re: Your ticket TKT-1234 - leak", "Received, thank you."),
        ("Re: Dishwasher", "Perfect, Wednesday works."),
        ("Re: work order", "Thank you so much for fixing the heater!"),
        ("Re: Leak", "The plumber came and fixed it, all good now."),
        ("Re: Pest control", "Yes, you can enter my apartment tomorrow, I'll be at work."),
        ("Re: Fridge", "Great news, thanks! The new fridge is so much quieter."),
        ("Re: sink", "Never mind, my husband unclogged it."),
        ("Re: noise", "It stopped last night, thanks for talking to them."),
        ("Hello", "Just saying hi! Hope you have a great weekend."),
    ],
)
def test_no_request_no_ticket(vocab: Vocabulary, subject: str, body: str) -> None:
    assert classify_text(subject, body, vocab) == []
