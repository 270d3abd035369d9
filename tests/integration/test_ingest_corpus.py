"""Every real-world message (../shared/corpus/realworld) through ingest: no crash, one outcome each.

The closing report prints the counts per outcome (pytest -s, or read the ``corpus outcomes`` line
in the captured output).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from imapclient.exceptions import IMAPClientError
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from propdesk import app
from propdesk.config import Config, DatabaseConfig, MailboxConfig
from propdesk.store.tables import InboundMessageRow
from tests.integration.ingest_support import analyser, outcomes
from tests.shared import require_shared
from tests.stack import Dovecot, ImapUser


def _corpus(shared_dir: Path) -> list[Path]:
    root = shared_dir / "corpus" / "realworld"
    if not root.is_dir():
        require_shared(root)
    skip = ("MANIFEST.tsv", "README.md")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name not in skip)


def test_realworld_corpus_one_outcome_each(
    shared_dir: Path,
    clean_db: Engine,
    db_config: DatabaseConfig,
    mailbox_config: MailboxConfig,
    dovecot: Dovecot,
    imap_user: ImapUser,
) -> None:
    files = _corpus(shared_dir)
    raws = [p.read_bytes() for p in files]
    appended = 0
    refused: list[str] = []
    try:
        appended = len(dovecot.multiappend(imap_user, raws))
    except IMAPClientError:
        # One message the server refuses fails its whole MULTIAPPEND: go one by one.
        for p, raw in zip(files, raws, strict=True):
            try:
                dovecot.append(imap_user, raw)
                appended += 1
            except IMAPClientError:
                refused.append(p.name)
    config = Config(database=db_config, mailboxes=[mailbox_config])
    daemon = app.daemon(config, analyse=analyser(config))
    try:
        report = daemon.loop.run_once()
    finally:
        daemon.close()

    assert report.ok, [p.error for p in report.passes]
    got = outcomes(clean_db)
    print(f"\ncorpus outcomes ({appended} appended, {len(refused)} refused by IMAP): {got}")
    assert sum(got.values()) == appended
    with Session(clean_db) as s:
        per_uid = Counter(
            s.execute(
                select(InboundMessageRow.uid, func.count()).group_by(InboundMessageRow.uid)
            ).all()
        )
    assert all(n == 1 for (_uid, n) in per_uid)
    assert len(dovecot.messages(imap_user, "INBOX")) == 0
    moved = len(dovecot.messages(imap_user, "Processed")) + len(
        dovecot.messages(imap_user, "Failed")
    )
    assert moved == appended
    # "No crash" means no message fell into quarantine because our code raised. Mail that is
    # not mail, or has no sender address, is quarantined on purpose (kept, never dropped).
    with Session(clean_db) as s:
        reasons = Counter(
            s.scalars(
                select(InboundMessageRow.reason).where(InboundMessageRow.outcome == "quarantined")
            )
        )
    print(f"corpus quarantine reasons: {dict(reasons)}")
    assert set(reasons) <= {"not_rfc822", "no_sender_address"}, "see inbound_messages.error"
