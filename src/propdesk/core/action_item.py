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


class _Running:
    """What a matter has said so far, added up clause by clause as the splitter appends them.

    Why: the splitter asks the current matter for its scores and things after every clause;
    recounting all its clauses each time made a long one-matter email quadratic. Sums are
    made in clause order, so they equal a recount exactly (same floats, same key order).
    """

    def __init__(self, vocab: Vocabulary, context: list[Clause], clauses: list[Clause]) -> None:
        self.vocab, self.context, self.clauses = vocab, context, clauses
        self.context_len = len(context)
        self.count = 0  # clauses of [*context, *clauses] added so far
        self.first: Clause | None = None
        self.last: Clause | None = None
        self.total: dict[str, float] = {}
        self.heads: set[str] = set()  # last words of things named so far ("door" of "oven door")
        self.things: set[str] = set()  # topic words of context and clauses, synonyms folded
        self.clause_heads: set[str] = set()  # ``heads`` of the clauses alone (not the context)
        self.urgent = False  # some clause fired an urgency rule
        self.lacks = False  # some clause is a problem, an emergency or an absence

    def fits(self, vocab: Vocabulary, context: list[Clause], clauses: list[Clause]) -> bool:
        """The matter only grew at its end since the last count (else count again)."""
        if vocab is not self.vocab or context is not self.context or clauses is not self.clauses:
            return False
        if len(context) != self.context_len or self.count > len(context) + len(clauses):
            return False
        return self.count == 0 or (
            _at(context, clauses, 0) is self.first
            and _at(context, clauses, self.count - 1) is self.last
        )

    def add(self, clause: Clause) -> None:
        th, same = self.vocab.decisions.thresholds, self.vocab.decisions.same_thing
        opening = self.count == self.context_len
        own = self.count >= self.context_len  # a clause of the matter, not of its lead-in
        for topic, score in clause.topic_scores.items():
            weight = th.opening_weight if opening else 1.0
            if not opening and self.vocab.topics[topic].attach:
                weight = th.symptom_weight
            # "the door" after "oven door" names the same thing: no new evidence
            echoed = sum(
                h.role.weight
                for h in clause.hits
                if h.role.kind == "topic"
                and h.role.name == topic
                and len(h.words) == 1
                and h.words[0] in self.heads
            )
            self.total[topic] = self.total.get(topic, 0.0) + max(0.0, score - echoed) * weight
        heads = {
            h.words[-1]
            for h in clause.hits
            if h.role.kind in {"topic", "problem"} and len(h.words) > 1
        }
        self.heads |= heads
        self.things |= {
            same.get(w, w) for h in clause.hits if h.role.kind == "topic" for w in h.words
        }
        if own:
            self.clause_heads |= heads
            self.urgent = self.urgent or bool(clause.urgency_rules)
            self.lacks = self.lacks or bool(
                clause.problem or clause.urgency_rules or "absence" in clause.cues
            )
        if self.count == 0:
            self.first = clause
        self.last = clause
        self.count += 1


def _at(context: list[Clause], clauses: list[Clause], i: int) -> Clause:
    return context[i] if i < len(context) else clauses[i - len(context)]


@dataclass
class ActionItem:
    """One matter: its clauses (in order) and why it was split off.

    ``clauses`` may grow at its end or be changed in any other way; sums are kept for what it
    held before and redone from scratch when anything but an append changed it.
    """

    clauses: list[Clause] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    resolved: bool = False
    subject: Clause | None = None  # the subject, when it talks about this matter
    context: list[Clause] = field(default_factory=list)  # lead-in clauses of the same paragraph
    _running: _Running | None = field(default=None, init=False, repr=False, compare=False)

    def running(self, vocab: Vocabulary) -> _Running:
        """The sums over the matter so far, brought up to date with clauses added since."""
        run = self._running
        if run is None or not run.fits(vocab, self.context, self.clauses):
            run = self._running = _Running(vocab, self.context, self.clauses)
        for i in range(run.count, len(self.context) + len(self.clauses)):
            run.add(_at(self.context, self.clauses, i))
        return run

    def scores(self, vocab: Vocabulary) -> dict[str, float]:
        """Topic scores. The opening clause says what the matter is (x ``opening_weight``);
        later symptom topics (mold, water damage) count ``symptom_weight`` (half by default),
        so "leak ... and now mold" stays a leak; see ``[thresholds]``."""
        th = vocab.decisions.thresholds
        total = dict(self.running(vocab).total)
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
    return set(current.running(vocab).things)


def names_same_thing(clause: Clause, current: ActionItem, vocab: Vocabulary) -> bool:
    """A bare noun ("the door") that heads a longer thing of the current matter ("oven door")."""
    top = clause.top_topic()
    bare = {
        h.words[0]
        for h in clause.hits
        if h.role.kind == "topic" and h.role.name == top and len(h.words) == 1
    }
    return bool(bare & current.running(vocab).clause_heads)
