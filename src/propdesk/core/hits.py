"""Which vocabulary phrases fire in a piece of text, and how: negated, a place, denied.

Why apart from the tally (``evidence``): finding phrases (longest match first, one layer per
situation rule), and reading the words around them (negation, locatives, feared events, indoor
temperatures) is the text-reading half; adding up what the hits mean is the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from propdesk.core.textmatch import Match, Token, longest_matches, normalise, tokenize
from propdesk.core.vocabulary import Role, Vocabulary

_PUNCT_RE = re.compile(r"[,;:.!?()\[\]]|\s-\s")
# Co-occurrence rules (urgency, context) see every phrase; other roles compete longest-first
# only with each other, so "sewage is coming" (urgency) does not hide "sewage" (topic).
_COOCCURRENCE_KINDS = frozenset({"urgency", "context"})
_INDOOR_TEMP_RE = re.compile(
    r"\b(\d{2})\s*(?:degrees|deg|\u00b0)\s*f?\b[^.!?]{0,20}?\b(?:in here|inside|in the "
    r"(?:apartment|unit|bedroom|living room|house)|in my (?:apartment|unit|bedroom|place))"
    r"|\b(?:it's|its|it is)\s+(?:only\s+)?(\d{2})\s*(?:degrees)?\s+(?:in here|inside)\b",
    re.IGNORECASE,
)
_TWO_DIGITS = re.compile(r"\d{2}")
_CAPPED_TEMP_RE = re.compile(
    r"\b(?:can't|cannot|can not|won't|doesn't|does not|never|not|"
    r"(?:neither of us|nobody|no one) can)\s+(?:get\s+(?:it|the \w+)\s+|"
    r"go\s+|get\s+|goes\s+|gets\s+)?(above|over|past|below|under)\s+(\d{2})\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Hit:
    """One phrase that fired in a clause, with the role it played."""

    phrase: str
    role: Role
    negated: bool
    locative: bool = False  # "behind the fridge": a place, not the thing the matter is about
    denied: bool = False  # "not a security issue": the tenant says what it is not
    words: tuple[str, ...] = ()  # the words it matched ("oven", "door")

    def describe(self) -> str:
        neg = " (negated)" if self.negated else ""
        return f"{self.role.kind}:{self.role.name}:'{self.phrase}'{neg}"


def _negator(text: str, tokens: list[Token], first: int, vocab: Vocabulary) -> str:
    """The negation word shortly before the phrase, in the same stretch of the sentence."""
    negation, d = vocab.negation, vocab.decisions
    for j in range(first - 1, max(-1, first - 1 - d.thresholds.negation_window), -1):
        if _PUNCT_RE.search(text, tokens[j].end, tokens[j + 1].start):
            return ""  # "does not light, it only clicks": the comma ends the negation
        word = tokens[j].text
        if word in d.negation_resets:
            return ""
        if word in d.place_prepositions and j > 0 and tokens[j - 1].text not in negation:
            # "no water in the whole building": the negation ends with its noun; the place
            # after it is not denied ("not in my neighbours" still is)
            return ""
        if word in negation:
            return word
        if (
            word in {"of", "about"}
            and j > 0
            and tokens[j - 1].text in d.fears
            and tokens[j + 1].text.endswith("ing")
        ):
            return "fear"  # "scared of tripping the breaker": feared, not happened
    return ""


def _rule_of(role: Role) -> str:
    """The situation rule a co-occurrence role belongs to ("no heat:1" -> "no heat")."""
    return role.name.rsplit(":", 1)[0]


def _masks_situation(role: Role) -> bool:
    """Phrases that may hide a shorter situation phrase: things ("smoke detector" hides
    "smoke", "water bill" hides "water") and neutral idioms; problem phrases ("water is
    coming") and sentence cues ("we have no") never do."""
    return role.kind in {"topic", "urgency", "context"} or (
        role.kind == "cue" and role.name == "neutral"
    )


class _PhraseKind(NamedTuple):
    """What a phrase's roles make of it in ``find_hits`` (the same for every text)."""

    evidence: bool  # some role of it is not a co-occurrence role
    rules: frozenset[str]  # the situation rules its co-occurrence roles belong to
    masks: bool  # some other role of it may hide a shorter situation phrase


_KINDS: dict[int, tuple[Vocabulary, dict[str, _PhraseKind]]] = {}


def _phrase_kinds(vocab: Vocabulary) -> dict[str, _PhraseKind]:
    """Every phrase's kind, worked out once per vocabulary (kept with the vocabulary it is for,
    so a reused id never answers for another one)."""
    got = _KINDS.get(id(vocab))
    if got is not None and got[0] is vocab:
        return got[1]
    kinds = {
        phrase: _PhraseKind(
            evidence=any(r.kind not in _COOCCURRENCE_KINDS for r in roles),
            rules=frozenset(_rule_of(r) for r in roles if r.kind in _COOCCURRENCE_KINDS),
            masks=any(r.kind not in _COOCCURRENCE_KINDS and _masks_situation(r) for r in roles),
        )
        for phrase, roles in vocab.roles.items()
    }
    if len(_KINDS) >= 8:  # tests build many vocabularies; a daemon has one
        _KINDS.clear()
    _KINDS[id(vocab)] = (vocab, kinds)
    return kinds


def _locative(tokens: list[Token], first: int, vocab: Vocabulary) -> bool:
    """The phrase names where something is ("behind the fridge", "next to the sink",
    "through his bathroom light fixture": a determiner may be followed by two modifiers)."""
    determiners, locative = vocab.decisions.determiners, vocab.decisions.locative
    for skip in range(3):
        j = first - 1 - skip
        if j < 0:
            return False
        if skip and tokens[j + 1].text in determiners:
            return False  # modifiers come after the determiner, never before it
        had_det = False
        while j >= 0 and tokens[j].text in determiners:
            j -= 1
            had_det = True
        if j < 0 or (skip and not had_det):
            continue
        if tokens[j].text in locative:
            # "leaking from under the dishwasher": the source, not a place
            return not (j >= 1 and tokens[j - 1].text == "from")
        pair = (tokens[j - 1].text, tokens[j].text) if j >= 1 else ("", "")
        # "next to the sink", "in front of my door"
        if pair in {("next", "to"), ("front", "of")}:
            return True
    return False


def _temperature_words(text: str, vocab: Vocabulary) -> list[Token]:
    """ "It's 55 degrees in my apartment" says "cold inside" without the words: add them.

    Indoor readings only (not "95 degrees out"); ``[thresholds]`` say what is cold and hot."""
    if not _TWO_DIGITS.search(text):  # both readings need a two-digit number: most text has none
        return []
    th = vocab.decisions.thresholds
    end = len(text)
    # "we can't get it above 60 degrees" (heating) / "won't go below 88" (cooling)
    for m in _CAPPED_TEMP_RE.finditer(text):
        degrees = int(m.group(2))
        if m.group(1).lower() in {"above", "over", "past"} and degrees <= th.cold_inside_f:
            return [Token("cold", end, end), Token("inside", end, end)]
        if m.group(1).lower() in {"below", "under"} and degrees >= th.hot_inside_f:
            return [Token("hot", end, end), Token("inside", end, end)]
    for m in _INDOOR_TEMP_RE.finditer(text):
        degrees = int(m.group(1) or m.group(2))
        if degrees <= th.cold_inside_f:
            return [Token("cold", end, end), Token("inside", end, end)]
        if degrees >= th.hot_inside_f:
            return [Token("hot", end, end), Token("inside", end, end)]
    return []


def find_hits(text: str, vocab: Vocabulary) -> list[Hit]:
    """Every phrase that fires in ``text``, with its role and how it is used."""
    tokens = tokenize(text, vocab.spelling) + _temperature_words(text, vocab)
    norm = normalise(text)
    found = vocab.index.find_all(tokens)
    kinds = _phrase_kinds(vocab)
    evidence_layer: list[Match] = longest_matches(m for m in found if kinds[m.phrase].evidence)
    # Each situation rule competes longest-first only with its own phrases and with things:
    # "building lost" (one rule's group) must not hide "lost power" (another rule's group).
    rules = sorted({r for m in found for r in kinds[m.phrase].rules})
    layers: list[tuple[list[Match], str | None]] = [(evidence_layer, None)]
    for rule in rules:
        layer = longest_matches(
            m for m in found if kinds[m.phrase].masks or rule in kinds[m.phrase].rules
        )
        layers.append((layer, rule))
    hits: list[Hit] = []
    seen: set[tuple[int, int, str, str]] = set()  # "plunger" and "plunge~" on one word: once
    for layer, wanted_rule in layers:
        wanted = wanted_rule is not None
        for m in layer:
            negator = _negator(norm, tokens, m.first, vocab)
            negated = bool(negator)
            # "I don't have a pet": a denied action names no matter ("no smoke detector" does)
            denied_action = (
                negator in vocab.decisions.verbal_negators
                and m.length > 1
                and tokens[m.first].text in vocab.decisions.action_verbs
            )
            locative = _locative(tokens, m.first, vocab)
            denied = denied_action or (
                m.first >= 2
                and tokens[m.first - 2].text == "not"
                and tokens[m.first - 1].text in {"a", "an"}
            )
            for role in vocab.roles.get(m.phrase, ()):
                key = (m.first, m.last, role.kind, role.name)
                if (role.kind in _COOCCURRENCE_KINDS) != wanted or key in seen:
                    continue
                if wanted and _rule_of(role) != wanted_rule:
                    continue
                seen.add(key)
                words = tuple(t.text for t in tokens[m.first : m.last + 1])
                hits.append(Hit(m.phrase, role, negated, locative, denied, words))
    return hits
