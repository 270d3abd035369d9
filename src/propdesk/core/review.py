"""Doubt as a feature: the review threshold ops may set, and the triage mail a needs-review
ticket sends to the triage address besides its assignee's.

A ticket needs review when one of its decisions (``ticket``, ``category``, ``urgency``,
``contractor``) has a model probability below the review threshold: the model's calibrated
``confident``, or ``[triage] review_below`` (ops trade review work against missed doubt). The
reasons in words are ``propdesk.core.doubt``'s. Pure, like all of core/.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from propdesk.core.models import Ticket, Urgency
from propdesk.core.notifications import STAFF, Planned, ticket_context
from propdesk.core.policy import SlaTarget
from propdesk.core.rules import Rules

#: The outbox kind (and template) of the mail to the triage address.
REVIEW_KIND = "triage_review"


def with_review_below(rules: Rules, review_below: float | None) -> Rules:
    """``rules`` whose triage model counts a decision below ``review_below`` as unsure (None:
    the model's calibrated threshold). Rules without a model are returned as they are."""
    model = rules.triage
    if review_below is None or model is None:
        return rules
    thresholds = dataclasses.replace(model.thresholds, confident=review_below)
    return dataclasses.replace(rules, triage=dataclasses.replace(model, thresholds=thresholds))


def review_key(ticket_id: str) -> str:
    """The outbox ``dedupe_key`` of a ticket's triage mail: one per ticket, whatever replays."""
    return f"{REVIEW_KIND}:{ticket_id}"


def plan_review(
    tickets: Sequence[Ticket], address: str, sla: Mapping[Urgency, SlaTarget]
) -> list[Planned]:
    """One triage mail per needs-review ticket to ``address``: none when it is empty, or when it
    is the ticket's assignee (whose own mail already shows the doubt)."""
    wanted = address.strip().lower()
    if not wanted:
        return []
    return [
        Planned(
            kind=REVIEW_KIND,
            audience=STAFF,
            recipient=wanted,
            ticket_ids=(t.ticket_id,),
            context={"tickets": [ticket_context(t, sla)]},
            dedupe_key=review_key(t.ticket_id),
        )
        for t in tickets
        if t.metadata.needs_review and t.assigned_to.strip().lower() != wanted
    ]
