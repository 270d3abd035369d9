"""Does a clause continue the current matter? Consequences, parts, outages, follow-up questions.

"The dishwasher leaks ... the floor is soaked" is one matter, "the faucet also drips" another:
these tests say when a clause that names something else still belongs to the matter before.
"""

from __future__ import annotations

import re

from propdesk.core.action_item import ActionItem, seen_things
from propdesk.core.clauses import thing_words
from propdesk.core.evidence import Clause
from propdesk.core.vocabulary import Topic, Vocabulary


def about_current(clause: Clause, cur: Topic, vocab: Vocabulary) -> bool:
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


def consequence(clause: Clause, current: ActionItem, vocab: Vocabulary) -> bool:  # noqa: PLR0911
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
    seen = seen_things(current, vocab)
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


def part_of_whole(clause: Clause, current: ActionItem, vocab: Vocabulary) -> bool:
    """Parts of a thing: "the handle has come loose and the latch doesn't catch" is one door."""
    seen = seen_things(current, vocab)
    things = {w for h in clause.hits if h.role.kind == "topic" for w in h.words}
    return any(
        whole in seen and bool(things) and things <= parts | {whole}
        for whole, parts in vocab.decisions.whole_parts.items()
    )


def part_of_appliance(clause: Clause, cur: Topic, vocab: Vocabulary) -> bool:
    """ "ice building up in the freezer and the door won't close": the appliance's door."""
    if cur.subcategory != "appliance" or not clause.conjoined:
        return False
    things = {w for h in clause.hits if h.role.kind == "topic" for w in h.words}
    return bool(things) and things <= vocab.decisions.parts


def outage_explains(
    clause: Clause, topic: Topic, current: ActionItem, cur: Topic, vocab: Vocabulary
) -> bool:
    """A building-wide outage of the very supply the current matter lacks is that matter's
    cause: the ticket becomes the outage (the item's scores then favour it), not a second one."""
    supply = vocab.decisions.outage_supplies.get(cur.subcategory or "")
    if not topic.absorbs or cur.category != "Maintenance" or supply is None:
        return False
    # the current matter is itself something missing or stopped, not a clogged sink's detail
    lacks = current.running(vocab).lacks
    return lacks and any(set(h.words) & supply for h in clause.hits)


def bare_heat_state(clause: Clause, vocab: Vocabulary) -> bool:
    """ "no heat" with no heater, radiator or thermostat named: ovens and dryers heat too."""
    problems = [h for h in clause.hits if h.role.kind == "problem"]
    return (
        bool(problems)
        and not any(h.role.kind == "topic" for h in clause.hits)
        and all(vocab.topics[h.role.name].subcategory == "hvac" for h in problems)
    )


def second_question(clause: Clause, topic: Topic, cur: Topic, vocab: Vocabulary) -> bool:
    """ "Can I add my partner to the lease? And is there a parking permit list?": after a
    question, a question clearly about another kind of matter is a second question."""
    return (
        (cur.category in vocab.decisions.question_categories or cur.problem_free)
        and (topic.category, topic.subcategory) != (cur.category, cur.subcategory)
        and clause.topic_scores[topic.key] >= vocab.decisions.thresholds.strong_topic
    )
