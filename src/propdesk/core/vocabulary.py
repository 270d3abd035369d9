"""Classification vocabulary: the rules tables that say which words mean what.

CONTRACT (the rules loader in ``propdesk.core.rules`` calls it):

- ``VOCABULARY_TABLES``: the top-level table names of ``rules/vocabulary.toml`` this module owns.
- ``parse_vocabulary(tables, source_of)``: validate those tables (after the ops override replaced
  whole tables) and build an immutable ``Vocabulary``; ``source_of(table)`` names the file a table
  came from, for ``RulesError`` messages ("<file>: [table] entry: what is wrong").

Every phrase of every table is compiled into one ``PhraseIndex``; a phrase text can play several
*roles* (evidence for a topic, part of an urgency rule, a contractor cue, a cue such as "thanks").
Overlapping matches are resolved longest-first, so a longer phrase ("water bill", "smoke
detector", "in hot water") hides the shorter ones inside it; a phrase listed only under
``cues.neutral`` therefore masks words without adding any evidence.

The types it builds live in ``propdesk.core.vocabulary_model`` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from propdesk.core.decisions import DECISION_TABLES, parse_decisions
from propdesk.core.textmatch import Phrase, PhraseIndex, compile_phrase
from propdesk.core.vocabulary_model import (
    CATEGORIES,
    CUE_KINDS,
    SUBCATEGORIES,
    URGENCY_LEVELS,
    ContextRule,
    LocationWords,
    Role,
    Topic,
    UrgencyRule,
    Vocabulary,
)
from propdesk.errors import RulesError

__all__ = [
    "CATEGORIES",
    "CUE_KINDS",
    "SUBCATEGORIES",
    "URGENCY_LEVELS",
    "VOCABULARY_TABLES",
    "ContextRule",
    "LocationWords",
    "Role",
    "Topic",
    "UrgencyRule",
    "Vocabulary",
    "parse_vocabulary",
]

VOCABULARY_TABLES: frozenset[str] = (
    frozenset(
        {"topics", "urgency", "urgency_rules", "context", "cues", "contractor", "spelling"}
        | {"location", "safety", "building_systems"}
    )
    | DECISION_TABLES
)


class _Builder:
    def __init__(self, source_of: Callable[[str], str]) -> None:
        self.source_of = source_of
        self.roles: dict[str, list[Role]] = {}
        self.phrases: dict[str, Phrase] = {}

    def fail(self, table: str, entry: str, problem: str) -> RulesError:
        return RulesError(f"{self.source_of(table)}: [{table}] {entry}: {problem}")

    def add(self, table: str, entry: str, text: Any, role: Role) -> str:
        if not isinstance(text, str):
            raise self.fail(table, entry, f"phrase must be a string, got {text!r}")
        key = " ".join(text.split())
        if key not in self.phrases:
            try:
                self.phrases[key] = compile_phrase(key)
            except ValueError as exc:
                raise self.fail(table, entry, f"phrase {text!r}: {exc}") from None
        existing = self.roles.setdefault(key, [])
        if any(r.kind == role.kind and r.name == role.name for r in existing):
            raise self.fail(table, entry, f"duplicate phrase {text!r}")
        existing.append(role)
        return key


def _table(tables: Mapping[str, Any], name: str, b: _Builder) -> Mapping[str, Any]:
    value = tables.get(name, {})
    if not isinstance(value, Mapping):
        raise b.fail(name, "(table)", "must be a table")
    return value


def _str_list(value: Any, b: _Builder, table: str, entry: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise b.fail(table, entry, "must be a list of strings")
    return list(value)


def _weight(value: Any, b: _Builder, table: str, entry: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise b.fail(table, entry, f"weight must be a positive number, got {value!r}")
    return float(value)


def _urgency(value: Any, b: _Builder, table: str, entry: str) -> str:
    level = str(value)
    if level not in URGENCY_LEVELS:
        raise b.fail(table, entry, f"urgency must be 1, 2 or 3, got {value!r}")
    return level


def _parse_topics(tables: Mapping[str, Any], b: _Builder) -> dict[str, Topic]:
    topics: dict[str, Topic] = {}
    for key, spec in _table(tables, "topics", b).items():
        entry = str(key)
        if not isinstance(spec, Mapping):
            raise b.fail("topics", entry, "must be a table")
        unknown = set(spec) - {
            "category",
            "subcategory",
            "objects",
            "problems",
            "attach",
            "absorbs",
            "urgency",
            "contractor",
            "description",
        }
        if unknown:
            raise b.fail("topics", entry, f"unknown key(s) {sorted(unknown)}")
        category = spec.get("category")
        if category not in CATEGORIES:
            raise b.fail("topics", entry, f"category must be one of {sorted(CATEGORIES)}")
        sub = spec.get("subcategory")
        allowed = SUBCATEGORIES.get(category, frozenset())
        if (sub is None) != (not allowed) or (sub is not None and sub not in allowed):
            raise b.fail("topics", entry, f"subcategory {sub!r} is not valid for {category}")
        objects = spec.get("objects", {})
        problems = spec.get("problems", {})
        if not isinstance(objects, Mapping) or not isinstance(problems, Mapping):
            raise b.fail("topics", entry, "objects and problems must be tables phrase = weight")
        if not objects and not problems:
            raise b.fail("topics", entry, "needs at least one phrase")
        for text, w in objects.items():
            b.add("topics", entry, text, Role("topic", entry, _weight(w, b, "topics", entry)))
        for text, w in problems.items():
            weight = _weight(w, b, "topics", entry)
            b.add("topics", entry, text, Role("problem", entry, weight))
        level = spec.get("urgency")
        topics[entry] = Topic(
            key=entry,
            category=category,
            subcategory=sub,
            attach=bool(spec.get("attach", False)),
            urgency=None if level is None else _urgency(level, b, "topics", entry),
            problem_free=not problems,
            contractor=bool(spec.get("contractor", False)),
            absorbs=bool(spec.get("absorbs", False)),
        )
    if not topics:
        raise b.fail("topics", "(table)", "no topics defined")
    return topics


def _groups(spec: Mapping[str, Any], b: _Builder, table: str, entry: str) -> list[list[str]]:
    if "any" in spec:
        return [_str_list(spec["any"], b, table, entry)]
    groups = spec.get("all")
    if not isinstance(groups, list) or not groups:
        raise b.fail(table, entry, "needs 'any' (phrases) or 'all' (list of phrase lists)")
    return [_str_list(g, b, table, entry) for g in groups]


def _parse_urgency_rules(tables: Mapping[str, Any], b: _Builder) -> tuple[UrgencyRule, ...]:
    raw = tables.get("urgency_rules", [])
    if not isinstance(raw, list):
        raise b.fail("urgency_rules", "(table)", "must be an array of tables [[urgency_rules]]")
    rules: list[UrgencyRule] = []
    names: set[str] = set()
    for i, spec in enumerate(raw):
        if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
            raise b.fail("urgency_rules", f"#{i + 1}", "needs a name")
        name = spec["name"]
        if name in names:
            raise b.fail("urgency_rules", name, "duplicate rule name")
        names.add(name)
        level = _urgency(spec.get("level"), b, "urgency_rules", name)
        groups = _groups(spec, b, "urgency_rules", name)
        keys = tuple(
            tuple(b.add("urgency_rules", name, t, Role("urgency", f"{name}:{g}")) for t in grp)
            for g, grp in enumerate(groups)
        )
        cats = frozenset(_str_list(spec.get("categories", []), b, "urgency_rules", name))
        subs = frozenset(_str_list(spec.get("subcategories", []), b, "urgency_rules", name))
        if cats - CATEGORIES:
            raise b.fail("urgency_rules", name, f"unknown categories {sorted(cats - CATEGORIES)}")
        negated = spec.get("when_negated", False)
        if not isinstance(negated, bool):
            raise b.fail("urgency_rules", name, "when_negated must be true or false")
        rules.append(UrgencyRule(name, level, keys, cats, subs, negated))
    return tuple(rules)


def _parse_safety(
    tables: Mapping[str, Any], b: _Builder, rules: tuple[UrgencyRule, ...]
) -> dict[str, tuple[str, ...]]:
    """``[safety.<key>]``, triage's part: hazard name -> the urgency rules (``situations``) that
    recognise it, each at level "1". The rest of the shape (and names of no rule at all) is
    ``propdesk.core.safety``'s to validate; entries with phrases only raise nothing here."""
    levels = {r.name: r.level for r in rules}
    safety: dict[str, tuple[str, ...]] = {}
    for key, spec in _table(tables, "safety", b).items():
        situations = spec.get("situations", []) if isinstance(spec, Mapping) else []
        if not isinstance(situations, list):
            continue
        listed = [str(n) for n in situations if str(n) in levels]
        low = [n for n in listed if levels[n] != "1"]
        if low:
            raise b.fail("safety", f"{key}.situations", f"not urgency rules of level 1: {low}")
        if listed:
            safety[str(spec.get("name", key))] = tuple(listed)
    return safety


def _parse_context(
    tables: Mapping[str, Any], b: _Builder, topics: Mapping[str, Topic]
) -> tuple[ContextRule, ...]:
    raw = tables.get("context", [])
    if not isinstance(raw, list):
        raise b.fail("context", "(table)", "must be an array of tables [[context]]")
    rules: list[ContextRule] = []
    for i, spec in enumerate(raw):
        if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
            raise b.fail("context", f"#{i + 1}", "needs a name")
        name = spec["name"]
        topic = spec.get("topic")
        if topic not in topics:
            raise b.fail("context", name, f"unknown topic {topic!r}")
        weight = _weight(spec.get("weight", 3), b, "context", name)
        groups = _groups(spec, b, "context", name)
        keys = tuple(
            tuple(b.add("context", name, t, Role("context", f"{name}:{g}")) for t in grp)
            for g, grp in enumerate(groups)
        )
        level = spec.get("urgency")
        rules.append(
            ContextRule(
                name,
                keys,
                str(topic),
                weight,
                None if level is None else _urgency(level, b, "context", name),
            )
        )
    return tuple(rules)


def _parse_cues(tables: Mapping[str, Any], b: _Builder) -> frozenset[str]:
    cues = _table(tables, "cues", b)
    negation: frozenset[str] = frozenset()
    for kind, phrases in cues.items():
        if kind not in CUE_KINDS:
            raise b.fail("cues", str(kind), f"unknown cue kind (one of {sorted(CUE_KINDS)})")
        items = _str_list(phrases, b, "cues", kind)
        if kind == "negation":
            if len(set(items)) != len(items):
                raise b.fail("cues", kind, "duplicate word")
            negation = frozenset(w.lower() for w in items)
            continue
        for text in items:
            b.add("cues", kind, text, Role("cue", kind))
    return negation


_LOCATION_KEYS = frozenset(
    {
        "unit_keywords",
        "unit_ignore_before",
        "neighbour_before",
        "self_before",
        "building_stopwords",
        "correction_before",
        "unit_ignore_context",
        "rejected_before",
        "at_feelings",
        "person_before",
        "weak_neighbour_before",
        "device_before_unit",
        "surface_before_floor",
    }
)


def _parse_location(tables: Mapping[str, Any], b: _Builder) -> LocationWords:
    loc = _table(tables, "location", b)
    for key in loc:
        if key not in _LOCATION_KEYS:
            known = ", ".join(sorted(_LOCATION_KEYS))
            raise b.fail("location", str(key), f"unknown key (known: {known})")

    def words(key: str) -> list[str]:
        return [w.lower() for w in _str_list(loc.get(key, []), b, "location", key)]

    return LocationWords(
        unit_keywords=tuple(words("unit_keywords")),
        unit_ignore_before=frozenset(words("unit_ignore_before")),
        neighbour_before=tuple(words("neighbour_before")),
        self_before=tuple(words("self_before")),
        building_stopwords=frozenset(words("building_stopwords")),
        correction_before=tuple(words("correction_before")),
        ignore_context=tuple(words("unit_ignore_context")),
        rejected_before=tuple(words("rejected_before")),
        at_feelings=tuple(words("at_feelings")),
        person_before=tuple(words("person_before")),
        weak_neighbour_before=tuple(words("weak_neighbour_before")),
        device_before_unit=frozenset(words("device_before_unit")),
        surface_before_floor=frozenset(words("surface_before_floor")),
    )


def parse_vocabulary(tables: Mapping[str, Any], source_of: Callable[[str], str]) -> Vocabulary:
    """Validate and compile the vocabulary tables; RulesError names file, table and entry."""
    b = _Builder(source_of)
    topics = _parse_topics(tables, b)
    urgency = _table(tables, "urgency", b)
    base_raw = urgency.get("base", {})
    if not isinstance(base_raw, Mapping):
        raise b.fail("urgency", "base", "must be a table category = level")
    base: dict[str, str] = {}
    for key, level in base_raw.items():
        cat = str(key) if key in CATEGORIES else str(key).rsplit("/", 1)[0]
        if cat not in CATEGORIES:
            raise b.fail("urgency", f"base.{key}", "unknown category")
        base[str(key)] = _urgency(level, b, "urgency", f"base.{key}")
    rules = _parse_urgency_rules(tables, b)
    context = _parse_context(tables, b, topics)
    negation = _parse_cues(tables, b)
    contractor = _table(tables, "contractor", b)
    for text in _str_list(contractor.get("phrases", []), b, "contractor", "phrases"):
        b.add("contractor", "phrases", text, Role("contractor", "contractor"))
    spelling_raw = _table(tables, "spelling", b)
    spelling: dict[str, str] = {}
    for typo, word in spelling_raw.items():
        if not isinstance(word, str) or not word or " " in str(typo):
            raise b.fail("spelling", str(typo), "must map one word to one word")
        spelling[str(typo).lower()] = word.lower()
    location = _parse_location(tables, b)
    safety = _parse_safety(tables, b, rules)
    decisions = parse_decisions(
        tables,
        source_of,
        categories=CATEGORIES,
        subcategories=frozenset().union(*SUBCATEGORIES.values()),
        cue_kinds=CUE_KINDS,
        topics=topics,
    )
    return Vocabulary(
        decisions=decisions,
        tables=MappingProxyType(dict(tables)),
        topics=MappingProxyType(topics),
        roles=MappingProxyType({k: tuple(v) for k, v in b.roles.items()}),
        index=PhraseIndex(b.phrases.values()),
        urgency_base=MappingProxyType(base),
        urgency_rules=rules,
        context_rules=context,
        negation=negation,
        negated_rules=frozenset(r.name for r in rules if r.when_negated),
        spelling=MappingProxyType(spelling),
        location=location,
        safety=MappingProxyType(safety),
    )
