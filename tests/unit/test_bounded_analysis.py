"""Bounded work per email (issue 14): a cap on the analysed text, long sentences read in chunks,
running sums per matter equal to a recount. Outcomes only; the timing is bench work
(``bench/bench_analysis_scaling.py``), never asserted here.
"""

from __future__ import annotations

import json
import secrets
import tomllib
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import pytest

from propdesk.core.action_item import ActionItem
from propdesk.core.classify import classify_text
from propdesk.core.clauses import clauses
from propdesk.core.hours import BusinessHours
from propdesk.core.message import InboundMessage
from propdesk.core.pipeline import MessageAnalysis, analyse_message, bounded
from propdesk.core.rules import Rules, load_rules, rules_from_text
from propdesk.core.sentences import chunks, split_sentences
from propdesk.core.textmatch import PhraseIndex, compile_phrase, tokenize
from propdesk.errors import RulesError
from propdesk.mail.parse import parse_message

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
LEAK = "The kitchen sink is leaking under the cabinet and the floor is wet."


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules()


def _thresholds(**changes: Any) -> str:
    text = resources.files("propdesk.rules").joinpath("vocabulary.toml").read_text("utf-8")
    values = {**tomllib.loads(text)["thresholds"], **changes}
    values = {k: v for k, v in values.items() if v is not None}
    return "[thresholds]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())


def _message(new_text: str, subject: str = "Sink") -> InboundMessage:
    raw = f"From: ana@example.com\nSubject: {subject}\nMessage-ID: <b-1@example.com>\n\n{new_text}"
    msg = parse_message(raw.encode())
    assert msg.new_text.strip() == new_text.strip()
    return msg


def _analyse(msg: InboundMessage, rules: Rules) -> MessageAnalysis:
    return analyse_message(
        msg,
        rules=rules,
        business_hours=BusinessHours(),
        received_at=NOW,
        now=NOW,
        new_id=secrets.token_bytes,
    )


def test_text_over_the_cap_is_cut_between_words_and_the_cut_is_in_matched_rules() -> None:
    rules = rules_from_text(_thresholds(max_analysed_chars=500))
    text = LEAK + " " + "and more words here" * 200
    result = _analyse(_message(text), rules)
    (ticket,) = result.tickets
    assert (
        result.cut == f"intake:analysed first {len(bounded(text, 500))} of {len(text)} characters"
    )
    assert ticket.metadata.matched_rules[-1] == result.cut
    assert ticket.subcategory is not None and ticket.subcategory.value == "plumbing"


def test_a_request_past_the_cap_is_not_analysed() -> None:
    rules = rules_from_text(_thresholds(max_analysed_chars=200))
    filler = "Hello there, I hope you are well today. " * 10
    result = _analyse(_message(filler + LEAK, subject="Hello"), rules)
    assert result.tickets == () and result.ignored_reason == "no_action_items"
    assert result.cut is not None and result.cut.endswith(f"of {len(filler + LEAK)} characters")


def test_normal_mail_has_no_cut(rules: Rules) -> None:
    result = _analyse(_message(LEAK), rules)
    assert result.cut is None
    assert not any(r.startswith("intake:") for r in result.tickets[0].metadata.matched_rules)


def test_bounded_falls_back_to_a_hard_cut_without_spaces() -> None:
    assert bounded("a" * 1000, 300) == "a" * 300
    assert bounded("short", 300) == "short"
    assert bounded("word " * 100, 52) == ("word " * 10).rstrip()


def test_a_long_sentence_is_read_in_chunks_of_max_words() -> None:
    words = " ".join(f"w{i}" for i in range(25))
    assert chunks(words, 10) == [
        " ".join(f"w{i}" for i in range(0, 10)),
        " ".join(f"w{i}" for i in range(10, 20)),
        " ".join(f"w{i}" for i in range(20, 25)),
    ]
    assert chunks("two  words", 10) == ["two  words"]  # shorter: kept as written
    sentences = split_sentences(f"- {words}\n\nNext one.", 10)
    assert [len(s.text.split()) for s in sentences] == [10, 10, 5, 2]
    assert [s.list_start for s in sentences] == [True, False, False, False]
    assert {s.block for s in sentences[:3]} == {0}


def test_chunks_follow_the_threshold(rules: Rules) -> None:
    text = " ".join(["the sink is leaking"] * 100)  # 400 words, no full stop
    limit = rules.vocabulary.decisions.thresholds.max_sentence_words
    assert max(len(c.text.split()) for c in clauses(text, rules.vocabulary)) <= limit
    small = rules_from_text(_thresholds(max_sentence_words=20))
    assert max(len(c.text.split()) for c in clauses(text, small.vocabulary)) <= 20


def test_an_override_without_the_new_thresholds_still_loads() -> None:
    older = rules_from_text(_thresholds(max_sentence_words=None, max_analysed_chars=None))
    assert older.vocabulary.decisions.thresholds.max_analysed_chars == 20_000
    assert older.vocabulary.decisions.thresholds.max_sentence_words == 120
    with pytest.raises(RulesError, match="max_analysed_chars"):
        rules_from_text(_thresholds(max_analysed_chars=0))


def test_running_sums_equal_a_recount_after_appends_and_an_insert(rules: Rules) -> None:
    vocab = rules.vocabulary
    body = clauses(
        "The toilet is running. The bathroom door handle is loose. The oven door won't close. "
        "There is no heat and it's 55 degrees in here. The door also squeaks.",
        vocab,
    )
    grown = ActionItem([body[0]], ["open"])
    for clause in body[1:]:
        grown.scores(vocab)  # counted so far, then one more clause appended
        grown.clauses.append(clause)
    fresh = ActionItem(list(body), ["open"])
    assert grown.scores(vocab) == fresh.scores(vocab)
    assert list(grown.scores(vocab)) == list(fresh.scores(vocab))  # same order: same ties
    grown.clauses.insert(0, body[-1])
    assert grown.scores(vocab) == ActionItem([body[-1], *body], ["open"]).scores(vocab)
    grown.context = [body[2]]
    with_context = ActionItem([body[-1], *body], ["open"], context=[body[2]])
    assert grown.scores(vocab) == with_context.scores(vocab)
    assert grown.running(vocab).things == with_context.running(vocab).things


def test_the_starting_phrases_of_a_word_are_those_find_all_tries() -> None:
    index = PhraseIndex(compile_phrase(p) for p in ("leak~", "leaking pipe", "water ... ceiling"))
    assert [p.text for p in index.starting_with("leaking")] == ["leak~", "leaking pipe"]
    assert index.starting_with("lemon") == ()
    found = index.find_all(tokenize("water came through the ceiling, a leaking pipe"))
    assert {(m.phrase, m.first, m.last) for m in found} == {
        ("leak~", 6, 6),
        ("leaking pipe", 6, 7),
        ("water ... ceiling", 0, 4),
    }


def test_a_huge_one_matter_body_is_one_ticket(rules: Rules) -> None:
    text = "The kitchen sink is leaking.\n" + "It is still leaking onto the floor.\n" * 3000
    items = classify_text("Sink", text, rules.vocabulary)
    assert len(items) == 1  # one matter however long it is told (classify_text has no cap)
