"""Test-only failpoints: die like SIGKILL, or hang like a stuck socket, at a named point.

``PROPDESK_FAILPOINT=before_commit|after_commit|mid_move[:N][:hang]`` makes the process
``os._exit(137)`` at that point of the N-th message (default the first): no cleanup, no rollback
handler, no move. N counts messages, not transactions: ingest commits a batch at once, so
``before_commit:3`` dies before the commit of the batch that holds the 3rd message (nothing of
that batch is recorded) and ``after_commit:3`` after it (all of it recorded, none of it moved).
``mid_move`` dies between the moves of one batch (to the processed folder, then to the failed
and held folders).
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


def failpoint(name: str, messages: int = 1) -> None:
    """Die (or hang) at ``name`` when ``$PROPDESK_FAILPOINT`` asks for it (tests only);
    ``messages``: how many messages pass this point at once (a batch)."""
    spec = os.environ.get(FAILPOINT_ENV)
    if not spec:
        return
    point, _, rest = spec.partition(":")
    if point != name:
        return
    nth, _, action = rest.partition(":")
    _hits[name] += messages
    if _hits[name] >= int(nth or "1"):
        if action == "hang":
            threading.Event().wait()
        os._exit(137)
