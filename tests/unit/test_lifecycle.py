"""Lifecycle: every allowed and every refused move, timestamps, notes and events."""

from __future__ import annotations

from datetime import timedelta

import pytest

from propdesk.core.lifecycle import (
    TRANSITIONS,
    EventKind,
    InvalidTransition,
    apply_status_change,
    creation_events,
)
from propdesk.core.models import TicketStatus as S
from propdesk.errors import PropdeskError
from tests.unit.helpers_core import RECEIVED, make_ticket

NOW = RECEIVED + timedelta(minutes=10)

ALLOWED = [(a, b) for a in S for b in TRANSITIONS[a]]
REFUSED = [(a, b) for a in S for b in S if b not in TRANSITIONS[a]]


def test_table_is_the_spec_table() -> None:
    assert {a: set(b) for a, b in TRANSITIONS.items()} == {
        S.NEW: {S.IN_PROGRESS, S.CLOSED},
        S.IN_PROGRESS: {S.PENDING, S.RESOLVED, S.CLOSED},
        S.PENDING: {S.IN_PROGRESS, S.RESOLVED},
        S.RESOLVED: {S.CLOSED, S.IN_PROGRESS},
        S.CLOSED: set(),
    }
    assert len(ALLOWED) == 9
    assert len(REFUSED) == 16


@pytest.mark.parametrize(("old", "new"), ALLOWED, ids=str)
def test_every_allowed_move(old: S, new: S) -> None:
    ticket, events = apply_status_change(
        make_ticket(status=old), new, now=NOW, by="tech@property.com", notes="note"
    )
    assert ticket.status is new
    assert ticket.updated_at == NOW
    assert ticket.status_notes == "note"
    assert events[0].kind is EventKind.STATUS_CHANGED
    assert (events[0].from_status, events[0].to_status) == (old, new)
    assert all(e.by == "tech@property.com" and e.at == NOW and e.notes == "note" for e in events)


@pytest.mark.parametrize(("old", "new"), REFUSED, ids=str)
def test_every_refused_move(old: S, new: S) -> None:
    ticket = make_ticket(status=old)
    with pytest.raises(InvalidTransition) as info:
        apply_status_change(ticket, new, now=NOW, by="x")
    assert isinstance(info.value, PropdeskError)
    assert info.value.allowed == TRANSITIONS[old]
    assert f"cannot move from {old.value} to {new.value}" in str(info.value)


def test_error_lists_the_allowed_moves() -> None:
    with pytest.raises(InvalidTransition, match="allowed from New: In Progress, Closed"):
        apply_status_change(make_ticket(), S.RESOLVED, now=NOW, by="x")
    with pytest.raises(InvalidTransition, match=r"allowed from Closed: none \(it is terminal\)"):
        apply_status_change(make_ticket(status=S.CLOSED), S.NEW, now=NOW, by="x")


def test_full_life_sets_each_timestamp_once() -> None:
    t0 = RECEIVED
    ticket, events = apply_status_change(
        make_ticket(), S.IN_PROGRESS, now=t0 + timedelta(1), by="a"
    )
    assert ticket.started_at == t0 + timedelta(1)
    assert [e.kind for e in events] == [EventKind.STATUS_CHANGED, EventKind.STARTED]
    ticket, events = apply_status_change(ticket, S.PENDING, now=t0 + timedelta(2), by="a")
    assert events[-1].kind is EventKind.PENDING
    ticket, events = apply_status_change(ticket, S.IN_PROGRESS, now=t0 + timedelta(3), by="a")
    assert ticket.started_at == t0 + timedelta(1)  # first response kept (spec would reset it)
    assert len(events) == 1
    ticket, events = apply_status_change(ticket, S.RESOLVED, now=t0 + timedelta(4), by="a")
    assert ticket.resolved_at == t0 + timedelta(4)
    assert events[-1].kind is EventKind.RESOLVED
    ticket, events = apply_status_change(ticket, S.IN_PROGRESS, now=t0 + timedelta(5), by="a")
    assert ticket.resolved_at is None  # reopened
    assert events[-1].kind is EventKind.REOPENED
    ticket, _ = apply_status_change(ticket, S.RESOLVED, now=t0 + timedelta(6), by="a")
    ticket, events = apply_status_change(
        ticket, S.CLOSED, now=t0 + timedelta(7), by="tenant@example.com"
    )
    assert ticket.closed_at == t0 + timedelta(7)
    assert ticket.resolved_at == t0 + timedelta(6)
    assert events[-1].kind is EventKind.CLOSED
    assert ticket.updated_at == t0 + timedelta(7)


def test_notes_are_kept_when_none_given() -> None:
    ticket, _ = apply_status_change(make_ticket(), S.IN_PROGRESS, now=NOW, by="a", notes="on it")
    ticket, events = apply_status_change(ticket, S.PENDING, now=NOW, by="a")
    assert ticket.status_notes == "on it"
    assert events[0].notes is None


def test_status_may_be_given_as_a_string() -> None:
    ticket, _ = apply_status_change(make_ticket(), "In Progress", now=NOW, by="a")  # type: ignore[arg-type]
    assert ticket.status is S.IN_PROGRESS


def test_creation_event() -> None:
    (event,) = creation_events(make_ticket())
    assert (event.kind, event.at, event.by, event.to_status) == (
        EventKind.CREATED,
        RECEIVED,
        "propdesk",
        S.NEW,
    )
