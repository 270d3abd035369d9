"""After a real run, /metrics says what the database says (and what this process counted)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from propdesk.config import (
    Config,
    DatabaseConfig,
    IntervalsConfig,
    MetricsConfig,
    NotificationsConfig,
    SmtpConfig,
)
from propdesk.store.tables import InboundMessageRow, TicketRow
from propdesk.store.tables_escalation import EscalationRow, SlaBreachRow
from propdesk.store.tables_outbox import OutboxRow
from tests.integration.idle_support import eventually, running_daemon
from tests.integration.ingest_support import cli, tenant_mail
from tests.stack import Dovecot, ImapUser, SmtpPeer, free_port
from tests.stack.configfile import write_config

DATA = Path(__file__).resolve().parents[1] / "data"


def _scrape(port: int) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def _db(engine: Engine, *columns: object) -> dict[tuple[tuple[str, str], ...], float]:
    """Rows counted by ``columns`` as the label tuples /metrics uses."""
    names = [c.key for c in columns]  # type: ignore[attr-defined]
    with Session(engine) as s:
        rows = s.execute(select(*columns, func.count()).group_by(*columns))  # type: ignore[call-overload]
        return {
            tuple(sorted(zip(names, map(str, r[:-1]), strict=True))): float(r[-1]) for r in rows
        }


def test_metrics_equal_the_database_after_a_run(
    clean_db: Engine,
    db_config: DatabaseConfig,
    dovecot: Dovecot,
    imap_user: ImapUser,
    smtp_config: SmtpConfig,
    smtp_peer: SmtpPeer,
) -> None:
    port = free_port()
    config = Config(
        database=db_config,
        mailboxes=[dovecot.mailbox_config(imap_user, max_message_bytes=4096)],
        smtp=smtp_config,
        intervals=IntervalsConfig(poll_seconds=1, outbox_seconds=0.5, escalation_seconds=1),
        metrics=MetricsConfig(listen=f"127.0.0.1:{port}"),
    )
    mails = [tenant_mail(n) for n in (1, 2, 3)]
    mails.append((DATA / "auto_reply_auto_submitted.eml").read_bytes())  # ignored
    mails.append(tenant_mail(4, attachment=("photo.jpg", b"\xff" * 8000)))  # oversized
    dovecot.multiappend(imap_user, mails)
    with running_daemon(config, serve=True):

        def settled() -> bool:
            if dovecot.messages(imap_user, "INBOX"):
                return False
            with Session(clean_db) as s:
                pending = s.scalar(
                    select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "pending")
                )
                return (
                    pending == 0
                    and (s.scalar(select(func.count()).select_from(OutboxRow)) or 0) > 0
                )

        eventually(settled, what="every mail handled and every notification sent")
        got = _scrape(port)

    m = InboundMessageRow
    assert got["propdesk_db_messages"] == _db(clean_db, m.mailbox, m.outcome)
    outcomes = {dict(k)["outcome"] for k in got["propdesk_db_messages"]}
    assert outcomes >= {"ticketed", "ignored", "quarantined"}
    assert got["propdesk_db_tickets"] == _db(clean_db, TicketRow.category, TicketRow.urgency)
    assert got["propdesk_db_tickets_by_status"] == _db(clean_db, TicketRow.status)
    assert got["propdesk_db_notifications"] == _db(clean_db, OutboxRow.status)
    assert got.get("propdesk_db_escalations", {}) == _db(clean_db, EscalationRow.rule)
    assert got.get("propdesk_db_sla_breaches", {}) == _db(clean_db, SlaBreachRow.kind)
    quarantined = sum(
        v for k, v in _db(clean_db, m.outcome).items() if k == (("outcome", "quarantined"),)
    )
    assert got["propdesk_quarantined"][()] == quarantined == 1
    assert got["propdesk_outbox_pending"][()] == 0
    assert got["propdesk_outbox_oldest_pending_age_seconds"][()] == 0
    assert got["propdesk_database_up"][()] == 1
    # What this process counted agrees with the rows it wrote (a fresh database).
    assert got["propdesk_messages_total"] == got["propdesk_db_messages"]
    tickets = sum(got["propdesk_db_tickets"].values())
    assert got["propdesk_tickets_created_total"][(("mailbox", "main"),)] == tickets == 3
    # Every message read and committed has a latency; the oversized one was never read.
    assert got["propdesk_pipeline_latency_seconds_count"][(("mailbox", "main"),)] == 4
    assert got["propdesk_imap_backlog"][(("mailbox", "main"),)] == 0
    assert got["propdesk_mailbox_up"][(("mailbox", "main"),)] == 1


def test_status_prints_the_same_for_a_person(
    clean_db: Engine,
    db_config: DatabaseConfig,
    dovecot: Dovecot,
    imap_user: ImapUser,
    tmp_path: Path,
    config_env: dict[str, str],
) -> None:
    port = free_port()
    config = Config(
        database=db_config,
        mailboxes=[dovecot.mailbox_config(imap_user)],
        intervals=IntervalsConfig(poll_seconds=1),
        metrics=MetricsConfig(listen=f"127.0.0.1:{port}"),
        notifications=NotificationsConfig(enabled=False),
    )
    dovecot.multiappend(imap_user, [tenant_mail(1), tenant_mail(2)])
    path = write_config(tmp_path / "propdesk.toml", config)
    with running_daemon(config, serve=True) as run:
        eventually(lambda: not dovecot.messages(imap_user, "INBOX"), what="mail handled")
        eventually(run.idling, what="idling")
        done = cli(["--config", str(path), "status"], config_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "daemon: ready" in done.stdout
    assert "mailbox main: idling" in done.stdout
    assert "messages (mailbox/outcome): main/ticketed 2" in done.stdout
    assert "outbox oldest pending: 0s" in done.stdout
