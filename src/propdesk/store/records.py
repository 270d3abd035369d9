"""Plain records the store hands to the ingest stages (no SQLAlchemy, so stages stay pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from propdesk.core.conversation import ThreadTicket
from propdesk.core.tenants import TenantRecord


@dataclass(frozen=True, slots=True)
class EarlierMessage:
    """A recorded message that a new one repeats (same bytes, or same Message-ID and sender)."""

    id: int
    mailbox: str
    sha256: str | None


@dataclass(frozen=True, slots=True)
class FloodCounts:
    """Recent mail for the flood limits: messages in the hour before this one (by INTERNALDATE)
    from the same sender and into the same mailbox, and whether staff were told this hour."""

    sender_recent: int = 0
    mailbox_recent: int = 0
    sender_notified: bool = False
    mailbox_notified: bool = False


@dataclass(frozen=True, slots=True)
class Lookups:
    """What the store knows about one message before its stages run.

    ``earlier``: the first recorded message it repeats, if any. ``tickets``: of the ticket ids the
    message refers to, those that exist (ticket id -> row key). ``tenant``: the requester's entry
    of the tenant directory, if any. ``flood``: the flood counts (zero when the limits are off).
    ``thread``: the first referred ticket (subject tag, then In-Reply-To/References, then the body
    marker), locked ``FOR UPDATE`` until the message's transaction ends, with whether the sender
    is a co-tenant of its unit.
    """

    earlier: EarlierMessage | None = None
    tickets: Mapping[str, int] = field(default_factory=dict)
    tenant: TenantRecord | None = None
    flood: FloodCounts = field(default_factory=FloodCounts)
    thread: ThreadTicket | None = None
