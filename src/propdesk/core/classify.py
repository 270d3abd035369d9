"""Classify one action item: category, subcategory, urgency, contractor, and the rules that fired.

Weighted evidence, not first match: every topic phrase adds its weight, scores are summed per
(category, subcategory), the best group wins. Urgency judges the situation: the words "urgent"
or "emergency" carry no weight; situation rules (water through the ceiling, gas smell, no heat,
a door that will not lock, ...) set "1", and a matter with its own problem evidence is never
below "2". Negated phrases ("no fire", "not leaking") do not count.
"""

from __future__ import annotations

from dataclasses import dataclass

from propdesk.core.evidence import Clause
from propdesk.core.items import ActionItem, action_items
from propdesk.core.vocabulary import Topic, UrgencyRule, Vocabulary


@dataclass(frozen=True, slots=True)
class Classification:
    """The decision for one action item."""

    category: str
    subcategory: str | None
    urgency: str
    requires_contractor: bool
    topic: str
    text: str  # the item's own text (its clauses)
    summary: str  # a short description of the matter
    matched_rules: tuple[str, ...]
    confidence: float | None = None  # set by triage (``propdesk.core.triage``); None: rules only
    unsure: tuple[str, ...] = ()  # the decisions triage was unsure of (the ticket needs review)


def _subject_is_about(subject: Clause, topic: Topic, vocab: Vocabulary) -> bool:
    """ "Locked out + fridge": a subject naming several kinds of matter lends its emergency to
    none of them (each item's own text decides), so the lockout does not make the fridge urgent."""
    kinds = {
        (vocab.topics[k].category, vocab.topics[k].subcategory)
        for k, v in subject.topic_scores.items()
        if v >= vocab.decisions.thresholds.subject_kind_min
    }
    return kinds <= {(topic.category, topic.subcategory)}


def _rule_applies(rule: UrgencyRule, topic: Topic) -> bool:
    if rule.categories and topic.category not in rule.categories:
        return False
    return not (rule.subcategories and topic.subcategory not in rule.subcategories)


def _base_urgency(topic: Topic, vocab: Vocabulary) -> str:
    if topic.urgency is not None:
        return topic.urgency
    key = f"{topic.category}/{topic.subcategory}" if topic.subcategory else topic.category
    return vocab.urgency_base.get(key) or vocab.urgency_base.get(topic.category, "3")


def _summary(item: ActionItem, vocab: Vocabulary) -> str:
    limit = vocab.decisions.thresholds.summary_max
    text = item.clauses[0].text.strip()
    if len(text) > limit:
        text = text[: limit - 3].rstrip() + "..."
    return text


def _problem_named(item: ActionItem) -> bool:
    """Something is wrong in the matter (not just a request or a question)."""
    sources = [*item.clauses, *([item.subject] if item.subject is not None else [])]
    # "the mold is still there": a follow-up about an unfixed problem names a problem
    named = any(c.problem or c.urgency_rules or c.cues & {"absence", "still"} for c in sources)
    return named or not any(c.question or "request" in c.cues for c in item.clauses)


def classify_item(item: ActionItem, vocab: Vocabulary) -> Classification:
    """Category, subcategory, urgency and contractor for one action item."""
    topic = item.top_topic(vocab)
    assert topic is not None, "an action item always has a topic"
    rules: list[str] = list(item.reasons)
    scores = item.scores(vocab)
    for name, score in sorted(scores.items(), key=lambda kv: -kv[1])[:3]:
        phrases = [h for c in item.clauses for h in c.topic_hits.get(name, ())]
        rules.append(f"topic:{name}={score:g} [{', '.join(sorted(set(phrases))[:5])}]")
    if item.subject is not None:
        rules.append("subject:reinforces")

    sources = list(item.clauses)
    # a lead-in sentence that already names the matter ("There's a water stain on my ceiling."
    # before "it feels damp") describes the same situation: its emergency words count too
    sources.extend(c for c in item.context if topic.key in c.topic_scores)
    if (
        item.subject is not None
        and topic.category != "Complaint"
        and _subject_is_about(item.subject, topic, vocab)
    ):
        # a subject names the kind of event ("Break-in"), not whether it is happening now
        sources.append(item.subject)
    # "Will the power outage tomorrow affect the elevators?": a planned shutoff asked about is
    # information (README: planned shutoff questions), not an outage happening
    planned = {
        id(c)
        for c in sources
        if topic.category == "Utilities"
        and c.question
        and vocab.decisions.planned_re.search(c.text)
    }
    sources = [c for c in sources if id(c) not in planned]
    fired = [
        rule
        for rule in vocab.urgency_rules
        if any(rule.name in c.urgency_rules for c in sources) and _rule_applies(rule, topic)
    ]
    urgency = _base_urgency(topic, vocab)
    if fired:
        urgency = min(r.level for r in fired)
        rules.extend(f"urgency:{r.name}={r.level}" for r in fired)
    elif topic.category == "Maintenance" and not _problem_named(item):
        # "Could someone install a grab bar?": a request, nothing is broken (README: "3")
        urgency = "3"
        rules.append("urgency:request without a problem=3")
    else:
        rules.append(f"urgency:base={urgency}")
        own = {k for k, t in vocab.topics.items() if t.category == topic.category}
        # an amenity that "won't heat up" is broken even if the words belong to other things
        # (a report, not a question: "When will the pool be heated? It's freezing" stays 3)
        asks = any(c.question or "request" in c.cues for c in item.clauses)
        # a service request ("I need to get rid of a busted bed frame, is there a bulk pickup
        # day?"): problem words of other things describe the junk ("a torn mattress"), not
        # something of ours that is broken; the matter's own problem ("dumped") still raises it
        service_request = topic.category == "Maintenance" and asks
        if service_request:
            own = {k for k, t in vocab.topics.items() if t.subcategory == topic.subcategory}
        if urgency == "3" and any(
            (c.generic_problem and not service_request)
            or c.problem_topics & own
            or (topic.category == "Amenity" and c.problem and not asks)
            for c in item.clauses
            if id(c) not in planned
        ):
            urgency = "2"
            rules.append("urgency:problem evidence=2")

    contractor = False
    if topic.category == "Maintenance":
        if topic.contractor:
            contractor = True
            rules.append(f"contractor:topic {topic.key}")
        cues = sorted({p for c in item.clauses for p in c.contractor})
        if cues:
            contractor = True
            rules.append(f"contractor:{', '.join(cues)}")
    return Classification(
        category=topic.category,
        subcategory=topic.subcategory,
        urgency=urgency,
        requires_contractor=contractor,
        topic=topic.key,
        text=item.text,
        summary=_summary(item, vocab),
        matched_rules=tuple(rules),
    )


def classify_text(subject: str, new_text: str, vocab: Vocabulary) -> list[Classification]:
    """Every action item of one email, classified, in the order the tenant raised them."""
    return [classify_item(item, vocab) for item in action_items(subject, new_text, vocab)]
