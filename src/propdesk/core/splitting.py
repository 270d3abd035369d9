"""The split decision: does a clause start a new action item, and why (a ``split:`` reason)?

A decision table read top to bottom: the reasons to continue the current matter first
(back-reference, merge cue, consequence, part of the same thing), then the reasons to split.
"""

from __future__ import annotations

from propdesk.core.action_item import ActionItem, names_same_thing, new_thing
from propdesk.core.continuation import (
    about_current,
    bare_heat_state,
    consequence,
    outage_explains,
    part_of_appliance,
    part_of_whole,
    second_question,
)
from propdesk.core.evidence import Clause
from propdesk.core.opening import opens
from propdesk.core.vocabulary import Topic, Vocabulary


def starts_new(  # noqa: PLR0911, PLR0912 - a decision table reads best as early returns
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
    if consequence(clause, current, vocab):
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
        and current.running(vocab).urgent
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
        and current.running(vocab).urgent
    ):
        # "a burning smell from the panel. The door was warm to the touch.": one more sign of
        # the emergency already reported, about a thing only weakly named
        return None
    if not after_closing and outage_explains(clause, topic, current, cur, vocab):
        # "The taps stopped working. My neighbour also has no water.": one outage ("also"
        # here means "too", not another matter)
        return None
    if not separator and part_of_whole(clause, current, vocab):
        return None  # "... the door handle is loose and the latch doesn't catch"
    same_group = (cur.category, cur.subcategory) == (topic.category, topic.subcategory)
    if (
        separator
        and topic.category not in d.question_categories
        and new_thing(clause, current, vocab, th.clear_thing)
        and (
            opens(clause, topic, current, vocab)
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
        and opens(clause, topic, current, vocab)
    ):
        return "split:second problem in one sentence"
    if topic.key == cur.key or (same_group and topic.category in d.question_categories):
        return "split:after resolved matter" if after_closing and current.resolved else None
    if (
        cur.category in d.question_categories
        and topic.category in d.question_categories
        and (not separator or clause.topic_scores[topic.key] < th.question_split_min)
        and not (clause.question and second_question(clause, topic, cur, vocab))
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
        if d.back_reference_re.match(clause.text) or about_current(clause, cur, vocab):
            return None
        if names_same_thing(clause, current, vocab) or part_of_appliance(clause, cur, vocab):
            return None  # "my oven door hinge is broken and the door won't close"
        last = current.clauses[-1]
        if (
            clause.question
            and not clause.conjoined
            and clause.block == last.block
            and max(clause.topic_scores.values()) <= th.follow_up_question
            and not second_question(clause, topic, cur, vocab)
        ):
            return None  # "Is the vent clogged?": a question about the matter just described
        weak = max(clause.topic_scores.values()) < th.strong_topic
        if (
            cur.subcategory == "appliance"
            and last.sentence == clause.sentence
            and bare_heat_state(clause, vocab)
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
            and new_thing(clause, current, vocab, th.named_thing)
        )
        if (
            cur.attach
            and topic.category == "Maintenance"
            and not clause.in_list
            and not second
            and not own_fault
        ):
            return None
    if not opens(clause, topic, current, vocab):
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
        and new_thing(clause, current, vocab, th.named_thing)
        and not d.pronoun_re.search(clause.text)
    ):
        # "There's mould in the bathroom. The bedroom door handle is broken.": a sentence of
        # its own about another named thing with its own fault, even of the same kind
        return "split:another thing of the same kind"
    return None
