"""Cut the new text of an email into clauses and collect the vocabulary evidence of each.

A clause is the smallest piece the action-item splitter works with: a sentence, a list entry,
or one half of a sentence joined with "and"/"but"/";" when the halves talk about different
things ("the toilet keeps running, and the light over the mirror flickers").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from propdesk.core.textmatch import Match, Token, longest_matches, tokenize
from propdesk.core.vocabulary import Role, Vocabulary

_LIST_MARKER_RE = re.compile(r"^\s*(?:[-*\u2022\u25cf]|\(?\d{1,2}[.)]|[a-z][.)])\s+")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[A-Za-z0-9\"'(])|(?<=[a-z]):\s+")
_CLAUSE_SPLIT_RE = re.compile(
    r"\s*;\s*|,\s+(?=(?:but|and|also|plus)\b)|\s+(?=(?:but now|and also|plus also)\b)"
    r"|\s+-\s+(?=[a-z])",
    re.IGNORECASE,
)
_RESET_WORDS = frozenset({"but", "and", "so", "because", "though", "however", "although"})
_NEGATION_WINDOW = 5
CLOSING_CUES = frozenset({"resolved", "gratitude", "confirmation", "info"})


@dataclass(frozen=True, slots=True)
class Hit:
    """One phrase that fired in a clause, with the role it played."""

    phrase: str
    role: Role
    negated: bool

    def describe(self) -> str:
        neg = " (negated)" if self.negated else ""
        return f"{self.role.kind}:{self.role.name}:'{self.phrase}'{neg}"


@dataclass(frozen=True)
class Clause:
    """A piece of text with the evidence found in it."""

    text: str
    sentence: int
    from_subject: bool
    list_item: bool
    question: bool
    hits: tuple[Hit, ...]
    topic_scores: Mapping[str, float]
    topic_hits: Mapping[str, tuple[str, ...]]
    cues: frozenset[str]  # cue kinds present and not negated
    problem: bool  # something is wrong (a non-negated problem phrase)
    urgency_rules: frozenset[str]  # urgency rules whose every group matched here
    context_rules: tuple[str, ...] = ()
    contractor: tuple[str, ...] = field(default_factory=tuple)

    def top_topic(self) -> str | None:
        if not self.topic_scores:
            return None
        return max(self.topic_scores.items(), key=lambda kv: kv[1])[0]

    @property
    def closing(self) -> bool:
        """Thanks, "never mind", a confirmation: nothing to act on (unless a problem is named)."""
        return bool(self.cues & CLOSING_CUES) and not self.problem and "still" not in self.cues


def split_sentences(text: str) -> list[tuple[str, bool]]:
    """Sentences of ``text`` as (sentence, starts a list entry); hard line-wraps are joined."""
    out: list[tuple[str, bool]] = []
    para: list[str] = []
    para_list = False

    def flush() -> None:
        nonlocal para, para_list
        if para:
            joined = " ".join(para)
            for i, piece in enumerate(_SENTENCE_END_RE.split(joined)):
                if piece.strip():
                    out.append((piece.strip(), para_list and i == 0))
        para = []
        para_list = False

    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            flush()
            continue
        marker = _LIST_MARKER_RE.match(stripped)
        if marker:
            flush()
            para_list = True
            stripped = stripped[marker.end() :]
        para.append(stripped)
    flush()
    return out


def _negated(tokens: list[Token], first: int, negation: frozenset[str]) -> bool:
    for j in range(first - 1, max(-1, first - 1 - _NEGATION_WINDOW), -1):
        word = tokens[j].text
        if word in _RESET_WORDS:
            return False
        if word in negation:
            return True
    return False


def _hits(text: str, vocab: Vocabulary) -> list[Hit]:
    tokens = tokenize(text, vocab.spelling)
    matches: list[Match] = longest_matches(vocab.index.find_all(tokens))
    hits: list[Hit] = []
    for m in matches:
        negated = _negated(tokens, m.first, vocab.negation)
        for role in vocab.roles.get(m.phrase, ()):
            hits.append(Hit(m.phrase, role, negated))
    return hits


def evidence(
    text: str, vocab: Vocabulary, *, sentence: int, from_subject: bool, list_item: bool
) -> Clause:
    """All the evidence ``text`` carries, resolved longest-match-first."""
    hits = _hits(text, vocab)
    scores: dict[str, float] = {}
    topic_hits: dict[str, list[str]] = {}
    cues: set[str] = set()
    problem = False
    groups_hit: set[str] = set()
    contractor: list[str] = []
    for hit in hits:
        kind = hit.role.kind
        if kind == "topic" or (kind == "problem" and not hit.negated):
            scores[hit.role.name] = scores.get(hit.role.name, 0.0) + hit.role.weight
            topic_hits.setdefault(hit.role.name, []).append(hit.phrase)
            if kind == "problem":
                problem = True
        elif kind == "cue" and not hit.negated:
            cues.add(hit.role.name)
            if hit.role.name in {"problem", "still"}:
                problem = True
        elif kind in {"urgency", "context"} and not hit.negated:
            groups_hit.add(hit.role.name)
        elif kind == "contractor" and not hit.negated:
            contractor.append(hit.phrase)
    fired = frozenset(
        rule.name
        for rule in vocab.urgency_rules
        if all(f"{rule.name}:{g}" in groups_hit for g in range(len(rule.groups)))
    )
    context: list[str] = []
    for ctx in vocab.context_rules:
        if all(f"{ctx.name}:{g}" in groups_hit for g in range(len(ctx.groups))):
            scores[ctx.topic] = scores.get(ctx.topic, 0.0) + ctx.weight
            topic_hits.setdefault(ctx.topic, []).append(f"context '{ctx.name}'")
            context.append(ctx.name)
    return Clause(
        text=text,
        sentence=sentence,
        from_subject=from_subject,
        list_item=list_item,
        question=text.rstrip().endswith("?"),
        hits=tuple(hits),
        topic_scores=scores,
        topic_hits={k: tuple(v) for k, v in topic_hits.items()},
        cues=frozenset(cues),
        problem=problem,
        urgency_rules=fired,
        context_rules=tuple(context),
        contractor=tuple(contractor),
    )


def clauses(text: str, vocab: Vocabulary, *, from_subject: bool = False) -> list[Clause]:
    """Clauses of ``text``: sentences, split further where halves are about different things."""
    out: list[Clause] = []
    for s_index, (sentence, list_item) in enumerate(split_sentences(text)):
        pieces = [p for p in _CLAUSE_SPLIT_RE.split(sentence) if p and p.strip()]
        current: Clause | None = None
        for piece in pieces:
            ev = evidence(
                piece, vocab, sentence=s_index, from_subject=from_subject, list_item=list_item
            )
            if current is None:
                current = ev
                continue
            a, b = current.top_topic(), ev.top_topic()
            starts_new = (a is not None and b is not None and a != b) or bool(
                ev.cues & ({"separator"} | CLOSING_CUES)
            )
            if starts_new:
                out.append(current)
                current = ev
            else:
                joined = f"{current.text}, {piece.strip()}"
                current = evidence(
                    joined, vocab, sentence=s_index, from_subject=from_subject, list_item=list_item
                )
        if current is not None:
            out.append(current)
    return out
