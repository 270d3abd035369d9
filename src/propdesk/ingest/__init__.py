"""Ingest: one IMAP message -> one recorded outcome, exactly once.

The map of the package (each module small and about one thing):
- ``types``: what the service is given and answers (``Analysis``, ``IngestHook``, ``Result``);
- ``chain``: ``Stage``, ``MessageContext``, ``Decision`` and the interpreter ``decide``;
- ``stages``: the built-in stages in order (``STAGES``): duplicate -> unreadable -> not a
  ticket -> no sender -> flood -> thread -> staff mail -> forward depth -> analyse; a new stage
  is one entry there;
- ``persist``: the last stage, writing decided messages (a batch) and running the hooks;
- ``service``: ``IngestService``: transactions, quarantine, reprocess;
- ``failpoints``: test-only crash points.
SQL lives in ``propdesk.store.ingest_repo``; the hooks are listed in ``propdesk.app``.
"""

from propdesk.ingest.chain import (
    CONTINUE,
    KEEP_RAW,
    Decision,
    IngestLimits,
    MessageContext,
    Stage,
    UndecidedError,
    Verdict,
    decide,
)
from propdesk.ingest.failpoints import FAILPOINT_ENV, failpoint
from propdesk.ingest.persist import Decided, Persist
from propdesk.ingest.service import IngestService
from propdesk.ingest.stages import STAGES, ticket_refs
from propdesk.ingest.types import (
    Analyse,
    Analysis,
    DueDates,
    IngestHook,
    NewTicketId,
    Parse,
    Result,
)

__all__ = [
    "CONTINUE",
    "FAILPOINT_ENV",
    "KEEP_RAW",
    "STAGES",
    "Analyse",
    "Analysis",
    "Decided",
    "Decision",
    "DueDates",
    "IngestHook",
    "IngestLimits",
    "IngestService",
    "MessageContext",
    "NewTicketId",
    "Parse",
    "Persist",
    "Result",
    "Stage",
    "UndecidedError",
    "Verdict",
    "decide",
    "failpoint",
    "ticket_refs",
]
