"""Per-email notes: sentences about access, pets, phone and availability.

Why apart from the action items: "the key is under the mat" or "I have a dog" is true for every
matter the email raises, so it goes on every ticket of the email (``Ticket.notes``) and must
never become a matter of its own (a pet note once opened a Lease ticket). The cue phrases are
data (``[notes]`` in ``rules/vocabulary.toml``); what stays here is the grammar: a question is
no note ("Can I have a dog?" asks about the pet policy), nor is a sentence that names a problem
("the gate code isn't working", "it's dark coming home in the evenings": a matter, whose words
only look like a note), and the shape of a phone number.
"""

from __future__ import annotations

import re

from propdesk.core.clauses import clauses
from propdesk.core.evidence import Clause
from propdesk.core.models import TicketNote
from propdesk.core.sentences import split_sentences
from propdesk.core.textmatch import normalise
from propdesk.core.vocabulary import Vocabulary

#: A phone number: 7+ digits, optionally with +, spaces, dots, dashes and brackets between.
PHONE_RE = re.compile(r"(?<![\w+])(\+?\(?\d[\d ().\-]{5,}\d)(?![\w])")
_MIN_DIGITS = 7
_NOTE_MAX = 300


def note_kind(text: str, vocab: Vocabulary) -> str | None:
    """The first note kind whose cue phrase ``text`` contains (questions are no notes)."""
    norm = normalise(text).strip()
    if not norm or norm.endswith("?"):
        return None
    for kind, pattern in vocab.decisions.note_res.items():
        if pattern.search(norm):
            return kind
    return None


def email_notes(new_text: str, vocab: Vocabulary) -> tuple[TicketNote, ...]:
    """Every note sentence of what the tenant wrote now, in order, each once."""
    found: dict[str, TicketNote] = {}
    for sentence in split_sentences(new_text):
        kind = note_kind(sentence.text, vocab)
        if kind is None or any(_names_problem(c) for c in clauses(sentence.text, vocab)):
            continue
        text = " ".join(sentence.text.split())[:_NOTE_MAX]
        found.setdefault(text.lower(), TicketNote(kind, text))
    return tuple(found.values())


def _names_problem(clause: Clause) -> bool:
    return clause.problem or bool(clause.urgency_rules)


def is_note_clause(clause: Clause, vocab: Vocabulary) -> bool:
    """A clause that only carries a note: a cue, no problem and no emergency. It opens no
    matter and joins none; one that names a problem is a matter's, not a note."""
    if clause.from_subject or clause.question or _names_problem(clause):
        return False
    return note_kind(clause.text, vocab) is not None


def phone_in(text: str) -> str | None:
    """The first phone-number-shaped run of ``text`` (7 or more digits), cleaned of spaces."""
    for match in PHONE_RE.finditer(text):
        value = match.group(1).strip(" .-")
        if sum(ch.isdigit() for ch in value) >= _MIN_DIGITS:
            return " ".join(value.split())
    return None


def redact_phones(text: str, mark: str = "[phone removed]") -> str:
    """``text`` with every phone-number-shaped run (as ``phone_in`` finds them) replaced."""

    def sub(match: re.Match[str]) -> str:
        value = match.group(1)
        return mark if sum(ch.isdigit() for ch in value) >= _MIN_DIGITS else value

    return PHONE_RE.sub(sub, text)


def tenant_phone(notes: tuple[TicketNote, ...], signature: str) -> str | None:
    """The tenant's phone from a phone note, else from the signature block."""
    for note in notes:
        if note.kind == "phone":
            found = phone_in(note.text)
            if found:
                return found
    return phone_in(signature)
