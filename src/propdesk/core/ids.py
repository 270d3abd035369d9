"""Ticket ids: ``TKT-`` + 8 upper-case hex digits from an injected random source.

Why random and injected: an id derived from the message would leak or collide predictably, and a
random source passed in keeps tests deterministic. The store owns uniqueness (a unique constraint
and a retry with a fresh id on a clash); 32 bits make clashes rare, not impossible.
"""

from __future__ import annotations

from collections.abc import Callable

#: Returns n random bytes, e.g. ``secrets.token_bytes`` (or a seeded fake in tests).
RandomBytes = Callable[[int], bytes]


def new_ticket_id(random_bytes: RandomBytes) -> str:
    """A fresh ticket id such as ``TKT-A1B2C3D4``."""
    raw = random_bytes(4)
    if len(raw) != 4:
        raise ValueError(f"random source returned {len(raw)} bytes, expected 4")
    return "TKT-" + raw.hex().upper()
