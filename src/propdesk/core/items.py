"""Split an email into action items: one per separate matter the tenant raises.

Walks the clauses in order and decides, for each, whether it continues the current matter or
starts a new one (see ``_starts_new``). Two unrelated problems give two items even in one
category; symptoms of one problem (the leak and the mold it caused) stay one item; thanks,
"never mind, it's fixed" and scheduling confirmations give none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from propdesk.core.evidence import Clause, clauses
from propdesk.core.vocabulary import Topic, Vocabulary

_REPLY_PREFIX_RE = re.compile(r"^\s*(?:(?:re|fw|fwd|aw|sv|wg)\s*(?:\[\d+\])?\s*:\s*)+", re.I)
_QUESTION_TYPES = frozenset({"Lease", "Move-in/out", "Payment", "Amenity", "Utilities"})
_STRONG_TOPIC = 4.0
_MIN_OPEN = 2.0  # a single weak word ("neighbors", "came off") never opens a matter
_CONTINUITY = 0.8  # a clause about the current matter nearly as much as another continues it
_BACK_REFERENCE_RE = re.compile(r"^\W*(?:it|it's|its|they|they're|which|plus it)\b", re.I)


@dataclass
class ActionItem:
    """One matter: its clauses (in order) and why it was split off."""

    clauses: list[Clause] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    resolved: bool = False
    subject: Clause | None = None  # the subject, when it talks about this matter
    context: list[Clause] = field(default_factory=list)  # lead-in clauses of the same paragraph

    def scores(self, vocab: Vocabulary | None = None) -> dict[str, float]:
        """Topic scores. The opening clause says what the matter is (x1.5); later symptom
        topics (mold, water damage) count half, so "leak ... and now mold" stays a leak."""
        total: dict[str, float] = {}
        for n, clause in enumerate([*self.context, *self.clauses]):
            opening = n == len(self.context)
            for topic, score in clause.topic_scores.items():
                weight = 1.5 if opening else 1.0
                if not opening and vocab is not None and vocab.topics[topic].attach:
                    weight = 0.5
                total[topic] = total.get(topic, 0.0) + score * weight
        if self.subject is not None:
            for topic, score in self.subject.topic_scores.items():
                if topic in total:
                    total[topic] += score * 0.5
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
        best_group = max(groups.items(), key=lambda kv: kv[1])[0]
        in_group = {
            k: v
            for k, v in scores.items()
            if (vocab.topics[k].category, vocab.topics[k].subcategory) == best_group
        }
        return vocab.topics[max(in_group.items(), key=lambda kv: kv[1])[0]]

    @property
    def text(self) -> str:
        return " ".join(c.text for c in self.clauses)


def strip_reply_prefix(subject: str) -> tuple[str, bool]:
    """Subject without "Re:"/"Fwd:" prefixes, and whether it had one."""
    m = _REPLY_PREFIX_RE.match(subject)
    if not m:
        return subject.strip(), False
    return subject[m.end() :].strip(), True


def _opens(clause: Clause, topic: Topic, current: ActionItem | None) -> bool:
    """Can this clause open a matter of its own?"""
    if clause.topic_scores.get(topic.key, 0.0) < _MIN_OPEN:
        return False
    asks = clause.question or "request" in clause.cues
    if clause.urgency_rules:
        return True  # an emergency situation is always a matter
    if topic.problem_free or topic.category in _QUESTION_TYPES:
        return asks or clause.problem
    if clause.problem or asks or bool(clause.cues & {"still", "absence"}):
        return True
    strong = clause.topic_scores.get(topic.key, 0.0) >= _STRONG_TOPIC
    # a tenant's list names matters; a complaint's own words are the problem
    return strong and (current is None or clause.in_list or topic.category == "Complaint")


def _about_current(clause: Clause, cur: Topic, vocab: Vocabulary) -> bool:
    """The clause is (nearly) as much about the current matter as about anything else."""
    best = max(clause.topic_scores.values())
    if clause.topic_scores.get(cur.key, 0.0) >= _CONTINUITY * best:
        return True
    group = sum(
        v
        for k, v in clause.topic_scores.items()
        if (vocab.topics[k].category, vocab.topics[k].subcategory)
        == (cur.category, cur.subcategory)
    )
    return group >= _CONTINUITY * best


def _starts_new(  # noqa: PLR0911, PLR0912 - a decision table reads best as early returns
    clause: Clause,
    topic: Topic,
    current: ActionItem,
    vocab: Vocabulary,
    *,
    after_closing: bool,
    separated: bool,
) -> str | None:
    """Why ``clause`` starts a new item (a reason for matched_rules), or None to continue."""
    cur = current.top_topic(vocab)
    if cur is None:
        return None
    separator = separated or "separator" in clause.cues or clause.list_item
    if "merge" in clause.cues:
        return None
    same_group = (cur.category, cur.subcategory) == (topic.category, topic.subcategory)
    if topic.key == cur.key or (same_group and topic.category in _QUESTION_TYPES):
        return "split:after resolved matter" if after_closing and current.resolved else None
    if cur.category in _QUESTION_TYPES and topic.category in _QUESTION_TYPES and not separator:
        return None  # follow-up questions ("Is there a fee?") belong to the question asked
    if not separator and not after_closing:
        first = current.clauses[0]
        if first.in_list and clause.block == first.block:
            return None  # the tenant's own list entry delimits the matter
        if _BACK_REFERENCE_RE.match(clause.text) or _about_current(clause, cur, vocab):
            return None
        if topic.attach and cur.category == "Maintenance":
            return None
        if cur.attach and topic.category == "Maintenance" and not clause.in_list:
            return None
    if not _opens(clause, topic, current):
        return None
    if after_closing:
        return "split:new matter after a closing remark"
    if separator:
        return "split:list entry" if clause.in_list else "split:separator cue"
    if not same_group:
        return f"split:different matter ({topic.category}/{topic.subcategory})"
    return None


class _Splitter:
    """Feeds clauses one by one and keeps the list of items open so far."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        self.items: list[ActionItem] = []
        self.current: ActionItem | None = None
        self.after_closing = False
        self.closing_seen = False
        self.separated = False  # a topic-less "Also:" / list marker announced a new matter
        self.lead_in: list[Clause] = []  # topic clauses seen before the first matter opened
        self.last: Clause | None = None  # the clause fed before this one

    def feed(self, clause: Clause) -> None:
        self._feed(clause)
        self.last = clause

    def _feed(self, clause: Clause) -> None:
        current = self.current
        if clause.closing:
            self.closing_seen = True
            if current is not None and "resolved" in clause.cues:
                current.resolved = True
                current.reasons.append("resolved:" + clause.text[:40])
            self.after_closing = current is not None or self.after_closing
            return
        name = clause.top_topic()
        if name is None:
            if "separator" in clause.cues or clause.list_item:
                self.separated = True
            elif current is not None:
                current.clauses.append(clause)
            elif (
                self.lead_in
                and self.last is self.lead_in[-1]
                and (clause.question or "request" in clause.cues)
            ):
                # "I moved out in May. When will I get it back?": the question is about the
                # matter just described
                lead = self.lead_in.pop()
                self._open(lead, f"open:{lead.top_topic()} (asked about)")
                assert self.current is not None
                self.current.clauses.append(clause)
            return
        topic = self.vocab.topics[name]
        if current is None:
            if _opens(clause, topic, None):
                self._open(clause, f"open:{topic.key}")
            else:
                self.lead_in.append(clause)
            return
        reason = _starts_new(
            clause,
            topic,
            current,
            self.vocab,
            after_closing=self.after_closing,
            separated=self.separated,
        )
        if reason:
            self._open(clause, reason)
        else:
            current.clauses.append(clause)
        self.after_closing = False
        self.separated = False

    def _open(self, clause: Clause, reason: str) -> None:
        item = ActionItem([clause], [reason])
        if not self.items:
            # "I saw the notice about the water shutoff. Will the hot water be off too?"
            item.context = [c for c in self.lead_in if c.block == clause.block and not c.in_list]
        self.current = item
        self.items.append(item)
        self.after_closing = False
        self.separated = False


def action_items(subject: str, new_text: str, vocab: Vocabulary) -> list[ActionItem]:
    """The separate matters of one email (subject + new text), closed matters removed."""
    subject_text, is_reply = strip_reply_prefix(subject)
    subj = clauses(subject_text, vocab, from_subject=True) if subject_text else []
    subject_clause = subj[0] if len(subj) == 1 else None
    splitter = _Splitter(vocab)
    for clause in clauses(new_text, vocab):
        splitter.feed(clause)
    items = [i for i in splitter.items if not i.resolved]
    if subject_clause is not None and subject_clause.topic_scores:
        allow_alone = not is_reply and not splitter.closing_seen
        _use_subject(items, subject_clause, vocab, allow_alone=allow_alone)
    return items


def _use_subject(
    items: list[ActionItem], subject: Clause, vocab: Vocabulary, *, allow_alone: bool
) -> None:
    """The subject reinforces the items it talks about; alone it is an item only if the body
    raised nothing and the email is neither a reply nor a closing remark."""
    for item in items:
        if set(subject.topic_scores) & set(item.scores(vocab)):
            item.subject = subject
    if items or not allow_alone:
        return
    name = subject.top_topic()
    assert name is not None
    if _opens(subject, vocab.topics[name], None) or subject.topic_scores[name] >= 3:
        items.append(ActionItem([subject], ["open:subject only"]))
