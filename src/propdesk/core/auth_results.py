"""Is the sender's domain authenticated? Read from ``Authentication-Results`` (RFC 8601).

Only the topmost header whose authserv-id is OUR receiving server's counts (the server prepends
its own above whatever the sender wrote): anyone can write an
``Authentication-Results: evil.example; dkim=pass`` header into the mail they send, so a header
under any other authserv-id is ignored. A pass is ``dkim=pass`` with ``header.d`` (or
``header.i``) of the sender's domain, or ``dmarc=pass`` with ``header.from`` of that domain.
Pure: header values in, a verdict and why out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_COMMENT = re.compile(r"\([^()]*\)")
_RESULT = re.compile(r"^\s*(dkim|dmarc)\s*=\s*([a-z]+)\b(.*)$", re.IGNORECASE | re.DOTALL)
_PROPERTY = re.compile(r"\b(header\.(?:d|i|from))\s*=\s*\"?([^\s;\"]+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class AuthVerdict:
    """Whether the sender's domain passed, and which result (or why not), for the log."""

    passed: bool
    reason: str


def _domain_of(value: str) -> str:
    return value.rpartition("@")[2].strip().strip(".").lower()


def sender_authenticated(
    header_values: Iterable[str], authserv_id: str, sender: str
) -> AuthVerdict:
    """``dkim=pass``/``dmarc=pass`` for ``sender``'s domain under ``authserv_id`` only."""
    domain = _domain_of(sender)
    ours = authserv_id.strip().lower()
    if not ours:  # not configured: no header can be ours (an empty id must not match "; dkim=…")
        return AuthVerdict(False, "no authserv_id configured")
    seen_ours = False
    for value in header_values:
        text = _COMMENT.sub(" ", " ".join(value.split()))
        head, _, rest = text.partition(";")
        if head.strip().split(" ")[0].lower() != ours:
            continue  # written by someone else (maybe the sender): ignored
        if seen_ours:
            break  # only the topmost header of ours: our server adds it above any forged one
        seen_ours = True
        for part in rest.split(";"):
            match = _RESULT.match(part)
            if match is None or match.group(2).lower() != "pass":
                continue
            method = match.group(1).lower()
            for found, val in _PROPERTY.findall(match.group(3)):
                prop = found.lower()
                if (
                    method == "dkim"
                    and prop in ("header.d", "header.i")
                    and (_domain_of(val) == domain)
                ):
                    return AuthVerdict(True, f"dkim=pass header.d={domain} by {ours}")
                if method == "dmarc" and prop == "header.from" and _domain_of(val) == domain:
                    return AuthVerdict(True, f"dmarc=pass header.from={domain} by {ours}")
    if not seen_ours:
        return AuthVerdict(False, f"no Authentication-Results from {ours}")
    return AuthVerdict(False, f"no dkim or dmarc pass for {domain} from {ours}")
