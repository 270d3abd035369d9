"""The one clock: wall time (tz-aware UTC) and a monotonic timer, handed out by ``propdesk.app``.

Everything that asks "what time is it?" or "how long did this take?" gets a ``Clock`` from the
composition root, so tests set the hour of day and the passing of time instead of depending on
the machine's clock or its load.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

Now = Callable[[], datetime]
Monotonic = Callable[[], float]


def utc_now() -> datetime:
    """The machine's wall clock, tz-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Clock:
    """Wall time for timestamps and deadlines, a monotonic timer for budgets and intervals."""

    now: Now = utc_now
    monotonic: Monotonic = time.monotonic


SYSTEM_CLOCK = Clock()
