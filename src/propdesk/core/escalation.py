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
from functools import lru_cache
from typing import NamedTuple, Protocol

from propdesk.core.models import OPEN_STATUSES, Ticket, TicketStatus, Urgency, ensure_utc
from propdesk.core.notifications import EscalationMail
from propdesk.core.policy import EscalationRule, Policy
from propdesk.core.rules import Rules
from propdesk.core.sla import Clocked, SlaState, sla_status

# SLA kinds, as stored (one breach each per ticket); the spec's two targets per urgency.
SLA_RESPONSE = "response"
SLA_RESOLUTION = "resolution"
SLA_KINDS = (SLA_RESPONSE, SLA_RESOLUTION)

#: Rule name under which the near-breach warning to the assignee is recorded (once per ticket).
SLA_WARNING_RULE = "sla_warning"

# The SLA targets say "within N minutes" (the spec's check_sla_compliance: ``minutes <= target``),
# so a deadline is breached strictly after it; the first breached instant is one tick later.
_TICK = timedelta(microseconds=1)


class Flags(Protocol):
    """The two metadata facts escalation rules test."""

    @property
    def requires_contractor(self) -> bool: ...
    @property
    def after_hours(self) -> bool: ...


class Subject(Clocked, Protocol):
    """What planning reads of a ticket: a core ``Ticket``, or an ``EscalationFacts``."""

    @property
    def status(self) -> TicketStatus: ...
    @property
    def assigned_to(self) -> str: ...
    @property
    def metadata(self) -> Flags: ...


class RuleFlags(NamedTuple):
    requires_contractor: bool
    after_hours: bool


class EscalationFacts(NamedTuple):
    """The few columns of a ticket planning reads. Why not the whole ticket: a pass over 100,000
    due tickets loads these for each, and the whole ticket only for those it mails about (a
    tuple: built 100,000 times, where a frozen dataclass's ``__init__`` was measurably slower)."""

    ticket_id: str
    urgency: Urgency
    status: TicketStatus
    received_at: datetime
    started_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    assigned_to: str
    metadata: RuleFlags


class Condition(ABC):
    """A test on a ticket that knows since when it holds."""

    @abstractmethod
    def since(self, ticket: Subject) -> datetime | None:
        """The instant from which this holds for the ticket as it is now; None if it does not."""

    def holds(self, ticket: Subject, now: datetime) -> bool:
        start = self.since(ticket)
        return start is not None and start <= now

    def __and__(self, other: Condition) -> Condition:
        return AllOf((self, other))

    def __or__(self, other: Condition) -> Condition:
        return AnyOf((self, other))


class Fact(Condition):
    """A fact about the ticket's current fields: holds since receipt, or not at all."""

    @abstractmethod
    def test(self, ticket: Subject) -> bool:
        """Whether the fact is true of the ticket now."""

    def since(self, ticket: Subject) -> datetime | None:
        return ticket.received_at if self.test(ticket) else None


@dataclass(frozen=True)
class UrgencyIn(Fact):
    urgencies: frozenset[Urgency]

    def test(self, ticket: Subject) -> bool:
        return ticket.urgency in self.urgencies


@dataclass(frozen=True)
class StatusIn(Fact):
    statuses: frozenset[TicketStatus]

    def test(self, ticket: Subject) -> bool:
        return ticket.status in self.statuses


@dataclass(frozen=True)
class RequiresContractor(Fact):
    value: bool = True

    def test(self, ticket: Subject) -> bool:
        return ticket.metadata.requires_contractor is self.value


@dataclass(frozen=True)
class AfterHours(Fact):
    value: bool = True

    def test(self, ticket: Subject) -> bool:
        return ticket.metadata.after_hours is self.value


IS_OPEN = StatusIn(OPEN_STATUSES)


@dataclass(frozen=True)
class OlderThan(Condition):
    """At least ``age`` has passed since the mail server received the message."""

    age: timedelta

    def since(self, ticket: Subject) -> datetime | None:
        return ticket.received_at + self.age


@dataclass(frozen=True)
class AllOf(Condition):
    parts: tuple[Condition, ...]

    def since(self, ticket: Subject) -> datetime | None:
        latest: datetime | None = None
        for part in self.parts:
            start = part.since(ticket)
            if start is None:
                return None  # one part that never holds: the whole never holds
            if latest is None or start > latest:
                latest = start
        return latest


@dataclass(frozen=True)
class AnyOf(Condition):
    parts: tuple[Condition, ...]

    def since(self, ticket: Subject) -> datetime | None:
        starts = [s for s in (p.since(ticket) for p in self.parts) if s is not None]
        return min(starts) if starts else None


@lru_cache(maxsize=256)
def condition_for(rule: EscalationRule) -> Condition:
    """The rule's conditions ANDed, always with "still open" (Resolved/Closed never escalate).

    Built once per rule (cached) and flat (one ``AllOf``): a pass evaluates it for every due
    ticket."""
    parts: list[Condition] = [IS_OPEN]
    if rule.urgency is not None:
        parts.append(UrgencyIn(rule.urgency))
    if rule.status is not None:
        parts.append(StatusIn(rule.status))
    if rule.requires_contractor is not None:
        parts.append(RequiresContractor(rule.requires_contractor))
    if rule.after_hours is not None:
        parts.append(AfterHours(rule.after_hours))
    if rule.after:
        parts.append(OlderThan(rule.after))
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


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
    ticket: Subject, now: datetime, rules: Rules, already_applied: Set[str] = frozenset()
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
    ticket: Subject, rules: Rules, already_applied: Set[str] = frozenset()
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


def _compiled(policy: Policy) -> list[tuple[str, str, Condition]]:
    """(name, target, condition) of every escalation rule, built once per policy."""
    hit = _COMPILED.get(id(policy))
    if hit is None or hit[0] is not policy:
        hit = (policy, [(r.name, r.target, condition_for(r)) for r in policy.escalations])
        _COMPILED.clear()  # one live policy at a time (a reload replaces it)
        _COMPILED[id(policy)] = hit
    return hit[1]


_COMPILED: dict[int, tuple[Policy, list[tuple[str, str, Condition]]]] = {}


def _rules_due(
    ticket: Subject, now: datetime, policy: Policy, applied: Set[str]
) -> tuple[list[tuple[str, str, datetime]], list[datetime]]:
    """The rules not applied yet that are due at ``now`` (rule, target, since), and the
    instants the others become due."""
    due: list[tuple[str, str, datetime]] = []
    later: list[datetime] = []
    for name, target, condition in _compiled(policy):
        if name in applied:
            continue
        start = condition.since(ticket)
        if start is None:
            continue
        if start <= now:
            due.append((name, target, start))
        else:
            later.append(start)
    return due, later


def plan(
    ticket: Subject,
    now: datetime,
    rules: Rules,
    *,
    applied: Set[str],
    breached: Set[str],
    warn_before: timedelta,
) -> Plan:
    """The rules due, the SLA clocks that broke, the near-breach warning, and when to look again.

    ``applied`` / ``breached`` are the rules and SLA kinds already recorded for the ticket;
    ``warn_before`` of zero turns the warning off. Each rule's condition is evaluated once: a
    rule not due yet is a candidate for the next look (what ``next_escalation_time`` gives).
    """
    now = ensure_utc(now, "now")
    due, candidates = _rules_due(ticket, now, rules.policy, applied)

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
