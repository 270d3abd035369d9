"""Robustness run over ../shared/corpus/realworld/: every message parses, and each test asserts
something true about it, chosen from the MANIFEST.tsv ``kind`` tags (not per-file answers).

Pure (no services), so it lives with the unit tests; skipped with a reason when ../shared is
absent. Counts per outcome are printed at the end of the session (run with ``-s`` or ``-rA``).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from propdesk.core.message import InboundMessage, NotTicketReason
from propdesk.mail.parse import parse_message
from tests.shared import in_ci, require_shared

REPO = Path(__file__).resolve().parents[2]
CORPUS = (REPO / ".." / "shared" / "corpus" / "realworld").resolve()
OUTCOMES: Counter[str] = Counter()


def _manifest() -> dict[str, set[str]]:
    path = CORPUS / "MANIFEST.tsv"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", newline="") as fh:
        rows = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        return {row["path"]: set(filter(None, row["kind"].split(","))) for row in rows}


KINDS = _manifest()
FILES = sorted(
    p.relative_to(CORPUS).as_posix()
    for p in (CORPUS.rglob("*") if CORPUS.is_dir() else [])
    if p.is_file() and p.name not in ("README.md", "MANIFEST.tsv")
)
pytestmark = pytest.mark.skipif(
    not FILES and not in_ci(),
    reason=f"shared realworld corpus not found at {CORPUS} (../shared is absent)",
)


def test_the_corpus_is_there() -> None:
    """In CI a missing ../shared is a failure, not a silent skip of every test below."""
    require_shared(CORPUS)
    assert FILES, f"no messages under {CORPUS}"


_SURROGATE = re.compile(r"[\ud800-\udfff]")
_HISTORY_LINE = re.compile(r"^\s*(?:>|-{3,}\s*original message\s*-{3,})", re.I | re.M)


@pytest.fixture(scope="module", autouse=True)
def _report_outcomes() -> Iterator[None]:
    yield
    if OUTCOMES:
        summary = ", ".join(f"{k}={v}" for k, v in sorted(OUTCOMES.items()))
        print(f"\nrealworld corpus outcomes ({sum(OUTCOMES.values())} files): {summary}")


def _texts(msg: InboundMessage) -> list[str]:
    return [msg.subject, msg.body_text, msg.new_text, msg.quoted_text, msg.signature,
            *(v for _, v in msg.headers), *(a.filename for a in msg.attachments)]  # fmt: skip


@pytest.mark.parametrize("rel", FILES)
def test_realworld_message(rel: str) -> None:
    raw = (CORPUS / rel).read_bytes()
    kinds = KINDS.get(rel, set())
    msg = parse_message(raw)
    OUTCOMES[str(msg.not_ticket or "ticketable")] += 1

    # True of every input: identity, clean text, UTC dates, history never in the new text.
    assert msg.sha256 and msg.size == len(raw)
    assert msg.message_id.startswith("<") and msg.message_id.endswith(">")
    for text in _texts(msg):
        assert "\x00" not in text and not _SURROGATE.search(text)
    assert msg.date is None or msg.date.utcoffset() == timedelta(0)
    assert msg.date is None or msg.date.tzinfo is UTC
    assert not _HISTORY_LINE.search(msg.new_text)
    for att in msg.attachments:
        assert len(att.sha256) == 64 and att.filename
        assert att.content is None or len(att.content) == att.size

    if "non-rfc822-binary" in kinds:
        assert msg.not_ticket is NotTicketReason.NOT_RFC822
        assert msg.not_ticket_detail and "Outlook .msg" in msg.not_ticket_detail
        return
    assert msg.not_ticket is not NotTicketReason.NOT_RFC822
    if "bounce-dsn" in kinds or "arf-complaint" in kinds:
        assert msg.not_ticket is NotTicketReason.BOUNCE, msg.not_ticket_detail
    elif "auto-reply" in kinds or "mdn" in kinds:
        assert msg.not_ticket is NotTicketReason.AUTO_REPLY, msg.not_ticket_detail
    elif "mailing-list" in kinds:
        assert msg.not_ticket in (NotTicketReason.MAILING_LIST, NotTicketReason.AUTO_REPLY)
    elif rel.startswith(("sisimai/not/", "talon/")):
        assert msg.not_ticket is None  # negative controls and ordinary replies
    if "report-enclosed-original" in kinds and msg.not_ticket is NotTicketReason.BOUNCE:
        enclosed = re.search(rb"(?im)^message-id:\s*(<[^>\s]+>)", raw.split(b"\n\n", 1)[-1])
        if enclosed:
            assert msg.bounced_message_id is not None
    if "missing-message-id" in kinds:
        assert msg.message_id.endswith("@propdesk.invalid>")
        assert any("synthetic" in d for d in msg.defects)
    if any(k.startswith("charset-") for k in kinds) and msg.body_text:
        assert msg.body_text.count("\ufffd") <= max(2, len(msg.body_text) // 200)
    if "tnef" in kinds and msg.not_ticket is None:
        assert any(a.note and "TNEF" in a.note for a in msg.attachments)
    if "forwarded-rfc822" in kinds:
        assert any(a.content_type.startswith("message/") for a in msg.attachments)
    if rel.startswith("talon/"):
        assert msg.quoted_text, "a talon reply fixture has quoted history"
        assert len(msg.new_text) < len(msg.body_text)
