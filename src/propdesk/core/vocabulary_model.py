"""What a compiled vocabulary is made of: categories, cue kinds, topics, rules, location words.

The types every classification module reads; ``propdesk.core.vocabulary`` builds them from the
rules files (and re-exports them, so ``from propdesk.core.vocabulary import Topic`` still works).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from propdesk.core.decisions import Decisions
from propdesk.core.textmatch import PhraseIndex

CATEGORIES: frozenset[str] = frozenset(
    {"Maintenance", "Utilities", "Lease", "Move-in/out", "Complaint", "Payment", "Amenity"}
)
SUBCATEGORIES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "Maintenance": frozenset(
            {"plumbing", "electrical", "hvac", "appliance", "cleaning", "general_repair"}
        ),
        "Complaint": frozenset({"noise_complaint", "neighbor_dispute", "parking", "security"}),
    }
)
URGENCY_LEVELS: frozenset[str] = frozenset({"1", "2", "3"})

# cue kinds understood by the classifier (see rules/vocabulary.toml [cues])
CUE_KINDS: frozenset[str] = frozenset(
    {
        "negation",  # single words that negate the phrase right after them ("no fire")
        "problem",  # something is wrong: "not working", "broken"
        "absence",  # something is missing: "there's no" (opens a repair, never raises urgency)
        "request",  # the sender asks for something: "can someone", "please fix"
        "separator",  # a new, separate matter starts: "also", "second", "unrelated"
        "merge",  # the same matter continues: "because of it", "same problem"
        "resolved",  # the matter is over: "never mind", "working again"
        "gratitude",  # "thank you for ..."
        "confirmation",  # scheduling confirmations: "tomorrow at 10 is fine"
        "info",  # statements that need no action: "rent's sent"
        "still",  # follow-ups: "still not fixed", "is back"
        "neutral",  # phrases that only mask shorter ones: "in hot water", "flooded with work"
    }
)


@dataclass(frozen=True, slots=True)
class Role:
    """What a phrase means when it matches: ``kind`` is topic/problem/urgency/contractor/cue."""

    kind: str
    name: str
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Topic:
    """A fine-grained matter (e.g. a clogged drain) that maps to a category and subcategory."""

    key: str
    category: str
    subcategory: str | None
    attach: bool  # a symptom (mold, water damage) that joins the neighbouring matter
    urgency: str | None  # base urgency of this matter when nothing more specific fires
    problem_free: bool  # a request/question topic: its phrases do not mean "something broke"
    contractor: bool  # this matter plainly needs a licensed outside trade
    # an outage: devices that stop with it (elevator, lights, fridge) are its symptoms
    absorbs: bool = False


@dataclass(frozen=True, slots=True)
class UrgencyRule:
    """Fires when every group has a (non-negated) match in one sentence."""

    name: str
    level: str
    groups: tuple[tuple[str, ...], ...]  # phrase texts per group (role name = rule:index)
    categories: frozenset[str]
    subcategories: frozenset[str]
    when_negated: bool = False  # fires on an absence: "we don't have hot water", "nobody has heat"


@dataclass(frozen=True, slots=True)
class ContextRule:
    """Co-occurrence in one sentence adds weight to a topic ("power out" + "whole building")."""

    name: str
    groups: tuple[tuple[str, ...], ...]
    topic: str
    weight: float
    urgency: str | None


@dataclass(frozen=True, slots=True)
class LocationWords:
    """Word lists the location extractor needs (regexes stay in code; words are data)."""

    unit_keywords: tuple[str, ...]
    unit_ignore_before: frozenset[str]
    neighbour_before: tuple[str, ...]
    self_before: tuple[str, ...]
    building_stopwords: frozenset[str]
    correction_before: tuple[str, ...] = ()
    ignore_context: tuple[str, ...] = ()
    rejected_before: tuple[str, ...] = ()
    at_feelings: tuple[str, ...] = ()  # "I'm so mad at 5C": at a unit, not in it
    person_before: tuple[str, ...] = ()  # "the guy in 5D": a person there, not the sender
    weak_neighbour_before: tuple[str, ...] = ()  # "outside 9C": the sender's door, if locked out
    device_before_unit: frozenset[str] = frozenset()  # "AC unit 2": a device, no unit id
    surface_before_floor: frozenset[str] = frozenset()  # "kitchen floor 2 tiles": no floor number


@dataclass(frozen=True)
class Vocabulary:
    """Validated, compiled vocabulary tables."""

    decisions: Decisions  # thresholds, sets and word lists (``propdesk.core.decisions``)
    tables: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    topics: Mapping[str, Topic] = field(default_factory=lambda: MappingProxyType({}))
    roles: Mapping[str, tuple[Role, ...]] = field(default_factory=lambda: MappingProxyType({}))
    index: PhraseIndex = field(default_factory=lambda: PhraseIndex(()))
    urgency_base: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    urgency_rules: tuple[UrgencyRule, ...] = ()
    context_rules: tuple[ContextRule, ...] = ()
    negation: frozenset[str] = frozenset()
    negated_rules: frozenset[str] = frozenset()  # urgency rules that fire on an absence
    spelling: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    location: LocationWords = field(
        default_factory=lambda: LocationWords((), frozenset(), (), (), frozenset())
    )
    # the safety list: hazard -> urgency rules that recognise it (they only ever raise to "1")
    safety: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
