"""What the chain is told about a message before it decides: the tickets it names and what the
flood limits need counted (the SQL behind both is in ``propdesk.store``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from propdesk.core.conversation import BODY_MARKER, SUBJECT_TAG, order_refs, ticket_ids_in
from propdesk.core.message import InboundMessage
from propdesk.ingest.chain import IngestLimits
from propdesk.ingest.stages import ticket_refs
from propdesk.store import conversations, ingest_lookups
from propdesk.store.session import Session

#: The flood limits count mail per hour (the window of ``[flood]``'s limits).
FLOOD_WINDOW = timedelta(hours=1)


def flood_query(
    limits: IngestLimits, release: bool, now: datetime
) -> ingest_lookups.FloodQuery | None:
    """What the flood stage needs counted (None: the limits are off or do not apply)."""
    if release or not (limits.per_sender_per_hour or limits.per_mailbox_per_hour):
        return None
    return ingest_lookups.FloodQuery(
        window=FLOOD_WINDOW,
        now=now,
        by_sender=bool(limits.per_sender_per_hour),
        by_mailbox=bool(limits.per_mailbox_per_hour),
        sender_limit=limits.per_sender_per_hour,
        mailbox_limit=limits.per_mailbox_per_hour,
    )


def refs(s: Session, parsed: InboundMessage) -> tuple[tuple[str, ...], dict[str, str]]:
    """Ticket ids the message names: the subject tag, then In-Reply-To/References against
    the Message-IDs we sent and received, then the ``Ref: TKT-…`` body marker."""
    subject = ticket_ids_in(parsed.subject, SUBJECT_TAG)
    headers = [parsed.in_reply_to or "", *reversed(parsed.references)]
    by_header = [
        *ticket_refs(replace(parsed, subject="")),
        *conversations.tickets_of_message_ids(s, headers),
    ]
    body = ticket_ids_in(parsed.body_text, BODY_MARKER)
    matched: dict[str, str] = {}
    for how, ids in (("body", body), ("header", by_header), ("subject", subject)):
        matched.update(dict.fromkeys(ids, how))
    return order_refs(subject, by_header, body), matched
