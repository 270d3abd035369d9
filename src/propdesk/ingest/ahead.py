"""A batch's messages with their parse + analysis made ahead (in the worker pool, within the
budget), before the batch's transaction begins; or, without a pool, made inside it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from propdesk.core.message import InboundMessage
from propdesk.errors import AnalysisError
from propdesk.ingest.types import Ahead, Analyse, Analysis, Prepare, PrepareAll
from propdesk.mail.imap import FetchedMessage


@dataclass
class Item:
    """One fetched message of a batch and what was prepared for it (None: in the transaction)."""

    msg: FetchedMessage
    ahead: Ahead | AnalysisError | None = None
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        self.sha = hashlib.sha256(self.msg.raw).hexdigest()

    def prepared(self) -> Ahead | None:
        """What was made ahead (an ``AnalysisError`` was quarantined before any transaction)."""
        ahead = self.ahead
        assert not isinstance(ahead, AnalysisError)
        return ahead


def prepared(
    msgs: Sequence[FetchedMessage],
    now: datetime,
    should_stop: Callable[[], bool],
    *,
    prepare: Prepare | None,
    prepare_all: PrepareAll | None,
) -> Generator[Item, None, None]:
    """Each message with its parse + analysis (or the error that ended it), in order; with
    ``prepare_all`` the whole batch is submitted at once. Closing the iterator cancels what the
    workers have not taken yet; a stop request raises ``AnalysisStopped``."""
    if prepare_all is None:
        for msg in msgs:
            if prepare is None:
                yield Item(msg)
                continue
            try:
                ahead = prepare(msg.raw, msg.received_at, now, should_stop)
            except AnalysisError as exc:
                yield Item(msg, exc)
            else:
                yield Item(msg, ahead)
        return
    made = prepare_all([(m.raw, m.received_at) for m in msgs], now, should_stop)
    try:
        for msg in msgs:
            yield Item(msg, next(made))
    finally:
        close = getattr(made, "close", None)
        if close is not None:
            close()


def analysed(ahead: tuple[InboundMessage, Analysis | None], analyse: Analyse) -> Analyse:
    """The analysis made ahead for the message it was made for; any other one is analysed."""
    parsed, analysis = ahead

    def analysed(msg: InboundMessage, received_at: datetime, now: datetime) -> Analysis:
        if msg is parsed and analysis is not None:
            return analysis
        return analyse(msg, received_at, now)

    return analysed
