"""core.quoting.split_body: what the tenant wrote now vs. quoted history and signature."""

from __future__ import annotations

import pytest

from propdesk.core.quoting import split_body


@pytest.mark.parametrize(
    ("text", "new"),
    [
        (
            "Fix it please.\n\nOn Mon, 4 Mar 2024 at 10:00, Bob <b@x.example> wrote:\n> old",
            "Fix it please.",
        ),
        ("Fix it.\n\nAm 04.03.2024 um 10:00 schrieb Bob <b@x.example>:\n> alt", "Fix it."),
        ("Fix it.\n\nLe lun. 4 mars 2024 à 10:00, Bob <b@x.example> a écrit :\n> vieux", "Fix it."),
        ("Fix it.\n\nEl lun, 4 mar 2024 a las 10:00, Bob escribió:\n> viejo", "Fix it."),
        ("Fix it.\n\n----- Original Message -----\nFrom: Bob\nold", "Fix it."),
        (
            "Fix it.\n\nDa: Bob\nInviato: lunedì 4 marzo 2024\nA: Ana\nOggetto: x\n\nvecchio",
            "Fix it.",
        ),
        (
            "Fix it.\n\nVon: Bob\nGesendet: Montag, 4. März 2024\nAn: Ana\nBetreff: x\n\nalt",
            "Fix it.",
        ),
        ("Fix it.\n\nFrom: Bob Sent: Monday To: Ana Subject: x\nold", "Fix it."),
        ("Fix it.\n\nBegin forwarded message:\n\nFrom: Bob\nold", "Fix it."),
        ("> question?\nanswer one\n> question 2?\nanswer two", "answer one\nanswer two"),
    ],
)
def test_history_markers(text: str, new: str) -> None:
    assert split_body(text).new == new


def test_paragraphs_and_line_breaks_are_kept() -> None:
    text = "First problem: the sink.\nIt leaks.\n\nSecond problem: the door.\n"
    assert (
        split_body(text).new == "First problem: the sink.\nIt leaks.\n\nSecond problem: the door."
    )


def test_text_mentioning_from_is_not_history() -> None:
    text = "From: my neighbour upstairs, water comes through the ceiling.\nPlease come."
    assert split_body(text).new == text


def test_wrote_without_a_date_or_address_is_not_an_attribution() -> None:
    text = "My neighbour wrote:\nthe heating is off in the whole building."
    assert split_body(text).new == text


@pytest.mark.parametrize(
    ("text", "new", "signature"),
    [
        ("Leak in 4B.\n\nSent from my Galaxy", "Leak in 4B.", "Sent from my Galaxy"),
        ("Leak.\n\nGet Outlook for iOS", "Leak.", "Get Outlook for iOS"),
        ("Leak.\n\nThanks,\nAna\nApt 4B", "Leak.\n\nApt 4B", "Thanks,\nAna"),
        ("Leak.\n\nKind regards\nAna Ruiz", "Leak.", "Kind regards\nAna Ruiz"),
        ("Thanks!", "Thanks!", ""),  # a thank-you note is content, not a sign-off
        ("ok thanks\n\nSent from my iPhone", "ok thanks", "Sent from my iPhone"),
    ],
)
def test_signatures(text: str, new: str, signature: str) -> None:
    split = split_body(text)
    assert (split.new, split.signature) == (new, signature)


def test_long_closing_paragraph_is_not_a_signature() -> None:
    text = "Leak.\n\nThanks,\nI will be home all day tomorrow so any time after nine works for me."
    assert split_body(text).signature == ""


def test_bare_attribution_above_a_quote_block_is_history() -> None:
    split = split_body("Marc wrote:\n> old point\n\nMy answer.")
    assert split.new == "My answer."
    assert split.quoted == "Marc wrote:\n> old point"


def test_bare_forward_drops_a_wrapped_forwarded_header_block() -> None:
    text = (
        "-------- Forwarded Message --------\nSubject: Leak\nTo: A <a@x.example>, B\n"
        "<b@x.example>\n\nWater in the hall.\n"
    )
    assert split_body(text).new == "Water in the hall."
