"""Exponential backoff with jitter, one formula for every retry in the daemon."""

from __future__ import annotations

import random
from collections.abc import Callable


def backoff_delay(
    failures: int,
    first: float,
    cap: float,
    jitter: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after the ``failures``-th failure in a row: ``first * 2**(n-1)``, capped,
    then spread over +-20 % so that daemons that failed together do not retry together."""
    delay: float = min(cap, first * 2.0 ** max(0, failures - 1))
    return delay * (0.8 + 0.4 * jitter())
