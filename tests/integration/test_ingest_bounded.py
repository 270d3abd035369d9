"""Heavy mail on the real stack (Dovecot + PostgreSQL): one message never holds up the mailbox.

Parse + analysis run in the analysis workers (``app.daemon`` without an injected analyser). A
very long single-line body and a very long many-line body are either analysed within the budget
(the analysed text is capped) or quarantined ``timeout`` with their bytes; the normal mail
behind them is ticketed in the same run. Where a timeout must happen, the test lifts the cap
through a rules override (``max_analysed_chars``) so the analysis would take minutes, and sets a
small budget: no test depends on how fast this machine is.
"""

from __future__ import annotations

import signal
import subprocess
import time
import tomllib
from collections.abc import Callable
from datetime import datetime
from importlib import resources
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from propdesk import app
from propdesk.config import Config, DatabaseConfig, IntakeConfig, RulesConfig
from propdesk.core.message import InboundMessage
from propdesk.daemon.poll import MailboxPoller
from propdesk.errors import AnalysisPoisoned
from propdesk.ingest import Analysis, Result
from propdesk.store.engine import make_engine
from propdesk.store.tables import InboundMessageRow
from tests.integration.ingest_support import (
    outcomes,
    spawn,
    tenant_mail,
    ticket_count,
    write_config,
)
from tests.stack import Dovecot, ImapUser

LINE = "It is still leaking water onto the floor and the cabinet under it is soaked."
SENTENCES = (
    "The kitchen sink is leaking under the cabinet and the floor is wet.",
    "My neighbour upstairs plays loud music until 3am, it is very annoying.",
    "The heat is not working and it's 55 degrees in my apartment!",
)


def many_lines(n: int = 160_000) -> bytes:
    """About 12 MB: one matter described again and again, one line at a time."""
    return tenant_mail(900, "\n".join([LINE] * n), subject="Leak (long)")


def single_line(size: int = 2_000_000) -> bytes:
    """About 2 MB without a newline (sent quoted-printable/base64 by the stdlib)."""
    text = " ".join(SENTENCES[i % 3] for i in range(size // 60))
    return tenant_mail(901, text, subject="Everything (one line)")


def uncapped_rules(path: Path) -> Path:
    """A rules override that lifts the analysed-text cap: a huge body would take minutes."""
    text = resources.files("propdesk.rules").joinpath("vocabulary.toml").read_text("utf-8")
    values = dict(tomllib.loads(text)["thresholds"], max_analysed_chars=1_000_000_000)
    path.write_text(
        "[thresholds]\n" + "".join(f"{k} = {v!r}\n" for k, v in values.items()), encoding="utf-8"
    )
    return path


def _rows(engine: Engine) -> dict[str, InboundMessageRow]:
    with Session(engine) as s:
        return {r.subject or "": r for r in s.scalars(select(InboundMessageRow))}


def _run_once(config: Config) -> None:
    daemon = app.daemon(config)  # no injected analyser: the workers parse and analyse
    try:
        report = daemon.loop.run_once()
    finally:
        daemon.close()
    assert all(p.status == "ok" for p in report.passes), [p.error for p in report.passes]


def test_heavy_bodies_are_bounded_and_the_mail_behind_them_is_ticketed(
    clean_db: Engine, db_config: DatabaseConfig, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    dovecot.append(imap_user, single_line())
    dovecot.append(imap_user, many_lines())
    dovecot.multiappend(imap_user, [tenant_mail(n) for n in range(1, 4)])
    config = Config(database=db_config, mailboxes=[dovecot.mailbox_config(imap_user)])

    _run_once(config)  # the default budget and the default cap

    rows = _rows(clean_db)
    for n in range(1, 4):
        assert rows[f"Leaking tap in unit {n}B"].outcome == "ticketed"
    for subject in ("Leak (long)", "Everything (one line)"):
        # a message that timed out was never parsed: its row is found by its kept bytes
        row = rows[subject] if subject in rows else _quarantined(clean_db, subject)
        if row.outcome == "quarantined":  # a very slow machine: over the budget, bytes kept
            assert row.reason == "timeout" and row.raw is not None
        else:
            assert row.outcome == "ticketed", (row.outcome, row.reason, row.error)
    assert dovecot.messages(imap_user, "INBOX") == []


def test_over_the_budget_is_quarantined_timeout_and_the_mailbox_goes_on(
    tmp_path: Path,
    clean_db: Engine,
    db_config: DatabaseConfig,
    dovecot: Dovecot,
    imap_user: ImapUser,
) -> None:
    heavy = [single_line(), many_lines()]
    dovecot.multiappend(imap_user, [heavy[0], tenant_mail(1), heavy[1], tenant_mail(2)])
    config = Config(
        database=db_config,
        mailboxes=[dovecot.mailbox_config(imap_user)],
        rules=RulesConfig(file=uncapped_rules(tmp_path / "rules.toml")),
        intake=IntakeConfig(analysis_budget_seconds=2.0, analysis_workers=1),
    )

    _run_once(config)

    rows = _rows(clean_db)
    assert rows["Leaking tap in unit 1B"].outcome == "ticketed"
    assert rows["Leaking tap in unit 2B"].outcome == "ticketed"
    for subject in ("Everything (one line)", "Leak (long)"):
        row = _quarantined(clean_db, subject)
        assert (row.outcome, row.reason) == ("quarantined", "timeout"), subject
        assert row.error is not None and "budget" in row.error
    assert outcomes(clean_db) == {"ticketed": 2, "quarantined": 2}
    assert len(dovecot.messages(imap_user, "Failed")) == 2
    assert len(dovecot.messages(imap_user, "Processed")) == 2
    assert dovecot.messages(imap_user, "INBOX") == []

    # reprocess gets the same budget: still over it, still quarantined (the error noted) ...
    pk = _quarantined(clean_db, "Leak (long)").id
    assert [r.outcome for r in _reprocess(config, clean_db, pk)] == ["quarantined"]
    # ... and after the "fix" (the cap back, a budget no loaded machine misses) it is analysed
    intake = IntakeConfig(analysis_budget_seconds=600)
    fixed = config.model_copy(update={"rules": RulesConfig(), "intake": intake})
    assert [r.outcome for r in _reprocess(fixed, clean_db, pk)] == ["ticketed"]


def _reprocess(config: Config, engine: Engine, pk: int) -> list[Result]:
    pool = app.analysis_pool(config)
    try:
        return app.ingest_service(config, engine, prepare=app.prepare_in(pool)).reprocess(pk)
    finally:
        pool.close()


def _quarantined(engine: Engine, subject: str) -> InboundMessageRow:
    """The row whose kept bytes carry ``subject`` (a timed-out message was never parsed)."""
    with Session(engine) as s:
        rows = s.scalars(select(InboundMessageRow).where(InboundMessageRow.raw.is_not(None)))
        found = [r for r in rows if f"Subject: {subject}".encode() in (r.raw or b"")]
    assert len(found) == 1
    return found[0]


def test_sigterm_during_a_long_analysis_exits_within_five_seconds(
    tmp_path: Path,
    clean_db: Engine,
    db_config: DatabaseConfig,
    dovecot: Dovecot,
    imap_user: ImapUser,
    config_env: dict[str, str],
) -> None:
    dovecot.multiappend(imap_user, [tenant_mail(1), many_lines()])
    config = Config(database=db_config, mailboxes=[dovecot.mailbox_config(imap_user)])
    path = write_config(config, tmp_path / "propdesk.toml", poll_seconds=0.5)
    rules = uncapped_rules(tmp_path / "rules.toml")
    with path.open("a", encoding="utf-8") as fh:  # minutes of analysis, a budget far above
        fh.write(f'\n[rules]\nfile = "{rules}"\n\n[intake]\nanalysis_budget_seconds = 3600\n')

    proc = spawn(["--config", str(path), "run"], config_env)
    try:
        _until(lambda: ticket_count(clean_db) == 1, proc)  # the next message is the long one
        time.sleep(1.0)  # well into its parse + analysis
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        proc.wait(timeout=5)
        waited = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
        out, err = proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    assert waited < 5
    assert outcomes(clean_db) == {"ticketed": 1}  # the long one is not recorded: read again
    assert len(dovecot.messages(imap_user, "INBOX")) == 1
    assert "daemon.stopping" in out + err


def _until(condition: Callable[[], bool], proc: subprocess.Popen[str], limit: float = 240) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the daemon ended early: {proc.communicate()[1][-3000:]}")
        assert time.monotonic() < deadline, "the daemon never got there"
        time.sleep(0.2)


def test_a_poison_message_is_quarantined_poison_and_the_next_one_ticketed(
    clean_db: Engine, db_config: DatabaseConfig, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    """Whatever the pool says about a message (here: it killed three workers) is its
    quarantine reason; the mail behind it goes through the real pool as usual."""
    config = Config(database=db_config, mailboxes=[dovecot.mailbox_config(imap_user)])
    dovecot.multiappend(imap_user, [tenant_mail(1, subject="KILLER"), tenant_mail(2)])
    pool = app.analysis_pool(config)
    real = app.prepare_in(pool)

    def prepare(
        raw: bytes, received_at: datetime, now: datetime, should_stop: Callable[[], bool]
    ) -> tuple[InboundMessage, Analysis | None]:
        if b"Subject: KILLER" in raw:
            raise AnalysisPoisoned("in flight through 3 worker deaths (last: exit code -9)")
        return real(raw, received_at, now, should_stop)

    service = app.ingest_service(config, clean_db, prepare=prepare)
    poller = MailboxPoller(
        config.mailboxes[0],
        ingest=service,
        sessions=app.sessions(clean_db),
        lock_engine=make_engine(db_config, pooled=False),
        timeout_seconds=5,
    )
    try:
        report = poller.poll()
    finally:
        pool.close()
    assert report.counts == {"quarantined": 1, "ticketed": 1}
    row = _quarantined(clean_db, "KILLER")
    assert (row.outcome, row.reason) == ("quarantined", "poison")
    assert len(dovecot.messages(imap_user, "Failed")) == 1
