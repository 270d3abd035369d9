"""Loop safety: addresses we never mail, whatever a ticket or a template says.

Mailing a bounce address or ourselves is how mail loops start: a bounce to mailer-daemon bounces
back, an acknowledgement to our own mailbox becomes a new ticket that is acknowledged again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from propdesk.mail.compose import valid_address

# Local parts that belong to software or to postmasters, never to a tenant or a colleague.
_ROBOT_LOCAL_RE = re.compile(
    r"^(mailer-daemon|mailer_daemon|mailerdaemon|postmaster|abuse|hostmaster|webmaster|"
    r"no[-_.]?reply|do[-_.]?not[-_.]?reply|bounces?|bounces?[-+].*|.*[-+]bounces?|"
    r"listserv|majordomo|owner-.*|.*-owner|.*-request|root|daemon)$",
    re.IGNORECASE,
)


class RecipientPolicy:
    """Decides whether an address may receive mail from us at all."""

    def __init__(self, own_addresses: Iterable[str]) -> None:
        self._own = frozenset(a.strip().lower() for a in own_addresses if a.strip())

    def refusal(self, address: str) -> str | None:
        """Why ``address`` must not be mailed, or None when it may be."""
        addr = address.strip().lower()
        if not valid_address(addr):
            return f"not a plain address: {addr!r}"
        local = addr.rpartition("@")[0]
        if _ROBOT_LOCAL_RE.match(local):
            return f"automated address {addr}"
        if addr in self._own:
            return f"our own address {addr}"
        return None
