"""One matter of an email (an action item): its clauses, its topic scores and the things it names.

Why a module of its own: the splitter (``items``), the tests of what opens a matter (``opening``),
of what continues one (``continuation``) and the split decision (``splitting``) all ask the same
questions of the matter built so far: what is it about, and which things has it named.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from propdesk.core.clauses import thing_words
from propdesk.core.evidence import Clause
from propdesk.core.vocabulary import Topic, Vocabulary


@dataclass
class ActionItem:
    """One matter: its clauses (in order) and why it was split off."""

    clauses: list[Clause] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    resolved: bool = False
    subject: Clause | None = None  # the subject, when it talks about this matter
    context: list[Clause] = field(default_factory=list)  # lead-in clauses of the same paragraph

    def scores(self, vocab: Vocabulary) -> dict[str, float]:
        """Topic scores. The opening clause says what the matter is (x ``opening_weight``);
        later symptom topics (mold, water damage) count ``symptom_weight`` (half by default),
        so "leak ... and now mold" stays a leak; see ``[thresholds]``."""
        th = vocab.decisions.thresholds
        total: dict[str, float] = {}
        heads: set[str] = set()  # last words of things named so far ("door" of "oven door")
        for n, clause in enumerate([*self.context, *self.clauses]):
            opening = n == len(self.context)
            for topic, score in clause.topic_scores.items():
                weight = th.opening_weight if opening else 1.0
                if not opening and vocab.topics[topic].attach:
                    weight = th.symptom_weight
                # "the door" after "oven door" names the same thing: no new evidence
                echoed = sum(
                    h.role.weight
                    for h in clause.hits
                    if h.role.kind == "topic"
                    and h.role.name == topic
                    and len(h.words) == 1
                    and h.words[0] in heads
                )
                total[topic] = total.get(topic, 0.0) + max(0.0, score - echoed) * weight
            heads |= {
                h.words[-1]
                for h in clause.hits
                if h.role.kind in {"topic", "problem"} and len(h.words) > 1
            }
        if self.subject is not None:
            for topic, score in self.subject.topic_scores.items():
                if topic in total:
                    total[topic] += score * th.subject_weight
        return total

    def group_scores(self, vocab: Vocabulary) -> dict[tuple[str, str | None], float]:
        groups: dict[tuple[str, str | None], float] = {}
        for topic, score in self.scores(vocab).items():
            t = vocab.topics[topic]
            key = (t.category, t.subcategory)
            groups[key] = groups.get(key, 0.0) + score
        return groups

    def top_topic(self, vocab: Vocabulary) -> Topic | None:
        scores = self.scores(vocab)
        if not scores:
            return None
        groups = self.group_scores(vocab)
        opening = self.clauses[0].top_topic()
        first = vocab.topics[opening] if opening else None
        first_group = (first.category, first.subcategory) if first else None
        # ties go to what the opening clause was about
        best_group = max(groups.items(), key=lambda kv: (kv[1], kv[0] == first_group))[0]
        in_group = {
            k: v
            for k, v in scores.items()
            if (vocab.topics[k].category, vocab.topics[k].subcategory) == best_group
        }
        return vocab.topics[max(in_group.items(), key=lambda kv: kv[1])[0]]

    @property
    def text(self) -> str:
        return " ".join(c.text for c in self.clauses)


def new_thing(clause: Clause, current: ActionItem, vocab: Vocabulary, min_weight: float) -> bool:
    """ "The washer ate my quarters. The dryer also doesn't heat.": a clearly named thing
    that the current matter has not mentioned."""
    named = thing_words(
        [
            w
            for h in clause.hits
            if h.role.kind == "topic" and h.role.weight >= min_weight and not h.locative
            for w in h.words
        ],
        vocab,
    )
    return bool(named) and not named & seen_things(current, vocab)


def seen_things(current: ActionItem, vocab: Vocabulary) -> set[str]:
    """Every thing the matter has named so far (synonyms folded): its lead-in and its clauses."""
    return thing_words(
        [
            w
            for c in [*current.context, *current.clauses]
            for h in c.hits
            if h.role.kind == "topic"
            for w in h.words
        ],
        vocab,
    )


def names_same_thing(clause: Clause, current: ActionItem) -> bool:
    """A bare noun ("the door") that heads a longer thing of the current matter ("oven door")."""
    top = clause.top_topic()
    bare = {
        h.words[0]
        for h in clause.hits
        if h.role.kind == "topic" and h.role.name == top and len(h.words) == 1
    }
    heads = {
        h.words[-1]
        for c in current.clauses
        for h in c.hits
        if h.role.kind in {"topic", "problem"} and len(h.words) > 1
    }
    return bool(bare & heads)
