"""Header values of any length, bounded before they reach a column or an outgoing header.

Senders control every header; a 10k-character Message-ID must not overflow a column or an index
(PostgreSQL refuses btree entries over ~2.7 kB, which rolls the message back). Text headers
(subject, display names) are cut; a Message-ID is never cut (two long ids sharing a prefix would
collide) but replaced by a stable hashed form, so the same long id always maps to the same short
one, on store and on lookup, and threading and duplicate detection keep working.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

#: The domain of ids we make up; ``notify`` never threads to them (they are not the sender's).
SYNTHETIC_DOMAIN = "propdesk.invalid"
#: A Message-ID shape of any length; bound the matches with ``bound_message_id``.
ANY_MSGID_RE = re.compile(r"<[^<>\s]+>")
_SPACES = re.compile(r"\s+")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\]+$")
#: RFC 5321: a forward-path holds at most 256 octets, i.e. 254 for the address itself.
MAX_ADDRESS_CHARS = 254


@dataclass(frozen=True, slots=True)
class HeaderLimits:
    """How long a stored header value may be (``[intake]`` keys of the same names)."""

    max_message_id_chars: int = 250
    max_subject_chars: int = 1000
    max_name_chars: int = 200
    max_references: int = 30


DEFAULT_LIMITS = HeaderLimits()


def limits_of(intake: Any) -> HeaderLimits:
    """The limits an ``[intake]`` config section sets (its keys have the same names)."""
    return HeaderLimits(
        max_message_id_chars=intake.max_message_id_chars,
        max_subject_chars=intake.max_subject_chars,
        max_name_chars=intake.max_name_chars,
        max_references=intake.max_references,
    )


def hashed_message_id(value: str) -> str:
    """The stable short stand-in of an over-long Message-ID (SHA-256 of the whole value)."""
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return f"<sha256.{digest}@{SYNTHETIC_DOMAIN}>"


def bound_message_id(value: str, limit: int) -> str:
    """``value`` when it fits in ``limit`` characters, else its hashed form (never cut)."""
    return value if len(value) <= limit else hashed_message_id(value)


def find_message_ids(text: str, limit: int) -> list[str]:
    """Every ``<id>`` in a header value, each bounded (In-Reply-To, References)."""
    return [bound_message_id(m, limit) for m in ANY_MSGID_RE.findall(text)]


def one_line(value: str, limit: int) -> str:
    """A header text for a column: controls and line breaks become spaces, at most ``limit``
    characters (an ellipsis says it was cut)."""
    text = _SPACES.sub(" ", _CONTROLS.sub(" ", value)).strip()
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def usable_address(address: str) -> bool:
    """An address we can record and answer: one ``@``, no spaces or controls, at most 254."""
    return len(address) <= MAX_ADDRESS_CHARS and bool(_ADDRESS.match(address))
