"""The phrase matcher and the vocabulary contract (parse_vocabulary -> RulesError messages)."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

import pytest

from propdesk.core.rules import rules_from_text
from propdesk.core.textmatch import PhraseIndex, compile_phrase, longest_matches, tokenize
from propdesk.core.vocabulary import VOCABULARY_TABLES, parse_vocabulary
from propdesk.errors import RulesError


def _find(phrase: str, text: str) -> list[str]:
    tokens = tokenize(text)
    index = PhraseIndex([compile_phrase(phrase)])
    return [" ".join(t.text for t in tokens[m.first : m.last + 1]) for m in index.find_all(tokens)]


@pytest.mark.parametrize(
    ("phrase", "text", "found"),
    [
        ("light", "I turned it lightly", []),
        ("unit", "the community room", []),
        ("leak~", "it leaked, now leaking, leaks", ["leaked", "leaking", "leaks"]),
        ("clog~", "the sink is clogged", ["clogged"]),
        ("drip~", "dripping water", ["dripping"]),
        ("smoke~", "it was smoking", ["smoking"]),
        ("toilet|toilets", "two toilets", ["toilets"]),
        (
            "water ... ceiling",
            "water dripping from the ceiling",
            ["water dripping from the ceiling"],
        ),
        ("water ... ceiling", "water in the kitchen and much later on the ceiling", []),
        ("won't lock", "the door won\u2019t lock", ["won't lock"]),
        ("move-out inspection", "the move out inspection", ["move out inspection"]),
        # adjacent words never straddle a clause boundary; a "..." gap may
        ("broken glass", "the window is broken, glass everywhere", []),
        ("broken glass", "there is broken glass in the lobby", ["broken glass"]),
        ("power outage", "no power - outage again", []),
        ("is fixed ... thanks", "it is fixed, thanks", ["is fixed thanks"]),
    ],
)
def test_phrase_matching_is_whole_word(phrase: str, text: str, found: list[str]) -> None:
    assert _find(phrase, text) == found


def test_longest_match_hides_shorter_ones() -> None:
    tokens = tokenize("my water bill is high")
    index = PhraseIndex([compile_phrase("water"), compile_phrase("water bill")])
    kept = longest_matches(index.find_all(tokens))
    assert [m.phrase for m in kept] == ["water bill"]


@pytest.mark.parametrize("bad", ["", "... water", "water ...", "wa$ter", "a||b"])
def test_bad_phrases_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        compile_phrase(bad)


def _default_tables() -> dict[str, Any]:
    text = resources.files("propdesk.rules").joinpath("vocabulary.toml").read_text("utf-8")
    return {k: v for k, v in tomllib.loads(text).items() if k in VOCABULARY_TABLES}


def _error(tables: dict[str, Any]) -> str:
    with pytest.raises(RulesError) as info:
        parse_vocabulary(tables, lambda table: "ops.toml")
    return str(info.value)


def test_default_vocabulary_is_valid() -> None:
    vocab = parse_vocabulary(_default_tables(), lambda table: "vocabulary.toml")
    assert len(vocab.topics) > 30
    assert vocab.urgency_rules


def test_bad_entry_names_file_table_and_entry() -> None:
    tables = _default_tables()
    tables["topics"] = {
        "x": {"category": "Maintenance", "subcategory": "plumbing", "objects": {"sink": -1}}
    }
    assert _error(tables).startswith("ops.toml: [topics] x: weight must be a positive number")


def test_duplicate_phrase_is_an_error() -> None:
    tables = _default_tables()
    tables["cues"] = dict(tables["cues"], gratitude=["thanks", "thanks"])
    assert "ops.toml: [cues] gratitude: duplicate phrase 'thanks'" in _error(tables)


def test_unknown_category_and_subcategory() -> None:
    tables = _default_tables()
    tables["topics"] = {"x": {"category": "Laundry", "objects": {"sock": 1}}}
    assert "[topics] x: category must be one of" in _error(tables)
    tables["topics"] = {
        "x": {"category": "Lease", "subcategory": "plumbing", "objects": {"sock": 1}}
    }
    assert "[topics] x: subcategory 'plumbing' is not valid for Lease" in _error(tables)


def test_unknown_cue_kind_and_bad_urgency() -> None:
    tables = _default_tables()
    tables["cues"] = {"vibes": ["ok"]}
    assert "[cues] vibes: unknown cue kind" in _error(tables)
    tables = _default_tables()
    tables["urgency_rules"] = [{"name": "r", "level": "0", "any": ["fire"]}]
    assert "[urgency_rules] r: urgency must be 1, 2 or 3" in _error(tables)


def test_ops_override_replaces_a_whole_table() -> None:
    override = '[spelling]\nsinc = "sink"\n'
    vocab = rules_from_text(override, "ops.toml").vocabulary
    assert dict(vocab.spelling) == {"sinc": "sink"}
    bad = '[urgency_rules]\nname = "x"\n'
    with pytest.raises(RulesError, match=r"ops.toml: \[urgency_rules\]"):
        rules_from_text(bad, "ops.toml")
