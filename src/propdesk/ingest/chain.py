"""The per-message decision as data: named stages run in order by a tiny interpreter.

A stage is a name, a one-line description and a pure check over one message's context that
returns a verdict: ``CONTINUE`` (None: not mine, ask the next stage) or a final ``Decision``.
The first decision wins (GNU Mailman's chains, without its ``msgdata`` side effects). Everything a
stage needs is in the context, looked up before the chain runs, so a stage is tested alone with
plain values and never touches the database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from propdesk.core.conversation import ConversationPolicy, ReplyPlan
from propdesk.core.message import InboundMessage
from propdesk.core.models import Ticket
from propdesk.errors import PropdeskError
from propdesk.ingest.types import Analyse, DirectoryFill, no_fill
from propdesk.logging import get_logger
from propdesk.store.records import Lookups

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """The limits stages enforce (``[flood]`` and ``[intake]`` of the config); 0 turns one off."""

    per_sender_per_hour: int = 0
    per_mailbox_per_hour: int = 0
    max_forward_depth: int = 3


@dataclass(frozen=True, slots=True)
class MessageContext:
    """One message as the stages see it: parsed, described, and what the store knows of it."""

    mailbox: str
    sha256: str
    sender: str | None  # the sender's address as recorded
    parsed: InboundMessage
    refs: tuple[str, ...]  # ticket ids the message refers to, most exact first
    received_at: datetime  # IMAP INTERNALDATE: SLA clocks start here
    now: datetime  # one clock reading for everything this message causes
    lookups: Lookups
    staff: frozenset[str]  # lower-case addresses the rules send work to, and our own
    analyse: Analyse  # the core pipeline (action items -> tickets)
    conversation: ConversationPolicy | None = None  # None: replies are plain comments
    fill: DirectoryFill = no_fill  # what the sender's directory entry adds to each ticket
    limits: IngestLimits = field(default_factory=IngestLimits)
    release: bool = False  # ``reprocess --held``: the flood limits let this message through


#: The outcomes a stage can decide (``skipped`` and ``processing_error`` quarantines are the
#: service's). ``quarantined`` and ``held_flood`` keep the raw bytes.
Outcome = Literal["duplicate", "ignored", "comment", "ticketed", "quarantined", "held_flood"]
#: Outcomes whose raw bytes are kept (for ``propdesk reprocess`` and ``reprocess --held``).
KEEP_RAW: frozenset[str] = frozenset({"quarantined", "held_flood"})


@dataclass(frozen=True, slots=True)
class Decision:
    """A message's final outcome and what persisting it needs.

    ``outcome``: see ``Outcome``. ``detail``: what a quarantine or hold says beyond its reason
    (stored as the row's error); ``duplicate_of``: the earlier message's id; ``ticket_pk``: the
    ticket a comment joins; ``tickets``: the tickets to create; ``notify``: a hold that staff must
    be told about (the first of its window). ``stage``: the stage that decided (filled by the
    interpreter). Conversations add ``reply`` (what a reply does to ``ticket_pk``, or to
    ``related_ticket_pk`` for new linked tickets) and ``parsed`` (the message as persisted, when
    a stage cleaned it, e.g. a stranger's).
    """

    outcome: Outcome
    reason: str | None = None
    detail: str | None = None
    notify: bool = False
    duplicate_of: int | None = None
    ticket_pk: int | None = None
    tickets: tuple[Ticket, ...] = ()
    stage: str = ""
    reply: ReplyPlan | None = None
    related_ticket_pk: int | None = None
    parsed: InboundMessage | None = None


#: A stage's answer: a final decision, or ``CONTINUE`` to let the next stage decide.
Verdict = Decision | None
CONTINUE: Verdict = None


@dataclass(frozen=True, slots=True)
class Stage:
    """One named decision of the chain."""

    name: str
    description: str
    check: Callable[[MessageContext], Verdict]


class UndecidedError(PropdeskError):
    """No stage of the chain decided the message (the last stage must always decide)."""


def decide(stages: Sequence[Stage], ctx: MessageContext) -> Decision:
    """Run ``stages`` in order until one decides; log each stage's name as it runs."""
    for stage in stages:
        log.debug("ingest.stage", stage=stage.name)
        verdict = stage.check(ctx)
        if verdict is not None:
            return replace(verdict, stage=stage.name)
    raise UndecidedError(f"no stage decided ({', '.join(s.name for s in stages)})")
