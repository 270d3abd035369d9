"""Split an email into action items: one per separate matter the tenant raises.

Walks the clauses in order and decides, for each, whether it continues the current matter or
starts a new one (see ``_starts_new``). Two unrelated problems give two items even in one
category; symptoms of one problem (the leak and the mold it caused) stay one item; thanks,
"never mind, it's fixed" and scheduling confirmations give none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from propdesk.core.evidence import Clause, clauses, thing_words
from propdesk.core.vocabulary import Topic, Vocabulary

_REPLY_PREFIX_RE = re.compile(r"^\s*(?:(?:re|fw|fwd|aw|sv|wg)\s*(?:\[\d+\])?\s*:\s*)+", re.I)


@dataclass
class ActionItem:
    """One matter: its clauses (in order) and why it was split off."""

    clauses: list[Clause] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    resolved: bool = False
    subject: Clause | None = None  # the subject, when it talks about this matter
    context: list[Clause] = field(default_factory=list)  # lead-in clauses of the same paragraph

    def scores(self, vocab: Vocabulary) -> dict[str, float]:
        """Topic scores. The opening clause says what the matter is (x1.5); later symptom
        topics (mold, water damage) count half, so "leak ... and now mold" stays a leak."""
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


def strip_reply_prefix(subject: str) -> tuple[str, bool]:
    """Subject without "Re:"/"Fwd:" prefixes, and whether it had one."""
    m = _REPLY_PREFIX_RE.match(subject)
    if not m:
        return subject.strip(), False
    return subject[m.end() :].strip(), True


def _problem_for(clause: Clause, topic: Topic, vocab: Vocabulary) -> bool:
    """Something is wrong with *this* topic: a generic problem cue, its own problem phrase, or
    a symptom (leak, mold) -- not another thing's problem ("the whole elevator smells")."""
    if clause.generic_problem or "still" in clause.cues or topic.key in clause.problem_topics:
        return True
    return any(vocab.topics[t].attach for t in clause.problem_topics)


def _states_emergency(clause: Clause, vocab: Vocabulary) -> bool:
    """ "We have no water at all.": an emergency said in so many words opens the first matter
    even when its thing is one weak word (absences found only by negation do not count)."""
    return any(
        rule.name in clause.urgency_rules and not rule.when_negated for rule in vocab.urgency_rules
    )


def _opens(  # noqa: PLR0911 - a decision table reads best as early returns
    clause: Clause, topic: Topic, current: ActionItem | None, vocab: Vocabulary
) -> bool:
    """Can this clause open a matter of its own?"""
    d = vocab.decisions
    if clause.topic_scores.get(topic.key, 0.0) < d.thresholds.min_open and not (
        current is None and _states_emergency(clause, vocab)
    ):
        return False
    if d.subordinate_re.match(clause.text) and not clause.problem and not clause.question:
        return False  # "When I plugged in my dryer, the outlet sparked": the dryer is context
    asks = clause.question or "request" in clause.cues
    if clause.urgency_rules:
        return True  # an emergency situation is always a matter
    if clause.list_item and clause.problem and not topic.attach:
        return True  # "- the bedroom door handle came off": the tenant's list names a matter
    if topic.problem_free or topic.category in d.question_categories:
        # "There's a $150 charge on my ledger." is a billing dispute even without a question
        disputed = topic.category == "Payment" and current is None
        # "1) the tap drips ... 2) Separately, my lease is ending.": the tenant announced
        # another matter of another kind; its question may follow in the next sentence
        announced = (
            "separator" in clause.cues
            and current is not None
            and current.clauses[0]
            .topic_scores.keys()
            .isdisjoint(k for k, t in vocab.topics.items() if t.category == topic.category)
        )
        return (
            asks
            or clause.problem
            or announced
            or (disputed and clause.topic_scores[topic.key] >= d.thresholds.disputed_charge)
        )
    if _problem_for(clause, topic, vocab) or asks or "absence" in clause.cues:
        return True
    strong = clause.topic_scores.get(topic.key, 0.0) >= d.thresholds.strong_topic
    # a tenant's list names matters; a complaint's own words are the problem
    return strong and (current is None or clause.in_list or topic.category == "Complaint")


def _about_current(clause: Clause, cur: Topic, vocab: Vocabulary) -> bool:
    """The clause is (nearly) as much about the current matter as about anything else."""
    best = max(clause.topic_scores.values())
    continuity = vocab.decisions.thresholds.continuity
    if clause.topic_scores.get(cur.key, 0.0) >= continuity * best:
        return True
    top = vocab.topics[max(clause.topic_scores.items(), key=lambda kv: kv[1])[0]]
    if (top.category, top.subcategory) == (cur.category, cur.subcategory):
        return False  # another thing of the same kind: the split rules decide
    group = sum(
        v
        for k, v in clause.topic_scores.items()
        if (vocab.topics[k].category, vocab.topics[k].subcategory)
        == (cur.category, cur.subcategory)
    )
    return group >= continuity * best


def _new_thing(clause: Clause, current: ActionItem, vocab: Vocabulary, min_weight: float) -> bool:
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
    return bool(named) and not named & _seen_things(current, vocab)


def _seen_things(current: ActionItem, vocab: Vocabulary) -> set[str]:
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


_CAUSED_BY_RE = re.compile(
    r"\b(?:after|since|because of|due to|from|with)\s+(?:the|that|this|all the|all that)\s+"
    r"(\w+)",
    re.IGNORECASE,
)


_SHOWS_THROUGH_RE = re.compile(
    r"\b(?:drip|leak|seep|soak|pour|trickl|com|run)\w*\s+(?:in\s+|down\s+)?through\s+"
    r"((?:[\w']+\s+){0,3}[\w']+)",
    re.IGNORECASE,
)


_AFTERMATH_RE = re.compile(
    r"^\W*(?:and |so )?(?:now|as a result|because of (?:this|that|it))\b|\bnow\W*$",
    re.IGNORECASE,
)
_OWN_SOURCE_RE = re.compile(
    r"\bfrom (?:upstairs|above|the (?:flat|apartment|unit|floor) above|the ceiling|the roof|"
    r"the (?:flat|apartment|unit) upstairs)\b",
    re.IGNORECASE,
)


def _consequence(clause: Clause, current: ActionItem, vocab: Vocabulary) -> bool:  # noqa: PLR0911
    """A consequence of the current matter, not a new one: water, a puddle or a stain showing
    somewhere else ("dripping through the light fixture below", "a puddle under it"), a device
    that stopped in an outage, or a problem "since the leak". A clearly named other thing
    with its own problem ("the faucet also drips") is still a new matter."""
    d = vocab.decisions
    cur = current.top_topic(vocab)
    if cur is None or clause.list_item or d.announced_re.search(clause.text):
        return False  # "Separately, water is dripping ...": the tenant says it is another matter
    if _OWN_SOURCE_RE.search(clause.text) and cur.subcategory != "plumbing":
        return False  # water "from upstairs" has its own source, not the AC or fridge
    seen = _seen_things(current, vocab)
    for m in _CAUSED_BY_RE.finditer(clause.text):
        if thing_words([m.group(1).lower()], vocab) & seen or m.group(1).lower() in d.causes:
            return True  # "the light has flickered since the leak"
    if (
        not any(h.role.kind == "topic" for h in clause.hits)
        and not clause.question
        and not clause.cues & {"separator", "request"}
        and not clause.conjoined
        and clause.block == current.clauses[-1].block
        and max(clause.topic_scores.values(), default=0.0) < d.thresholds.strong_topic
    ):
        return True  # "Glass everywhere.": a state with no thing of its own describes this one
    if cur.absorbs and current.clauses[0].problem:
        # "the power is out, and the elevator isn't working": devices stop with the power
        # ... but a clogged toilet or a noisy neighbour does not stop with the power
        powered = all(
            vocab.topics[t].category == "Utilities"
            or vocab.topics[t].subcategory in d.powered_subcategories
            for t in clause.problem_topics
        )
        return "separator" not in clause.cues and not clause.question and powered
    # "... and now the floorboards are warped": damage left behind by the current matter
    aftermath = bool(_AFTERMATH_RE.search(clause.text)) and all(
        vocab.topics[t].attach or vocab.topics[t].subcategory == "general_repair"
        for t in clause.problem_topics
    )
    if cur.category != "Maintenance" or not clause.problem_topics:
        return False
    if clause.generic_problem and not aftermath:
        return False
    if not aftermath and not all(vocab.topics[t].attach for t in clause.problem_topics):
        return False
    # "dripping through his bathroom light fixture": where the water shows, not a new thing
    shows = {w.lower() for m in _SHOWS_THROUGH_RE.finditer(clause.text) for w in m.group(1).split()}
    for h in clause.hits:
        if (
            not aftermath
            and h.role.kind == "topic"
            and not h.locative
            and not set(h.words) <= shows
            and not vocab.topics[h.role.name].attach
            and h.role.weight >= d.thresholds.min_open
            and not thing_words(h.words, vocab) & seen
        ):
            return False  # "the bathroom faucet drips": a thing of its own
    return True


def _part_of_whole(clause: Clause, current: ActionItem, vocab: Vocabulary) -> bool:
    """Parts of a thing: "the handle has come loose and the latch doesn't catch" is one door."""
    seen = _seen_things(current, vocab)
    things = {w for h in clause.hits if h.role.kind == "topic" for w in h.words}
    return any(
        whole in seen and bool(things) and things <= parts | {whole}
        for whole, parts in vocab.decisions.whole_parts.items()
    )


def _part_of_appliance(clause: Clause, cur: Topic, vocab: Vocabulary) -> bool:
    """ "ice building up in the freezer and the door won't close": the appliance's door."""
    if cur.subcategory != "appliance" or not clause.conjoined:
        return False
    things = {w for h in clause.hits if h.role.kind == "topic" for w in h.words}
    return bool(things) and things <= vocab.decisions.parts


def _outage_explains(
    clause: Clause, topic: Topic, current: ActionItem, cur: Topic, vocab: Vocabulary
) -> bool:
    """A building-wide outage of the very supply the current matter lacks is that matter's
    cause: the ticket becomes the outage (the item's scores then favour it), not a second one."""
    supply = vocab.decisions.outage_supplies.get(cur.subcategory or "")
    if not topic.absorbs or cur.category != "Maintenance" or supply is None:
        return False
    lacks = any(
        c.problem or c.urgency_rules or "absence" in c.cues for c in [*current.clauses]
    )  # the current matter is itself something missing or stopped, not a clogged sink's detail
    return lacks and any(set(h.words) & supply for h in clause.hits)


def _bare_heat_state(clause: Clause, vocab: Vocabulary) -> bool:
    """ "no heat" with no heater, radiator or thermostat named: ovens and dryers heat too."""
    problems = [h for h in clause.hits if h.role.kind == "problem"]
    return (
        bool(problems)
        and not any(h.role.kind == "topic" for h in clause.hits)
        and all(vocab.topics[h.role.name].subcategory == "hvac" for h in problems)
    )


def _names_same_thing(clause: Clause, current: ActionItem) -> bool:
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


def _second_question(clause: Clause, topic: Topic, cur: Topic, vocab: Vocabulary) -> bool:
    """ "Can I add my partner to the lease? And is there a parking permit list?": after a
    question, a question clearly about another kind of matter is a second question."""
    return (
        (cur.category in vocab.decisions.question_categories or cur.problem_free)
        and (topic.category, topic.subcategory) != (cur.category, cur.subcategory)
        and clause.topic_scores[topic.key] >= vocab.decisions.thresholds.strong_topic
    )


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
    d = vocab.decisions
    th = d.thresholds
    cur = current.top_topic(vocab)
    if cur is None:
        return None
    separator = separated or "separator" in clause.cues or clause.list_item
    if d.back_reference_re.match(clause.text) and not clause.list_item:
        return None  # "It also makes a gurgling sound": the same thing again
    if "merge" in clause.cues:
        return None
    if _consequence(clause, current, vocab):
        return None
    if (
        cur.contractor
        and cur.key in clause.problem_topics
        and not clause.question
        and not after_closing
        and not clause.list_item
    ):
        # a building system's trouble shows at many fixtures: "sewage coming up the floor
        # drain ... my toilet is also gurgling" is one blocked main line
        return None
    if (
        d.feeds.get(cur.key) == topic.subcategory
        and not separator
        and not after_closing
        and not clause.list_item
        and any(c.urgency_rules for c in current.clauses)
    ):
        # "The breaker box is hot and smells of burning. The lights flicker and two outlets
        # died.": a failing panel shows at every circuit it feeds, one matter
        return None
    if (
        not separator
        and not clause.problem
        and clause.urgency_rules
        and clause.topic_scores.get(topic.key, 0.0) < th.strong_topic
        and clause.block == current.clauses[-1].block
        and any(c.urgency_rules for c in current.clauses)
    ):
        # "a burning smell from the panel. The door was warm to the touch.": one more sign of
        # the emergency already reported, about a thing only weakly named
        return None
    if not after_closing and _outage_explains(clause, topic, current, cur, vocab):
        # "The taps stopped working. My neighbour also has no water.": one outage ("also"
        # here means "too", not another matter)
        return None
    if not separator and _part_of_whole(clause, current, vocab):
        return None  # "... the door handle is loose and the latch doesn't catch"
    same_group = (cur.category, cur.subcategory) == (topic.category, topic.subcategory)
    if (
        separator
        and topic.category not in d.question_categories
        and _new_thing(clause, current, vocab, th.clear_thing)
        and (
            _opens(clause, topic, current, vocab)
            # "..., and separately the ceiling light buzzes": announced, named, something wrong
            or (clause.problem and clause.topic_scores[topic.key] >= th.strong_topic)
        )
    ):
        return "split:another thing with its own problem"
    # "Music, people yelling, the door slamming": a complaint lists its nuisances, one matter
    # ("the dog barks all day, and the people upstairs have parties": two, joined by "and")
    listed_nuisance = (
        topic.category == "Complaint"
        and topic.key == cur.key
        and not clause.text.lower().startswith(("and ", "plus ", "also "))
    )
    if (
        clause.second_problem
        and not separator
        and not listed_nuisance
        and _opens(clause, topic, current, vocab)
    ):
        return "split:second problem in one sentence"
    if topic.key == cur.key or (same_group and topic.category in d.question_categories):
        return "split:after resolved matter" if after_closing and current.resolved else None
    if (
        cur.category in d.question_categories
        and topic.category in d.question_categories
        and (not separator or clause.topic_scores[topic.key] < th.question_split_min)
        and not (clause.question and _second_question(clause, topic, cur, vocab))
        and not (  # "Rent portal gives an error. The gym treadmill is broken.": a new report
            clause.problem
            and not clause.question
            and topic.category != cur.category
            and clause.topic_scores[topic.key] >= th.strong_topic
        )
    ):
        return None  # follow-up questions ("Is there a fee?") belong to the question asked
    if not separator and not after_closing:
        first = current.clauses[0]
        if first.in_list and clause.block == first.block:
            return None  # the tenant's own list entry delimits the matter
        if d.back_reference_re.match(clause.text) or _about_current(clause, cur, vocab):
            return None
        if _names_same_thing(clause, current) or _part_of_appliance(clause, cur, vocab):
            return None  # "my oven door hinge is broken and the door won't close"
        last = current.clauses[-1]
        if (
            clause.question
            and not clause.conjoined
            and clause.block == last.block
            and max(clause.topic_scores.values()) <= th.follow_up_question
            and not _second_question(clause, topic, cur, vocab)
        ):
            return None  # "Is the vent clogged?": a question about the matter just described
        weak = max(clause.topic_scores.values()) < th.strong_topic
        if (
            cur.subcategory == "appliance"
            and last.sentence == clause.sentence
            and _bare_heat_state(clause, vocab)
        ):
            return None  # "the oven stays cold, the light comes on but no heat": the oven's heat
        if weak and last.sentence == clause.sentence and not last.from_subject:
            return None  # "..., the lights come on but nothing happens": same sentence, detail
        second = clause.conjoined and clause.problem and not topic.attach
        if topic.attach and cur.category == "Maintenance":
            return None
        # after a symptom (a leak, mould) the next thing is usually its cause ("There's water
        # on the floor. The dishwasher is leaking.") -- unless it is a thing of its own with
        # its own fault ("There's mould in the bathroom. The bedroom door handle is broken.")
        own_fault = (
            (clause.generic_problem or topic.key in clause.problem_topics)
            and not clause.conjoined
            and _new_thing(clause, current, vocab, th.named_thing)
        )
        if (
            cur.attach
            and topic.category == "Maintenance"
            and not clause.in_list
            and not second
            and not own_fault
        ):
            return None
    if not _opens(clause, topic, current, vocab):
        return None
    if after_closing:
        return "split:new matter after a closing remark"
    if separator:
        return "split:list entry" if clause.in_list else "split:separator cue"
    if not same_group:
        if clause.topic_scores[topic.key] < th.weak_split and not clause.urgency_rules:
            return None  # "Kids are sleeping in coats.": one weak phrase is a detail, no matter
        return f"split:different matter ({topic.category}/{topic.subcategory})"
    if (
        clause.conjoined
        and clause.problem
        and not topic.attach
        and clause.topic_scores[topic.key] >= th.strong_topic
    ):
        # "the toilet won't stop running, and the kitchen faucet drips": two problems
        return "split:second problem in one sentence"
    if (
        not clause.conjoined
        and not topic.attach
        and (clause.generic_problem or topic.key in clause.problem_topics)
        and clause.topic_scores[topic.key] >= th.named_thing
        and _new_thing(clause, current, vocab, th.named_thing)
        and not d.pronoun_re.search(clause.text)
    ):
        # "There's mould in the bathroom. The bedroom door handle is broken.": a sentence of
        # its own about another named thing with its own fault, even of the same kind
        return "split:another thing of the same kind"
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
            if _opens(clause, topic, None, self.vocab) and not quiet:
                self._open(clause, f"open:{topic.key}")
            elif asked is not None and asked is self.last and asked.block == clause.block:
                # "Any 1-bedrooms coming up? My lease is up in June.": the question's matter
                self._open(clause, f"open:{topic.key} (answers the question before)")
                assert self.current is not None
                self.current.clauses.insert(0, asked)
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
    subject_text, is_reply = strip_reply_prefix(subject)
    subj = clauses(subject_text, vocab, from_subject=True) if subject_text else []
    subject_clause = subj[0] if len(subj) == 1 else None
    splitter = _Splitter(vocab)
    body = clauses(new_text, vocab)
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
    if _opens(subject, vocab.topics[name], None, vocab) or subject.topic_scores[name] >= (
        vocab.decisions.thresholds.subject_only
    ):
        items.append(ActionItem([subject], ["open:subject only"]))
