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


@dataclass
class ActionItem:
    """One matter: its clauses (in order) and why it was split off."""

    clauses: list[Clause] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    resolved: bool = False
    subject: Clause | None = None  # the subject, when it talks about this matter

    def scores(self) -> dict[str, float]:
        total: dict[str, float] = {}
        for clause in self.clauses:
            for topic, score in clause.topic_scores.items():
                total[topic] = total.get(topic, 0.0) + score
        if self.subject is not None:
            for topic, score in self.subject.topic_scores.items():
                if topic in total:
                    total[topic] += score * 0.5
        return total

    def group_scores(self, vocab: Vocabulary) -> dict[tuple[str, str | None], float]:
        groups: dict[tuple[str, str | None], float] = {}
        for topic, score in self.scores().items():
            t = vocab.topics[topic]
            key = (t.category, t.subcategory)
            groups[key] = groups.get(key, 0.0) + score
        return groups

    def top_topic(self, vocab: Vocabulary) -> Topic | None:
        scores = self.scores()
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
    asks = clause.question or "request" in clause.cues
    if topic.problem_free or topic.category in _QUESTION_TYPES:
        return asks or clause.problem
    if clause.problem or asks or "still" in clause.cues:
        return True
    return current is None and clause.topic_scores.get(topic.key, 0.0) >= _STRONG_TOPIC


def _starts_new(  # noqa: PLR0911 - a decision table reads best as ordered early returns
    clause: Clause, topic: Topic, current: ActionItem, vocab: Vocabulary, after_closing: bool
) -> str | None:
    """Why ``clause`` starts a new item (a reason for matched_rules), or None to continue."""
    cur = current.top_topic(vocab)
    if cur is None:
        return None
    if "merge" in clause.cues:
        return None
    same_group = (cur.category, cur.subcategory) == (topic.category, topic.subcategory)
    if topic.key == cur.key or (same_group and topic.category in _QUESTION_TYPES):
        return "split:after resolved matter" if after_closing and current.resolved else None
    if topic.attach and cur.category == "Maintenance" and "separator" not in clause.cues:
        return None
    if (
        cur.attach
        and topic.category == "Maintenance"
        and not clause.list_item
        and "separator" not in clause.cues
        and not after_closing
    ):
        return None
    if not _opens(clause, topic, current):
        return None
    if after_closing:
        return "split:new matter after a closing remark"
    if "separator" in clause.cues:
        return "split:separator cue"
    if clause.list_item:
        return "split:list entry"
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

    def feed(self, clause: Clause) -> None:
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
            if current is not None:
                current.clauses.append(clause)
            return
        topic = self.vocab.topics[name]
        if current is None:
            if _opens(clause, topic, None):
                self._open(clause, f"open:{topic.key}")
            return
        reason = _starts_new(clause, topic, current, self.vocab, self.after_closing)
        if reason:
            self._open(clause, reason)
        else:
            current.clauses.append(clause)
        self.after_closing = False

    def _open(self, clause: Clause, reason: str) -> None:
        self.current = ActionItem([clause], [reason])
        self.items.append(self.current)
        self.after_closing = False


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
        if set(subject.topic_scores) & set(item.scores()):
            item.subject = subject
    if items or not allow_alone:
        return
    name = subject.top_topic()
    assert name is not None
    if _opens(subject, vocab.topics[name], None) or subject.topic_scores[name] >= 3:
        items.append(ActionItem([subject], ["open:subject only"]))
