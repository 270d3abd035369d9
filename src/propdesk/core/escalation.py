"""Escalation policy: small composable conditions, one rule per row of ``[escalation]``.

Why conditions answer "since when?": each condition says from which instant it holds for the
ticket as it is now (or None if it does not hold). ``&`` takes the latest such instant, ``|``
the earliest. So one answer serves both questions the loop asks: is a rule due at ``now``
(``since <= now``), and when could this ticket next become due (the minimum ``since`` over the
rules not yet applied, stored in an indexed column so the pass only reads due tickets).

Unlike the spec's ``check_escalation_rules`` (first match wins, one target), every rule is
independent: a ticket can be due for several, and each is applied once per (ticket, rule) --
the caller passes the names already applied. The supervisor clock starts at ``received_at``
(the spec uses created_at) and is due *at* 30:00, so the "next time" is exact.
Resolved and Closed tickets never escalate.

``plan`` is what one pass decides for one ticket (due rules, the SLA clocks, the near-breach
warning and when to look again); ``propdesk.escalation_service`` records it exactly once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Set
from dataclasses import dataclass
from datetime import datetime, timedelta

from propdesk.core.models import OPEN_STATUSES, Ticket, TicketStatus, Urgency, ensure_utc
from propdesk.core.notifications import EscalationMail
from propdesk.core.policy import EscalationRule, Policy
from propdesk.core.rules import Rules
from propdesk.core.sla import SlaState, sla_status

# SLA kinds, as stored (one breach each per ticket); the spec's two targets per urgency.
SLA_RESPONSE = "response"
SLA_RESOLUTION = "resolution"
SLA_KINDS = (SLA_RESPONSE, SLA_RESOLUTION)

#: Rule name under which the near-breach warning to the assignee is recorded (once per ticket).
SLA_WARNING_RULE = "sla_warning"

# The SLA targets say "within N minutes" (the spec's check_sla_compliance: ``minutes <= target``),
# so a deadline is breached strictly after it; the first breached instant is one tick later.
_TICK = timedelta(microseconds=1)


class Condition(ABC):
    """A test on a ticket that knows since when it holds."""

    @abstractmethod
    def since(self, ticket: Ticket) -> datetime | None:
        """The instant from which this holds for the ticket as it is now; None if it does not."""

    def holds(self, ticket: Ticket, now: datetime) -> bool:
        start = self.since(ticket)
        return start is not None and start <= now

    def __and__(self, other: Condition) -> Condition:
        return AllOf((self, other))

    def __or__(self, other: Condition) -> Condition:
        return AnyOf((self, other))


class Fact(Condition):
    """A fact about the ticket's current fields: holds since receipt, or not at all."""

    @abstractmethod
    def test(self, ticket: Ticket) -> bool:
        """Whether the fact is true of the ticket now."""

    def since(self, ticket: Ticket) -> datetime | None:
        return ticket.received_at if self.test(ticket) else None


@dataclass(frozen=True)
class UrgencyIn(Fact):
    urgencies: frozenset[Urgency]

    def test(self, ticket: Ticket) -> bool:
        return ticket.urgency in self.urgencies


@dataclass(frozen=True)
class StatusIn(Fact):
    statuses: frozenset[TicketStatus]

    def test(self, ticket: Ticket) -> bool:
        return ticket.status in self.statuses


@dataclass(frozen=True)
class RequiresContractor(Fact):
    value: bool = True

    def test(self, ticket: Ticket) -> bool:
        return ticket.metadata.requires_contractor is self.value


@dataclass(frozen=True)
class AfterHours(Fact):
    value: bool = True

    def test(self, ticket: Ticket) -> bool:
        return ticket.metadata.after_hours is self.value


IS_OPEN = StatusIn(OPEN_STATUSES)


@dataclass(frozen=True)
class OlderThan(Condition):
    """At least ``age`` has passed since the mail server received the message."""

    age: timedelta

    def since(self, ticket: Ticket) -> datetime | None:
        return ticket.received_at + self.age


@dataclass(frozen=True)
class AllOf(Condition):
    parts: tuple[Condition, ...]

    def since(self, ticket: Ticket) -> datetime | None:
        starts = [p.since(ticket) for p in self.parts]
        return None if any(s is None for s in starts) else max(s for s in starts if s)


@dataclass(frozen=True)
class AnyOf(Condition):
    parts: tuple[Condition, ...]

    def since(self, ticket: Ticket) -> datetime | None:
        starts = [s for s in (p.since(ticket) for p in self.parts) if s is not None]
        return min(starts) if starts else None


def condition_for(rule: EscalationRule) -> Condition:
    """The rule's conditions ANDed, always with "still open" (Resolved/Closed never escalate)."""
    cond: Condition = IS_OPEN
    if rule.urgency is not None:
        cond = cond & UrgencyIn(rule.urgency)
    if rule.status is not None:
        cond = cond & StatusIn(rule.status)
    if rule.requires_contractor is not None:
        cond = cond & RequiresContractor(rule.requires_contractor)
    if rule.after_hours is not None:
        cond = cond & AfterHours(rule.after_hours)
    if rule.after:
        cond = cond & OlderThan(rule.after)
    return cond


@dataclass(frozen=True, slots=True)
class DueEscalation:
    """One rule due for one ticket: who to tell, why, and since when it was due."""

    ticket_id: str
    rule: str
    target: str
    description: str
    due_at: datetime


def _pending(rules: Rules, already_applied: Set[str]) -> list[EscalationRule]:
    return [r for r in rules.policy.escalations if r.name not in already_applied]


def due_escalations(
    ticket: Ticket, now: datetime, rules: Rules, already_applied: Set[str] = frozenset()
) -> list[DueEscalation]:
    """The rules due for ``ticket`` at ``now`` that have not been applied yet, in rules order."""
    now = ensure_utc(now, "now")
    out: list[DueEscalation] = []
    for rule in _pending(rules, already_applied):
        start = condition_for(rule).since(ticket)
        if start is not None and start <= now:
            out.append(
                DueEscalation(ticket.ticket_id, rule.name, rule.target, rule.description, start)
            )
    return out


def next_escalation_time(
    ticket: Ticket, rules: Rules, already_applied: Set[str] = frozenset()
) -> datetime | None:
    """The earliest instant a not-yet-applied rule is (or becomes) due; None if none can be.

    Valid for the ticket as it is now: recompute after every change to the ticket (a status
    change can make a rule impossible, e.g. the supervisor rule once work has started).
    A time in the past means "due now".
    """
    starts = [condition_for(r).since(ticket) for r in _pending(rules, already_applied)]
    due = [s for s in starts if s is not None]
    return min(due) if due else None


# -- one pass's verdict for one ticket -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """What the policy decided for one ticket at ``now`` (before the database said yes)."""

    escalations: tuple[tuple[str, str, datetime], ...]  # (rule, target, due_at)
    breaches: tuple[tuple[str, datetime], ...]  # (kind, deadline)
    next_at: datetime | None


def plan(
    ticket: Ticket,
    now: datetime,
    rules: Rules,
    *,
    applied: Set[str],
    breached: Set[str],
    warn_before: timedelta,
) -> Plan:
    """The rules due, the SLA clocks that broke, the near-breach warning, and when to look again.

    ``applied`` / ``breached`` are the rules and SLA kinds already recorded for the ticket;
    ``warn_before`` of zero turns the warning off.
    """
    already = frozenset(applied)
    due = [(d.rule, d.target, d.due_at) for d in due_escalations(ticket, now, rules, already)]
    candidates: list[datetime] = []
    after = next_escalation_time(ticket, rules, already | {d[0] for d in due})
    if after is not None:
        candidates.append(after)

    # The SLA clocks are the core's (propdesk.core.sla): a clock that stopped late (work
    # started after the response deadline) counts as breached too, not only "still New".
    breaches: list[tuple[str, datetime]] = []
    clocks = sla_status(ticket, rules.policy, now)
    response_due = clocks.deadlines.response_due
    resolution_due = clocks.deadlines.resolution_due
    if SLA_RESPONSE not in breached:
        if clocks.response is SlaState.BREACHED:
            breaches.append((SLA_RESPONSE, response_due))
        elif clocks.response is not SlaState.MET:
            candidates.append(response_due + _TICK)
    if SLA_RESOLUTION not in breached:
        if clocks.resolution is SlaState.BREACHED:
            breaches.append((SLA_RESOLUTION, resolution_due))
        elif clocks.resolution is not SlaState.MET:
            candidates.append(resolution_due + _TICK)
            if warn_before and SLA_WARNING_RULE not in applied:
                warn_at = resolution_due - warn_before
                if now >= warn_at:
                    due.append((SLA_WARNING_RULE, ticket.assigned_to, warn_at))
                else:
                    candidates.append(warn_at)
    next_at = min(candidates, default=None)
    if next_at is not None and next_at <= now:
        # Defensive: a time already past would make this pass pick the ticket again.
        next_at = now + _TICK
    return Plan(tuple(due), tuple(breaches), next_at)


def escalation_mail(
    rule: str, target: str, due_at: datetime, rules: Rules, warn_before: timedelta
) -> EscalationMail:
    """What the mail of one recorded escalation says: the rule's description; for the
    near-breach warning, the resolution deadline it warns about."""
    if rule == SLA_WARNING_RULE:
        return EscalationMail(
            rule, "Resolution deadline is near", target, due_at, due_at + warn_before
        )
    described = next((r.description for r in rules.policy.escalations if r.name == rule), rule)
    return EscalationMail(rule, described, target, due_at)


@dataclass(frozen=True, slots=True)
class SlaClock:
    """One SLA clock of one ticket, for ``tickets show``."""

    kind: str  # response | resolution
    due_at: datetime
    state: str  # the core's SlaState: met | ok | near_breach | breached


def sla_clocks(ticket: Ticket, policy: Policy, now: datetime, recorded: Set[str]) -> list[SlaClock]:
    """The ticket's two SLA clocks at ``now`` as the core sees them; a breach recorded by a
    pass (``recorded`` kinds) stays breached."""
    clocks = sla_status(ticket, policy, now)

    def clock(kind: str, due: datetime, state: SlaState) -> SlaClock:
        shown = SlaState.BREACHED if kind in recorded else state
        return SlaClock(kind, due, shown.value)

    return [
        clock(SLA_RESPONSE, clocks.deadlines.response_due, clocks.response),
        clock(SLA_RESOLUTION, clocks.deadlines.resolution_due, clocks.resolution),
    ]
