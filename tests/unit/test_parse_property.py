"""Property: parse_message never raises and keeps its output invariants on mutated messages."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from propdesk.core.message import InboundMessage
from propdesk.core.quoting import split_body
from propdesk.mail.html_text import html_to_text
from propdesk.mail.parse import parse_message

DATA = Path(__file__).resolve().parents[1] / "data"
SEEDS = [p.read_bytes() for p in sorted(DATA.glob("*.eml"))]
_SURROGATE = re.compile(r"[\ud800-\udfff]")

# Fragments that stress MIME, charset and header handling when spliced in anywhere.
NASTY = [
    b"\x00",
    b"\r",
    b"\xff\xfe",
    b"\xed\xa0\x80",
    b"=?utf-8?B?broken",
    b"=?x-unknown?Q?caf=E9?=",
    b'Content-Type: multipart/mixed; boundary="X"\n',
    b"Content-Type: text/plain; charset=ks_c_5601-1987\n",
    b"Content-Transfer-Encoding: base64\n",
    b"\n--X\nContent-Type: message/rfc822\n\n",
    b"\n--X--\n",
    b"Date: Tue, 99 Foo 2024 25:61:00 +9999\n",
    b"Date: Fri, 31 Dec 9999 23:59:59 -1200\n",
    b'From: <@>, ,,"" <a@b\n',
    b"Message-ID: \n",
    b"<html><blockquote><div id=divRplyFwdMsg>",
    b"\n> quoted\nOn Mon, Jan 1, 2024, X wrote:\n",
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["insert", "delete", "flip", "truncate", "nasty"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=20))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 40))]
        elif op == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "truncate":
            del data[pos:]
        else:
            data[pos:pos] = draw(st.sampled_from(NASTY))
    return bytes(data)


def _check(msg: InboundMessage, raw: bytes) -> None:
    assert isinstance(msg, InboundMessage)
    assert not any(d.startswith("parse failed") for d in msg.defects), msg.defects
    assert msg.size == len(raw) and len(msg.sha256) == 64
    assert msg.message_id.startswith("<") and msg.message_id.endswith(">")
    texts = [msg.subject, msg.body_text, msg.new_text, msg.quoted_text, msg.signature]
    texts += [v for _, v in msg.headers] + [a.filename for a in msg.attachments]
    for text in texts:
        assert "\x00" not in text and not _SURROGATE.search(text)
    assert msg.date is None or msg.date.utcoffset() == timedelta(0)
    for line in msg.new_text.splitlines():
        assert not line.lstrip().startswith(">")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_messages_parse_without_raising(raw: bytes) -> None:
    msg = parse_message(raw)
    _check(msg, raw)
    assert parse_message(raw) == msg  # deterministic: same bytes, same result


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    _check(parse_message(raw), raw)


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("ab >-_\nOn wrote:Thanks,From:Sent:To:")), max_size=300)
)
def test_split_body_only_moves_lines(text: str) -> None:
    split = split_body(text)
    original = {line.rstrip() for line in text.split("\n")}
    for part in (split.new, split.quoted, split.signature):
        for line in part.split("\n"):
            assert line == "" or line in original


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/=\"' &;#xbrpdivlockquotesyle\n")), max_size=400))
def test_html_to_text_never_raises_and_has_no_markup_sentinels(html: str) -> None:
    text = html_to_text(html)
    assert "\x00" not in text
