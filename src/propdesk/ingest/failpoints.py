"""Test-only failpoints: die like SIGKILL at a named point, to prove exactly-once under crashes.

``PROPDESK_FAILPOINT=before_commit|after_commit[:N]`` makes the process ``os._exit(137)`` at that
point of the N-th message (default the first): no cleanup, no rollback handler, no move.
Unset (always, outside the crash tests) a failpoint costs one environment look-up.
"""

from __future__ import annotations

import os
from collections import Counter

FAILPOINT_ENV = "PROPDESK_FAILPOINT"
_hits: Counter[str] = Counter()


def failpoint(name: str) -> None:
    """Die like SIGKILL at ``name`` when ``$PROPDESK_FAILPOINT`` asks for it (tests only)."""
    spec = os.environ.get(FAILPOINT_ENV)
    if not spec:
        return
    point, _, nth = spec.partition(":")
    if point != name:
        return
    _hits[name] += 1
    if _hits[name] >= int(nth or "1"):
        os._exit(137)
