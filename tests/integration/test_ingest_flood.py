"""Flood limits on the real stack: 200 mails in a minute from one sender are held after the
limit (bytes kept, Held folder), staff are told once, and ``propdesk reprocess --held`` releases
them as tickets."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from propdesk.config import Config, FloodConfig
from propdesk.store.tables import InboundMessageRow, TicketRow
from propdesk.store.tables_outbox import OutboxRow
from tests.integration.ingest_support import cli, outcomes, run_passes, tenant_mail, write_config
from tests.stack import Dovecot, ImapUser, SmtpPeer

LIMIT = 30
FLOODER = "Script <script@tenant.example>"
OPS = "ops@property.com"


def _flood_notices(engine: Engine) -> list[OutboxRow]:
    with Session(engine) as s:
        return list(s.scalars(select(OutboxRow).where(OutboxRow.kind == "flood_held")))


def test_a_flood_from_one_sender_is_held_told_once_and_released(
    tmp_path: Path,
    stack_config: Config,
    clean_db: Engine,
    dovecot: Dovecot,
    imap_user: ImapUser,
    smtp_peer: SmtpPeer,
    config_env: dict[str, str],
) -> None:
    config = stack_config.model_copy(
        update={"flood": FloodConfig(per_sender_per_hour=LIMIT, notify=OPS)}
    )
    flood = [tenant_mail(n, sender=FLOODER) for n in range(200)]
    others = [tenant_mail(1000 + n) for n in range(3)]
    dovecot.multiappend(imap_user, [*flood[:100], *others, *flood[100:]])

    assert run_passes(config) == {"ticketed": LIMIT + 3, "held_flood": 200 - LIMIT}
    assert len(dovecot.messages(imap_user, "Held")) == 200 - LIMIT
    assert len(dovecot.messages(imap_user, "INBOX")) == 0
    with Session(clean_db) as s:
        held = list(
            s.scalars(select(InboundMessageRow).where(InboundMessageRow.outcome == "held_flood"))
        )
        assert all(r.raw is not None for r in held)  # nothing is lost
        assert {r.reason for r in held} == {"flood_sender"}
        assert {r.sender for r in held} == {"script@tenant.example"}
    (notice,) = _flood_notices(clean_db)
    assert notice.recipient == OPS and notice.audience == "staff"
    told = [m for m in smtp_peer.received if m.rcpt_tos == (OPS,)]
    assert len(told) == 1
    assert told[0].message["Subject"].startswith("Mail Held by the Flood Limit")
    assert "reprocess --held" in str(told[0].message.get_body(("plain",)).get_content())

    # The flood goes on: held silently (one notice per sender and hour).
    dovecot.multiappend(imap_user, [tenant_mail(300 + n, sender=FLOODER) for n in range(5)])
    assert run_passes(config) == {"held_flood": 5}
    assert len(_flood_notices(clean_db)) == 1

    # Staff decide the sender is genuine: every held mail becomes tickets, nothing twice.
    path = write_config(config, tmp_path / "propdesk.toml")
    with path.open("a", encoding="utf-8") as f:
        f.write(f'\n[flood]\nper_sender_per_hour = {LIMIT}\nnotify = "{OPS}"\n')
    done = cli(["--config", str(path), "reprocess", "--held"], config_env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count(": ticketed") == 175
    assert outcomes(clean_db) == {"ticketed": 208}
    with Session(clean_db) as s:
        assert s.scalar(select(func.count()).select_from(TicketRow)) == 208
    again = cli(["--config", str(path), "reprocess", "--held"], config_env)
    assert again.returncode == 0 and "nothing held" in again.stdout
