"""The safety list: hazards that get specific advice at once, before any acknowledgement.

Why a list as data: which words mean "gas" or "water near the wiring" is an ops decision, and the
same list serves urgency (triage) and the advice mail here. Each ``[safety.<key>]`` entry of the
rules names the hazard, the level-1 urgency rules (situations) that recognise it, extra phrases
(in the vocabulary's phrase syntax), phrases that mask them ("smoke detector" is no smoke) and
the key of the advice text, which lives in the config (``[safety] advice``, per property).

Pure: tickets in, hazards and planned mail out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from propdesk.core.models import Ticket
from propdesk.core.notifications import ADVICE_KIND, TENANT, Planned, Source
from propdesk.core.textmatch import Phrase, PhraseIndex, compile_phrase, longest_matches, tokenize
from propdesk.errors import RulesError

SAFETY_TABLE = "safety"
#: The building systems incidents group tickets by (same shape, no advice).
SYSTEMS_TABLE = "building_systems"
_DEFAULT_CATEGORIES = ("Maintenance", "Utilities")
_KEYS = frozenset({"name", "situations", "phrases", "unless", "advice", "categories", "replaces"})


@dataclass(frozen=True, slots=True)
class Hazard:
    """One entry of the safety list."""

    key: str
    name: str
    situations: frozenset[str]  # urgency rule names (``urgency:<name>=1`` in matched_rules)
    phrases: tuple[str, ...]
    unless: tuple[str, ...]
    advice: str  # key of the advice text in the config; "" raises urgency only (triage), no mail
    categories: frozenset[str]
    replaces: frozenset[str] = frozenset()  # hazards whose advice this one's makes redundant


@dataclass(frozen=True, slots=True)
class SafetyList:
    """The hazards in rules order, with their phrases compiled into one index."""

    hazards: tuple[Hazard, ...] = ()
    index: PhraseIndex = field(default_factory=lambda: PhraseIndex(()))

    def advice_keys(self) -> frozenset[str]:
        return frozenset(h.advice for h in self.hazards if h.advice)


def parse_safety(
    table: Any,
    source_of: Callable[[str], str],
    urgency_rules: frozenset[str],
    *,
    name: str = SAFETY_TABLE,
) -> SafetyList:
    """Validate ``[safety]`` (or another list of this shape, e.g. ``[building_systems]``, whose
    entries need no advice key); ``RulesError`` names file, table and entry."""

    def fail(entry: str, problem: str) -> RulesError:
        return RulesError(f"{source_of(name)}: [{name}] {entry}: {problem}")

    if table is None:
        return SafetyList()
    if not isinstance(table, Mapping):
        raise fail("(table)", "must be a table of hazards")
    hazards: list[Hazard] = []
    phrases: dict[str, Phrase] = {}
    for key, spec in table.items():
        hazards.append(
            _hazard(str(key), spec, fail, urgency_rules, phrases, advice=name == SAFETY_TABLE)
        )
    return SafetyList(tuple(hazards), PhraseIndex(phrases.values()))


def _hazard(
    entry: str,
    spec: Any,
    fail: Callable[[str, str], RulesError],
    urgency_rules: frozenset[str],
    phrases: dict[str, Phrase],
    *,
    advice: bool,
) -> Hazard:
    """One ``[safety.<entry>]``, its phrases compiled into ``phrases``."""
    if not isinstance(spec, Mapping):
        raise fail(entry, "must be a table (name, situations, phrases, unless, advice)")
    unknown = set(spec) - _KEYS
    if unknown:
        raise fail(entry, f"unknown key(s) {sorted(unknown)}")
    lists: dict[str, tuple[str, ...]] = {}
    for name in ("situations", "phrases", "unless", "categories", "replaces"):
        value = spec.get(name, list(_DEFAULT_CATEGORIES) if name == "categories" else [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(f"{entry}.{name}", "must be a list of strings")
        lists[name] = tuple(" ".join(v.split()) for v in value)
    missing = sorted(set(lists["situations"]) - urgency_rules)
    if missing:
        raise fail(f"{entry}.situations", f"not urgency rules: {missing}")
    if not lists["situations"] and not lists["phrases"]:
        raise fail(entry, "needs situations or phrases")
    for text in (*lists["phrases"], *lists["unless"]):
        try:
            phrases.setdefault(text, compile_phrase(text))
        except ValueError as exc:
            raise fail(entry, f"phrase {text!r}: {exc}") from None
    title, key = spec.get("name"), spec.get("advice", "")
    if not isinstance(title, str) or not title.strip():
        raise fail(f"{entry}.name", "must be a non-empty string")
    if not isinstance(key, str) or (key and not key.isidentifier()):
        raise fail(f"{entry}.advice", "must name an advice text (letters, digits, _)")
    if key and not advice:
        raise fail(f"{entry}.advice", "this list sends no advice")
    return Hazard(
        entry,
        title.strip(),
        frozenset(lists["situations"]),
        lists["phrases"],
        lists["unless"],
        str(key),
        frozenset(lists["categories"]),
        frozenset(lists["replaces"]),
    )


def hazards_of(ticket: Ticket, safety: SafetyList) -> list[Hazard]:
    """The hazards this ticket reports: a situation rule fired, or a phrase survived its masks."""
    fired = {
        r.removeprefix("urgency:").rsplit("=", 1)[0]
        for r in ticket.metadata.matched_rules
        if r.startswith("urgency:")
    }
    tokens = tokenize(f"{ticket.short_description}\n{ticket.description}")
    found = {m.phrase for m in longest_matches(safety.index.find_all(tokens))}
    out: list[Hazard] = []
    for h in safety.hazards:
        if ticket.category.value not in h.categories:
            continue
        if h.situations & fired or any(p in found for p in h.phrases):
            out.append(h)
    replaced = {k for h in out for k in h.replaces}
    return [h for h in out if h.key not in replaced]


@dataclass(frozen=True, slots=True)
class AdviceTexts:
    """What the config says: numbers and advice texts by key, with per-property overrides."""

    numbers: Mapping[str, str]
    advice: Mapping[str, str]
    property_numbers: Mapping[str, Mapping[str, str]]
    property_advice: Mapping[str, Mapping[str, str]]

    def for_property(self, property_id: str) -> tuple[dict[str, str], dict[str, str]]:
        numbers = {**self.numbers, **self.property_numbers.get(property_id, {})}
        advice = {**self.advice, **self.property_advice.get(property_id, {})}
        return numbers, advice


def plan_advice(
    tickets: Sequence[Ticket],
    found: Mapping[str, Sequence[Hazard]],
    texts: AdviceTexts,
    source: Source,
) -> list[Planned]:
    """One advice mail per tenant naming every hazard reported, each advice text once."""
    out: list[Planned] = []
    by_tenant: dict[str, list[Ticket]] = {}
    for t in tickets:
        if found.get(t.ticket_id):
            by_tenant.setdefault(t.requested_for.lower(), []).append(t)
    for tenant, mine in by_tenant.items():
        numbers, advice = texts.for_property(mine[0].property_id)
        items: list[dict[str, str]] = []
        seen: set[str] = set()
        for t in mine:
            for h in found[t.ticket_id]:
                if h.advice in seen:
                    continue
                seen.add(h.advice)
                text = advice.get(h.advice, advice.get("default", ""))
                items.append({"hazard": h.name, "advice": text.format_map(numbers)})
        out.append(
            Planned(
                kind=ADVICE_KIND,
                audience=TENANT,
                recipient=tenant,
                ticket_ids=tuple(t.ticket_id for t in mine),
                context={
                    "tenant_name": source.sender_name,
                    "advice": items,
                    "numbers": numbers,
                    "tickets": [{"ticket_id": t.ticket_id} for t in mine],
                },
                in_reply_to=source.message_id,
                references=source.references,
            )
        )
    return out
