"""Pure pieces of the escalation side: the --due-within duration and the ages mail shows."""

from __future__ import annotations

import argparse
from datetime import timedelta

import pytest

from propdesk.cli._sla import parse_duration
from propdesk.core.notifications import span as _span


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1h", timedelta(hours=1)),
        ("90m", timedelta(minutes=90)),
        ("45min", timedelta(minutes=45)),
        ("2d", timedelta(days=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        (" 1H ", timedelta(hours=1)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "1", "0h", "-1h", "1h 30m", "h"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("delta", "shown"),
    [
        (timedelta(minutes=31, seconds=59), "31 min"),
        (timedelta(hours=2, minutes=5), "2 h 05 min"),
        (timedelta(days=3, hours=4, minutes=10), "3 d 4 h"),
        (timedelta(minutes=-5), "0 min"),
    ],
)
def test_span(delta: timedelta, shown: str) -> None:
    assert _span(delta) == shown
