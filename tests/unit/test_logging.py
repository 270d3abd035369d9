"""Logging: JSON lines off a TTY, console on one, secrets masked, per-message context bound."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import datetime

import pytest
import structlog
from structlog.testing import capture_logs

from propdesk.logging import bind_message_context, configure_logging, get_logger


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_off_a_tty() -> None:
    out = io.StringIO()
    configure_logging("info", "auto", stream=out)
    get_logger("propdesk.test").info("ticket.created", ticket_id="T-1", items=2)
    (event,) = _lines(out)
    assert event["event"] == "ticket.created"
    assert event["ticket_id"] == "T-1" and event["items"] == 2
    assert event["level"] == "info" and event["logger_name"] == "propdesk.test"
    stamp = datetime.fromisoformat(str(event["timestamp"]).replace("Z", "+00:00"))
    assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0


def test_console_on_a_tty() -> None:
    out = _Tty()
    configure_logging("info", "auto", stream=out)
    get_logger("propdesk.test").info("ticket.created", ticket_id="T-1")
    text = out.getvalue()
    assert "ticket.created" in text and "T-1" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_level_filters() -> None:
    out = io.StringIO()
    configure_logging("warning", "json", stream=out)
    log = get_logger("propdesk.test")
    log.info("quiet")
    log.warning("loud")
    assert [e["event"] for e in _lines(out)] == ["loud"]


def test_secret_fields_are_masked_in_output() -> None:
    out = io.StringIO()
    configure_logging("debug", "json", stream=out)
    get_logger("propdesk.test").warning(
        "imap.login_failed", mailbox="main", password="hunter2-pw", oauth_token="tok-123"
    )
    text = out.getvalue()
    assert "hunter2-pw" not in text and "tok-123" not in text
    (event,) = _lines(out)
    assert event["password"] == "***" and event["mailbox"] == "main"


def test_message_context_is_bound_and_released() -> None:
    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    log = get_logger("propdesk.test")
    with bind_message_context(mailbox="main", uid=7, message_id="<a@b>"):
        log.info("message.parsed")
    log.info("loop.idle")
    parsed, idle = _lines(out)
    assert parsed["mailbox"] == "main" and parsed["uid"] == 7
    assert "uid" not in idle and "mailbox" not in idle


def test_capture_logs_sees_events() -> None:
    """capture_logs (structlog.testing) is how tests assert on events, never a mocked logger."""
    with capture_logs() as logs:
        get_logger("propdesk.test").info("outbox.sent", notification_id=3)
    assert logs == [
        {
            "event": "outbox.sent",
            "notification_id": 3,
            "log_level": "info",
            "logger_name": "propdesk.test",
        }
    ]
