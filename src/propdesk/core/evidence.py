"""Add up the vocabulary evidence of one clause: topic scores, cues, problems, rules that fired.

A clause is the smallest piece the action-item splitter works with (``clauses`` cuts the text);
this module adds up what the phrases found in one piece (``hits``) say: topic scores, cues,
problems, the urgency and context rules whose every group fired.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from propdesk.core.hits import Hit, find_hits
from propdesk.core.textmatch import normalise
from propdesk.core.vocabulary import Vocabulary

__all__ = ["Clause", "Hit", "evidence"]


@dataclass(frozen=True)
class Clause:
    """A piece of text with the evidence found in it."""

    text: str
    sentence: int
    from_subject: bool
    list_item: bool  # starts a list entry
    question: bool
    hits: tuple[Hit, ...]
    topic_scores: Mapping[str, float]
    topic_hits: Mapping[str, tuple[str, ...]]
    cues: frozenset[str]  # cue kinds present and not negated
    problem: bool  # something is wrong (a non-negated problem phrase)
    urgency_rules: frozenset[str]  # urgency rules whose every group matched here
    context_rules: tuple[str, ...] = ()
    contractor: tuple[str, ...] = field(default_factory=tuple)
    block: int = 0  # paragraph or list entry
    conjoined: bool = False  # split off the previous clause of the same sentence
    second_problem: bool = False  # ... naming its own thing and its own problem
    problem_topics: frozenset[str] = frozenset()  # topics whose own problem phrases fired
    generic_problem: bool = False  # a generic problem cue ("not working", "broken")
    in_list: bool = False
    closing: bool = False  # nothing to act on: thanks, "never mind" (see ``_closing``)

    def top_topic(self) -> str | None:
        if not self.topic_scores:
            return None
        return max(self.topic_scores.items(), key=lambda kv: kv[1])[0]


def _closing(cues: frozenset[str], problem: bool, vocab: Vocabulary) -> bool:
    """Thanks, "never mind", a confirmation: nothing to act on (unless a problem is named)."""
    if "still" in cues:
        return False
    if "resolved" in cues:  # "never mind, the toilet stopped running on its own"
        return True
    return bool(cues & vocab.decisions.closing_cues) and not problem


@dataclass
class _Tally:
    """Adds up what the hits of one clause say."""

    scores: dict[str, float] = field(default_factory=dict)
    topic_hits: dict[str, list[str]] = field(default_factory=dict)
    cues: set[str] = field(default_factory=set)
    problem: bool = False
    problem_topics: set[str] = field(default_factory=set)
    generic_problem: bool = False
    groups_hit: set[str] = field(default_factory=set)
    contractor: list[str] = field(default_factory=list)

    def add(self, hit: Hit, vocab: Vocabulary) -> None:
        kind, name = hit.role.kind, hit.role.name
        if kind in {"topic", "problem"}:
            self._topic(hit, vocab)
        elif kind == "cue" and not hit.negated:
            self.cues.add(name)
            if name in {"problem", "still"}:
                self.problem = True
                self.generic_problem = self.generic_problem or name == "problem"
        elif kind in {"urgency", "context"}:
            if hit.negated == (name.rsplit(":", 1)[0] in vocab.negated_rules):
                self.groups_hit.add(name)
        elif kind == "contractor" and not hit.negated:
            self.contractor.append(hit.phrase)

    def _topic(self, hit: Hit, vocab: Vocabulary) -> None:
        kind, name = hit.role.kind, hit.role.name
        if kind == "problem" and hit.negated:
            return
        if kind == "topic" and hit.denied:
            return  # "it's not a security issue"
        weight = hit.role.weight
        if kind == "topic" and hit.locative:
            weight *= vocab.decisions.thresholds.locative_weight
        self.scores[name] = self.scores.get(name, 0.0) + weight
        self.topic_hits.setdefault(name, []).append(hit.phrase)
        if kind == "problem":
            self.problem = True
            self.problem_topics.add(name)


def evidence(
    text: str,
    vocab: Vocabulary,
    *,
    sentence: int = 0,
    from_subject: bool = False,
    list_item: bool = False,
    block: int = 0,
    in_list: bool = False,
) -> Clause:
    """All the evidence ``text`` carries, resolved longest-match-first."""
    hits = find_hits(text, vocab)
    # "I'd patch the holes when I move out": a hypothetical names no real problem
    if vocab.decisions.hypothetical_re.match(normalise(text)):
        hits = [
            h
            if h.role.kind == "topic"
            else Hit(h.phrase, h.role, True, h.locative, h.denied, h.words)
            for h in hits
        ]
    t = _Tally()
    for hit in hits:
        t.add(hit, vocab)
    scores, topic_hits, cues, groups_hit = t.scores, t.topic_hits, t.cues, t.groups_hit
    problem, problem_topics, generic_problem = t.problem, t.problem_topics, t.generic_problem
    contractor = t.contractor
    if vocab.decisions.ordinal_start_re.match(text):  # "First, ..." ("first floor" is not)
        cues.add("separator")
    # only rules with a group hit here can have all their groups hit (most clauses: none)
    named = {g.rsplit(":", 1)[0] for g in groups_hit}
    fired = frozenset(
        rule.name
        for rule in vocab.urgency_rules
        if (rule.name in named or not rule.groups)
        and all(f"{rule.name}:{g}" in groups_hit for g in range(len(rule.groups)))
    )
    context: list[str] = []
    for ctx in vocab.context_rules:
        if (ctx.name in named or not ctx.groups) and all(
            f"{ctx.name}:{g}" in groups_hit for g in range(len(ctx.groups))
        ):
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
        closing=_closing(frozenset(cues), problem, vocab),
        problem=problem,
        problem_topics=frozenset(problem_topics),
        generic_problem=generic_problem,
        urgency_rules=fired,
        context_rules=tuple(context),
        contractor=tuple(contractor),
        block=block,
        in_list=in_list,
    )
