"""structlog set-up: JSON lines off a TTY (journald), a readable console on one.

Every event is a name plus fields (``ticket_id``, ``email_uid``, ``mailbox`` ...). Per-message
context is bound with ``bind_message_context`` (contextvars), so every event logged while a message
is processed carries it. A last processor masks any field whose name says it is secret, as a
safety net: code must still never pass secrets or whole message bodies to a logger.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, TextIO

import structlog

_SECRET_WORDS = ("password", "passwd", "secret", "token", "authorization", "credential")


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Mask values of fields whose names look secret (``password``, ``oauth_token`` ...)."""
    for key in list(event_dict):
        lowered = key.lower()
        if any(word in lowered for word in _SECRET_WORDS):
            event_dict[key] = "***"
    return event_dict


def configure_logging(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Configure structlog once for the process; safe to call again (tests, CLI)."""
    out = stream if stream is not None else sys.stderr
    if fmt == "auto":
        fmt = "console" if out.isatty() else "json"
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    """A structlog logger carrying the module name as ``logger_name``."""
    return structlog.get_logger(logger_name=name)


@contextmanager
def bind_message_context(**fields: Any) -> Iterator[None]:
    """Bind fields (mailbox, uid, message_id, ticket_id ...) for the duration of a block."""
    tokens = structlog.contextvars.bind_contextvars(**fields)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
