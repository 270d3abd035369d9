"""The numbers, sets and word lists the classification core decides by, as validated data.

Why: thresholds ("a topic this strong opens a matter"), category sets ("these categories are
questions") and the word lists behind the splitter's regexes ("separately", "when", "it") are
decisions, so they live in ``rules/vocabulary.toml`` (tables ``[thresholds]``, ``[sets]``,
``[words]``, ``[things]`` and ``[notes]``) where ops can override them, not in the code. Each
regex that matches one of these lists is compiled here from the list, so an override reaches it.

Every key of each table is required (an override replaces a whole table); errors read
"<file>: [table] entry: what is wrong", like every other rules error.

What stays in code is the grammar of text, not decisions: the shape of a unit id, a date, a
phone number, an address or a sentence end, and where a sentence may be cut in two.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import MISSING, dataclass, fields
from types import MappingProxyType
from typing import Any

from propdesk.core.policy import TableCheck
from propdesk.errors import RulesError

DECISION_TABLES: frozenset[str] = frozenset({"thresholds", "sets", "words", "things", "notes"})

#: Kinds of per-email notes (``[notes]``): sentences for the whole email, never a ticket.
NOTE_KINDS: tuple[str, ...] = ("access", "pets", "phone", "availability")

_SETS = frozenset({"question_categories", "powered_subcategories", "closing_cues"})
_WORDS = frozenset(
    {
        "announced",
        "subordinate",
        "pronouns",
        "back_reference_openers",
        "back_reference_pronouns",
        "conjoined_pronouns",
        "causes",
        "negation_resets",
        "place_prepositions",
        "fears",
        "action_verbs",
        "verbal_negators",
        "determiners",
        "locative",
        "reply_prefixes",
        "hypothetical",
        "not_hypothetical_after",
        "ordinals",
        "planned",
    }
)
_THINGS = frozenset({"same", "parts", "whole_parts", "feeds", "outage_supplies"})


@dataclass(frozen=True)
class Thresholds:
    """Scores (sums of phrase weights), weights and sizes the splitter and classifier compare."""

    min_open: float  # a single weak word ("neighbors", "came off") never opens a matter
    strong_topic: float  # evidence this strong names a matter clearly
    weak_split: float  # unannounced, another kind of matter needs more than one weak phrase
    continuity: float  # a clause about the current matter nearly as much as another continues
    question_split_min: float  # a follow-up question needs this much to be its own matter
    follow_up_question: float  # a question in the same paragraph up to this stays with it
    clear_thing: float  # an object phrase this heavy clearly names one thing ("dryer")
    named_thing: float  # ... and this heavy names a thing ("window", "bedroom door")
    disputed_charge: float  # a payment topic this strong is a dispute without a question
    subject_only: float  # a subject alone opens a matter with this much evidence
    opening_weight: float  # the opening clause says what the matter is
    symptom_weight: float  # later symptom topics (mold, water damage) count this much
    subject_weight: float  # a subject that reinforces an item adds this share of its scores
    min_piece: float  # half a sentence with less than this is no clause of its own
    clear_object: float  # a phrase this heavy clearly names a thing ("shower drain")
    locative_weight: float  # "behind the fridge": a place counts this much of its weight
    subject_kind_min: float  # a subject topic this strong names a kind of matter
    negation_window: int  # a negation word reaches this many words ahead
    cold_inside_f: int  # an indoor reading at or below this (F) is "cold inside"
    hot_inside_f: int  # ... at or above this is "hot inside"
    summary_max: int  # characters of a ticket's short description
    # Bounds on the work one email costs. Optional, so an override written before them loads.
    max_sentence_words: int = 120  # a longer run without a full stop is read in chunks this long
    max_analysed_chars: int = 20_000  # new text past this is kept with the mail, not analysed


_THRESHOLD_FIELDS = fields(Thresholds)
_OPTIONAL_THRESHOLDS = frozenset(f.name for f in _THRESHOLD_FIELDS if f.default is not MISSING)


@dataclass(frozen=True)
class Decisions:
    """``[thresholds]``, ``[sets]``, ``[words]`` and ``[things]``, validated and compiled."""

    thresholds: Thresholds
    question_categories: frozenset[str]  # matters that are questions or requests by nature
    powered_subcategories: frozenset[str]  # kinds of things that stop in a power outage
    closing_cues: frozenset[str]  # cue kinds that close a matter (thanks, "never mind")
    announced_re: re.Pattern[str]  # "Separately, ...": the tenant announces another matter
    subordinate_re: re.Pattern[str]  # "When I plugged in my dryer, ...": context, no matter
    pronoun_re: re.Pattern[str]  # a pronoun refers back to a thing already named
    back_reference_re: re.Pattern[str]  # "It also makes a sound": the same thing again
    conjoined_pronoun_re: re.Pattern[str]  # a half-sentence about "it" names no new thing
    reply_prefix_re: re.Pattern[str]  # "Re: Fwd: ..." before a subject
    hypothetical_re: re.Pattern[str]  # "I'd patch the holes when I move out": nothing happened
    ordinal_start_re: re.Pattern[str]  # "First, ..." / "Second: ..." opens an enumerated matter
    planned_re: re.Pattern[str]  # "Will the outage tomorrow ...?": a planned shutoff asked about
    causes: frozenset[str]  # "since the leak": events whose consequences follow them
    negation_resets: frozenset[str]  # "but", "so": a negation does not reach past these
    place_prepositions: frozenset[str]  # "no water in the building": the place is not denied
    fears: frozenset[str]  # "scared of tripping the breaker": feared, not happened
    action_verbs: frozenset[str]  # "I don't have a pet": a denied action names no matter
    verbal_negators: frozenset[str]  # the negations that deny an action
    determiners: frozenset[str]  # "the", "my": skipped when looking for a locative
    locative: frozenset[str]  # "behind", "under": the phrase after names a place
    same_thing: Mapping[str, str]  # synonyms folded into one thing ("fridge" -> refrigerator)
    parts: frozenset[str]  # parts of an appliance ("door", "shelf")
    whole_parts: Mapping[str, frozenset[str]]  # a whole and its parts ("door": handle, latch)
    feeds: Mapping[str, str]  # topic -> the subcategory at whose every fixture it shows
    outage_supplies: Mapping[str, frozenset[str]]  # subcategory -> what its outage takes away
    # kind -> its cue phrases as one regex ("the key is under", "i have a dog"): ``[notes]``
    note_res: Mapping[str, re.Pattern[str]]


def _number(where: TableCheck, value: Any, entry: str, fraction: bool) -> float | int:
    allowed = isinstance(value, int | float) if fraction else isinstance(value, int)
    if isinstance(value, bool) or not allowed or value <= 0:
        kind = "a positive number" if fraction else "a positive whole number"
        raise where.error(entry, f"expected {kind}, got {value!r}")
    return float(value) if fraction else int(value)


def alternation(phrases: Collection[str]) -> str:
    """The phrases as one regex alternation, each matched literally (in their order)."""
    return "|".join(re.escape(p) for p in phrases)


def words_re(phrases: Collection[str], template: str) -> re.Pattern[str]:
    """``template`` with ``{}`` replaced by the phrases as one case-insensitive alternation."""
    return re.compile(template.replace("{}", alternation(phrases)), re.IGNORECASE)


def _members(where: TableCheck, value: Any, entry: str, allowed: Collection[str]) -> frozenset[str]:
    found = where.keywords(value, entry)
    by_lower = {a.lower(): a for a in allowed}
    for i, item in enumerate(found):
        if item not in by_lower:
            known = ", ".join(sorted(allowed))
            raise where.error(f"{entry}[{i}]", f"unknown {value[i]!r} (known: {known})")
    return frozenset(by_lower[item] for item in found)


def _word_map(where: TableCheck, value: Any, entry: str) -> dict[str, tuple[str, ...]]:
    data = where.table_of(value, entry)
    return {key.lower(): where.keywords(words, f"{entry}.{key}") for key, words in data.items()}


def _thresholds(where: TableCheck, data: dict[str, Any]) -> Thresholds:
    # the field's type says whether a fraction is allowed ("float") or a whole number ("int")
    values: dict[str, Any] = {
        f.name: _number(where, data[f.name], f.name, f.type == "float")
        for f in _THRESHOLD_FIELDS
        if f.name in data
    }
    if values["continuity"] > 1:
        raise where.error("continuity", f"expected a fraction up to 1, got {data['continuity']!r}")
    return Thresholds(**values)


def parse_decisions(
    tables: Mapping[str, Any],
    source_of: Callable[[str], str],
    *,
    categories: Collection[str],
    subcategories: Collection[str],
    cue_kinds: Collection[str],
    topics: Collection[str],
) -> Decisions:
    """Validate the decision tables; the vocabulary passes what their entries may name."""

    def where(
        table: str, keys: Collection[str], optional: Collection[str] = ()
    ) -> tuple[TableCheck, dict[str, Any]]:
        if table not in tables:
            raise RulesError(f"{source_of(table)}: [{table}]: missing table")
        w = TableCheck(source_of(table), table)
        data = w.table_of(tables[table], "")
        w.keys(data, "", set(keys), set(keys) - set(optional))
        return w, data

    names = {f.name for f in _THRESHOLD_FIELDS}
    thresholds = _thresholds(*where("thresholds", names, _OPTIONAL_THRESHOLDS))
    ws, sets = where("sets", _SETS)
    ww, words = where("words", _WORDS)
    listed = {key: ww.keywords(words[key], key) for key in _WORDS}
    wt, things = where("things", _THINGS)
    same = wt.table_of(things["same"], "same")
    feeds = wt.table_of(things["feeds"], "feeds")
    for topic, sub in feeds.items():
        if topic not in topics:
            raise wt.error(f"feeds.{topic}", "unknown topic (see [topics])")
        if not isinstance(sub, str) or sub.lower() not in subcategories:
            raise wt.error(f"feeds.{topic}", f"unknown subcategory {sub!r}")
    supplies = _word_map(wt, things["outage_supplies"], "outage_supplies")
    for sub in supplies:
        if sub not in subcategories:
            raise wt.error(f"outage_supplies.{sub}", "unknown subcategory")
    wn, notes = where("notes", NOTE_KINDS)
    note_res = {
        kind: words_re(wn.keywords(notes[kind], kind), r"(?<![\w'])(?:{})(?![\w'])")
        for kind in NOTE_KINDS
    }
    back_openers = alternation(listed["back_reference_openers"])
    not_hypothetical = alternation(listed["not_hypothetical_after"])
    return Decisions(
        thresholds=thresholds,
        question_categories=_members(
            ws, sets["question_categories"], "question_categories", categories
        ),
        powered_subcategories=_members(
            ws, sets["powered_subcategories"], "powered_subcategories", subcategories
        ),
        closing_cues=_members(ws, sets["closing_cues"], "closing_cues", cue_kinds),
        announced_re=words_re(listed["announced"], r"\b(?:{})\b"),
        subordinate_re=words_re(listed["subordinate"], r"^\W*(?:{})\b"),
        pronoun_re=words_re(listed["pronouns"], r"\b(?:{})\b"),
        back_reference_re=words_re(
            listed["back_reference_pronouns"],
            r"^\W*(?:(?:" + back_openers + r")\s+)?(?:{})\b",
        ),
        conjoined_pronoun_re=words_re(listed["conjoined_pronouns"], r"\b(?:{})\b"),
        reply_prefix_re=words_re(
            listed["reply_prefixes"], r"^\s*(?:(?:{})\s*(?:\[\d+\])?\s*:\s*)+"
        ),
        hypothetical_re=words_re(
            listed["hypothetical"], r"^\W*(?:{})\b(?!\s+(?:" + not_hypothetical + r"))"
        ),
        ordinal_start_re=words_re(listed["ordinals"], r"^\W*(?:{})\s*[,:\-\u2013]"),
        planned_re=words_re(listed["planned"], r"\b(?:{})\b"),
        causes=frozenset(listed["causes"]),
        negation_resets=frozenset(listed["negation_resets"]),
        place_prepositions=frozenset(listed["place_prepositions"]),
        fears=frozenset(listed["fears"]),
        action_verbs=frozenset(listed["action_verbs"]),
        verbal_negators=frozenset(listed["verbal_negators"]),
        determiners=frozenset(listed["determiners"]),
        locative=frozenset(listed["locative"]),
        same_thing=MappingProxyType(
            {k.lower(): wt.text(v, f"same.{k}").lower() for k, v in same.items()}
        ),
        parts=frozenset(wt.keywords(things["parts"], "parts")),
        whole_parts=MappingProxyType(
            {
                k: frozenset(v)
                for k, v in _word_map(wt, things["whole_parts"], "whole_parts").items()
            }
        ),
        feeds=MappingProxyType({str(k): str(v).lower() for k, v in feeds.items()}),
        outage_supplies=MappingProxyType({k: frozenset(v) for k, v in supplies.items()}),
        note_res=MappingProxyType(note_res),
    )
