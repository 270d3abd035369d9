"""Test-only failpoints: die like SIGKILL, or hang like a stuck socket, at a named point.

``PROPDESK_FAILPOINT=before_commit|after_commit[:N][:hang]`` makes the process ``os._exit(137)``
at that point of the N-th message (default the first): no cleanup, no rollback handler, no move.
With ``:hang`` the thread blocks there for ever instead (the watchdog test: a loop that stops
turning must stop sending WATCHDOG=1). Unset (always, outside those tests) a failpoint costs one
environment look-up.
"""

from __future__ import annotations

import os
import threading
from collections import Counter

FAILPOINT_ENV = "PROPDESK_FAILPOINT"
_hits: Counter[str] = Counter()


def failpoint(name: str) -> None:
    """Die (or hang) at ``name`` when ``$PROPDESK_FAILPOINT`` asks for it (tests only)."""
    spec = os.environ.get(FAILPOINT_ENV)
    if not spec:
        return
    point, _, rest = spec.partition(":")
    if point != name:
        return
    nth, _, action = rest.partition(":")
    _hits[name] += 1
    if _hits[name] >= int(nth or "1"):
        if action == "hang":
            threading.Event().wait()
        os._exit(137)
