"""Can a clause open a matter of its own? (A problem, a request, an emergency, a list entry.)

The first question the splitter asks of every clause with a topic, before any matter is open
and again when it weighs a split; its thresholds and category sets come from the rules data.
"""

from __future__ import annotations

from propdesk.core.action_item import ActionItem
from propdesk.core.evidence import Clause
from propdesk.core.vocabulary import Topic, Vocabulary


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


def opens(  # noqa: PLR0911 - a decision table reads best as early returns
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
