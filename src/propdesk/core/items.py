"""Split an email into action items: one per separate matter the tenant raises.

Walks the clauses in order and decides, for each, whether it continues the current matter or
starts a new one (``splitting.starts_new``). Two unrelated problems give two items even in one
category; symptoms of one problem (the leak and the mold it caused) stay one item; thanks,
"never mind, it's fixed" and scheduling confirmations give none.
"""

from __future__ import annotations

from propdesk.core.action_item import ActionItem
from propdesk.core.clauses import clauses
from propdesk.core.evidence import Clause
from propdesk.core.notes import is_note_clause
from propdesk.core.opening import opens
from propdesk.core.splitting import starts_new
from propdesk.core.vocabulary import Vocabulary

__all__ = ["ActionItem", "action_items", "strip_reply_prefix"]


def strip_reply_prefix(subject: str, vocab: Vocabulary) -> tuple[str, bool]:
    """Subject without "Re:"/"Fwd:" prefixes, and whether it had one."""
    m = vocab.decisions.reply_prefix_re.match(subject)
    if not m:
        return subject.strip(), False
    return subject[m.end() :].strip(), True


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
        self.follow_ups: list[Clause] = []  # "still not fixed" / "any update?" with no topic
        self.asked = False  # some clause asks for something ("please send someone")
        self.open_question: Clause | None = None  # a question with no topic, waiting for one

    def feed(self, clause: Clause) -> None:
        self._feed(clause)
        self.last = clause

    def _feed(self, clause: Clause) -> None:
        current = self.current
        self.asked = self.asked or clause.question or "request" in clause.cues
        if clause.closing:
            self.closing_seen = True
            if current is not None and "resolved" in clause.cues:
                current.resolved = True
                current.reasons.append("resolved:" + clause.text[:40])
            self.after_closing = current is not None or self.after_closing
            return
        name = clause.top_topic()
        if name is None and "still" in clause.cues:
            self.follow_ups.append(clause)
        if name is None:
            self._no_topic(clause)
            return
        topic = self.vocab.topics[name]
        asked, self.open_question = self.open_question, None
        # after "thanks!", a bare statement ("The new fridge is so quiet") opens nothing
        quiet = self.closing_seen and not (
            clause.problem or clause.question or "request" in clause.cues or clause.urgency_rules
        )
        if current is None:
            if opens(clause, topic, None, self.vocab) and not quiet:
                self._open(clause, f"open:{topic.key}")
            elif asked is not None and asked is self.last and asked.block == clause.block:
                # "Any 1-bedrooms coming up? My lease is up in June.": the question's matter
                self._open(clause, f"open:{topic.key} (answers the question before)")
                assert self.current is not None
                self.current.clauses.insert(0, asked)
            else:
                self.lead_in.append(clause)
            return
        reason = starts_new(
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

    def _no_topic(self, clause: Clause) -> None:
        """A clause about nothing in particular: a separator, a detail, or a question."""
        asks = clause.question or "request" in clause.cues
        if "separator" in clause.cues or clause.list_item:
            self.separated = True
        elif self.current is not None:
            self.current.clauses.append(clause)
        elif self.lead_in and self.last is self.lead_in[-1] and (asks or clause.problem):
            # "I moved out in May. When will I get it back?" / "Love the new gym! The rowing
            # machine's seat is broken.": about the matter just described
            lead = self.lead_in.pop()
            self._open(lead, f"open:{lead.top_topic()} (asked about)")
            assert self.current is not None
            self.current.clauses.append(clause)
        elif asks:
            self.open_question = clause

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
    subject_text, is_reply = strip_reply_prefix(subject, vocab)
    subj = clauses(subject_text, vocab, from_subject=True) if subject_text else []
    subject_clause = subj[0] if len(subj) == 1 else None
    splitter = _Splitter(vocab)
    # notes (access, pets, phone, availability) belong to the whole email: no matter of theirs
    body = [c for c in clauses(new_text, vocab) if not is_note_clause(c, vocab)]
    for clause in body:
        splitter.feed(clause)
    items = [i for i in splitter.items if not i.resolved]
    if not splitter.items and not splitter.closing_seen:
        items = _fallback(body)
    if subject_clause is not None and subject_clause.topic_scores:
        if not items and splitter.follow_ups:
            # "Re: Leaking faucet" + "Still not fixed!": a follow-up is a ticket for that issue
            items.append(ActionItem([subject_clause, *splitter.follow_ups], ["open:follow-up"]))
            return items
        allow_alone = not is_reply and (not splitter.closing_seen or splitter.asked)
        _use_subject(items, subject_clause, vocab, allow_alone=allow_alone)
    return items


def _fallback(body: list[Clause]) -> list[ActionItem]:
    """Nothing opened, nothing closed, yet the tenant reports a problem or asks for something
    about a thing we know: one matter from everything said, rather than silently nothing."""
    described = [c for c in body if c.topic_scores]
    wants = any(c.problem or c.question or "request" in c.cues for c in body)
    if not described or not wants:
        return []
    return [ActionItem(described, ["open:fallback (whole email)"])]


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
    strong = subject.topic_scores[name] >= vocab.decisions.thresholds.subject_only
    if opens(subject, vocab.topics[name], None, vocab) or strong:
        items.append(ActionItem([subject], ["open:subject only"]))
