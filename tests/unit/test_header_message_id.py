"""Housekeeping reads only the header of processed mail: the Message-ID it derives there must be
the one ``parse_message`` stored for the whole message, or None when that was synthetic."""

from __future__ import annotations

from pathlib import Path

import pytest

from propdesk.mail.header_limits import SYNTHETIC_DOMAIN
from propdesk.mail.parse import header_message_id, parse_message

DATA = Path(__file__).resolve().parents[1] / "data"


def _header(raw: bytes) -> bytes:
    """What IMAP's BODY[HEADER] returns: up to and including the first blank line."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        if sep in raw:
            return raw[: raw.index(sep) + len(sep)]
    return raw


@pytest.mark.parametrize("path", sorted(DATA.glob("*.eml")), ids=lambda p: p.stem)
def test_the_header_alone_gives_the_stored_message_id(path: Path) -> None:
    raw = path.read_bytes()
    stored = parse_message(raw).message_id
    from_header = header_message_id(_header(raw))
    if (
        stored.startswith("<")
        and stored.endswith(f"@{SYNTHETIC_DOMAIN}>")
        and "sha256." not in stored
    ):
        assert from_header is None  # synthetic: only the whole message's hash gives it
    else:
        assert from_header == stored


def test_an_over_long_message_id_is_hashed_the_same_way() -> None:
    long_id = "<" + "x" * 400 + "@example.org>"
    raw = f"From: a@example.org\nMessage-ID: {long_id}\nSubject: s\n\nbody\n".encode()
    assert header_message_id(_header(raw), 250) == parse_message(raw).message_id
    assert header_message_id(b"From: a@example.org\n\n") is None
