"""Tenant directory and mails people can act on, end to end: CSV -> PostgreSQL, a tenant's mail
in Dovecot -> the daemon -> tickets filled from the directory -> mail at the SMTP peer (the
assignment mail with its facts and the photo, status mails threaded and greeting by name, the
tenant cap for acknowledgements only)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from propdesk import app
from propdesk.cli import main
from propdesk.config import (
    BusinessHoursConfig,
    Config,
    DatabaseConfig,
    MailboxConfig,
    NotificationsConfig,
)
from propdesk.core.models import TicketStatus
from propdesk.store import tenants as directory
from propdesk.store.tables import TicketRow
from propdesk.store.tables_outbox import outbox
from propdesk.store.tables_tenants import TenantRow
from tests.stack import Dovecot, ImapUser, SmtpPeer
from tests.stack.configfile import write_config

pytestmark = pytest.mark.integration

ALWAYS_OPEN = BusinessHoursConfig(
    timezone="America/New_York",
    hours=dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "00:00-24:00"),
)
DIRECTORY = (
    "unit,building,property,name,email,phone\n"
    "4C,Maple,P-MAPLE,Ana Ruiz,Ana.Ruiz@Example.org,555-201-0101\n"
    "4C,Maple,P-MAPLE,Tom Ruiz,tom.ruiz@example.org,\n"
    "9A,,,Ben Ode,ben@example.org,\n"
)
#: A few bytes that are a PNG as far as MIME is concerned.
PHOTO = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


@dataclass
class Stack:
    """The real servers of one test: a clean database, a fresh mailbox, the SMTP peer."""

    db: Engine
    db_config: DatabaseConfig
    mailbox: MailboxConfig
    dovecot: Dovecot
    imap_user: ImapUser
    peer: SmtpPeer

    def config(self, **notifications: object) -> Config:
        return Config(
            database=self.db_config,
            mailboxes=[self.mailbox],
            smtp=self.peer.smtp_config(message_id_domain="mail.property.com"),
            business_hours=ALWAYS_OPEN,
            notifications=NotificationsConfig(**notifications),  # type: ignore[arg-type]
        )

    def append(self, raw: bytes) -> None:
        self.dovecot.append(self.imap_user, raw)


@pytest.fixture
def stack(
    clean_db: Engine,
    db_config: DatabaseConfig,
    mailbox_config: MailboxConfig,
    dovecot: Dovecot,
    imap_user: ImapUser,
    smtp_peer: SmtpPeer,
) -> Stack:
    return Stack(clean_db, db_config, mailbox_config, dovecot, imap_user, smtp_peer)


def _cli(config_file: Path, *args: str) -> int:
    return main(["--config", str(config_file), "--log-format", "json", *args])


def _csv(tmp_path: Path, text: str) -> str:
    csv_file = tmp_path / "tenants.csv"
    csv_file.write_text(text, encoding="utf-8")
    return str(csv_file)


def _import(tmp_path: Path, config: Config, text: str = DIRECTORY) -> int:
    config_file = write_config(tmp_path / "propdesk.toml", config)
    return _cli(config_file, "tenants", "import", _csv(tmp_path, text))


def _mail(
    body: str,
    *,
    sender: str = "Ana R. <ana.ruiz@example.org>",
    subject: str = "Leak from the ceiling",
    message_id: str = "<ana-1@example.org>",
    photo: bytes | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "maintenance@property.com"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg.set_content(body)
    if photo is not None:
        msg.add_attachment(photo, maintype="image", subtype="png", filename="ceiling.png")
    return bytes(msg)


LEAK = (
    "Water is dripping from the bathroom ceiling onto the floor, it is getting worse. "
    "I live on the 3rd floor.\n\n"
    "I have a dog, he is friendly. The key is under the mat, you can enter when I am out. "
    "I am home after 3pm.\n\nAna\n"
)


def _run(config: Config) -> None:
    daemon = app.daemon(config)
    try:
        report = daemon.loop.run_once()
    finally:
        daemon.close()
    assert report.ok, report


def _deliver(config: Config, eng: Engine) -> None:
    delivery = app.outbox_delivery(config, eng)
    try:
        delivery.run_once()
    finally:
        delivery.close()


# --- the directory import --------------------------------------------------------------------


def test_import_names_every_bad_line_and_imports_nothing(
    tmp_path: Path,
    clean_db: Engine,
    stack_config: Config,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = (
        "unit,building,property,name,email,phone\n"
        "4C,Maple,,Ana Ruiz,ana.ruiz@example.org,\n"
        ",Maple,,No Unit,nounit@example.org,\n"
        "5B,,,Bad Mail,not-an-address,\n"
        "6D,,,Twice,ANA.RUIZ@example.org,\n"
    )
    assert _import(tmp_path, stack_config, bad) == 1
    err = capsys.readouterr().err
    assert "tenants.csv:line 3: unit is empty" in err
    assert "tenants.csv:line 4: email 'not-an-address' is not an address" in err
    assert "tenants.csv:line 5: ana.ruiz@example.org already on line 2" in err
    assert "3 bad line(s)" in err and "nothing imported" in err
    with clean_db.connect() as conn:
        assert conn.execute(select(TenantRow.email)).all() == []  # not even line 2


def test_import_is_idempotent_and_list_and_show_read_it_back(
    tmp_path: Path,
    clean_db: Engine,
    stack_config: Config,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config_file = write_config(tmp_path / "propdesk.toml", stack_config)
    assert _cli(config_file, "tenants", "import", "--check", _csv(tmp_path, DIRECTORY)) == 0
    assert "3 tenant(s)" in capsys.readouterr().out
    with clean_db.connect() as conn:
        assert conn.execute(select(TenantRow.email)).all() == []  # --check writes nothing
    assert _import(tmp_path, stack_config) == 0
    assert "3 added, 0 updated, 0 unchanged" in capsys.readouterr().out
    assert _import(tmp_path, stack_config) == 0
    assert "0 added, 0 updated, 3 unchanged" in capsys.readouterr().out
    changed = DIRECTORY.replace("555-201-0101", "555-201-9999")
    assert _import(tmp_path, stack_config, changed) == 0
    assert "0 added, 1 updated, 2 unchanged" in capsys.readouterr().out
    assert _cli(config_file, "tenants", "list", "--format", "json") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["email"] for r in rows] == [
        "ben@example.org",
        "ana.ruiz@example.org",
        "tom.ruiz@example.org",
    ]
    assert _cli(config_file, "tenants", "show", "ANA.RUIZ@example.org") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["phone"] == "555-201-9999" and shown["unit"] == "4C"
    assert shown["co_tenants"] == ["tom.ruiz@example.org"]
    assert _cli(config_file, "tenants", "show", "nobody@example.org") == 1


# --- ingest with the directory ---------------------------------------------------------------


def test_the_directory_fills_the_unit_and_the_text_wins_when_it_names_another(
    tmp_path: Path, stack: Stack
) -> None:
    config = stack.config()
    assert _import(tmp_path, config) == 0
    stack.append(_mail(LEAK))
    stack.append(
        _mail(
            "The kitchen sink in Unit 7B is clogged and will not drain.\n",
            subject="Clogged sink",
            message_id="<ana-2@example.org>",
        ),
    )
    _run(config)
    with stack.db.connect() as conn:
        rows = conn.execute(
            select(
                TicketRow.unit_number, TicketRow.property_id, TicketRow.metadata_.label("meta")
            ).order_by(TicketRow.id)
        ).all()
    assert [(r.unit_number, r.property_id) for r in rows] == [
        ("Unit 4C", "P-MAPLE"),
        ("Unit 7B", "P07B"),
    ]
    assert rows[0].meta["building"] == "MAPLE"
    assert any(m.startswith("directory:unit Unit 4C") for m in rows[0].meta["matched_rules"])
    assert rows[1].meta["matched_rules"][-1] == (
        "directory:the text names Unit 7B, the tenant directory says Unit 4C for "
        "ana.ruiz@example.org; the text wins"
    )


def test_the_assignment_mail_has_the_facts_the_notes_and_the_photo(
    tmp_path: Path, stack: Stack
) -> None:
    config = stack.config()
    assert _import(tmp_path, config) == 0
    stack.append(_mail(LEAK, photo=PHOTO))
    _run(config)
    with stack.db.connect() as conn:
        (row,) = conn.execute(select(TicketRow.ticket_id, TicketRow.notes)).all()
    assert [n["kind"] for n in row.notes] == ["pets", "access", "availability"]  # no Lease ticket
    got = stack.peer.wait_for(2)
    (assigned,) = [m for m in got if m.message["Subject"].startswith("New Ticket Assigned")]
    text = assigned.message.get_body(("plain",)).get_content()
    assert "Unit:        Unit 4C" in text
    assert "Building:    MAPLE" in text
    assert "Floor:       3" in text
    assert "why: emergency: water from above" in text
    assert "Tenant:      Ana Ruiz <ana.ruiz@example.org>" in text
    assert "Phone:       555-201-0101" in text
    assert "Respond by:  " in text and ("EST" in text or "EDT" in text)  # business time zone
    assert "pets: I have a dog, he is friendly." in text
    assert "access: The key is under the mat, you can enter when I am out." in text
    assert "availability: I am home after 3pm." in text
    files = list(assigned.message.iter_attachments())
    assert [(p.get_filename(), p.get_content_type()) for p in files] == [
        ("ceiling.png", "image/png")
    ]
    assert files[0].get_content() == PHOTO


def test_photos_over_the_cap_are_a_command_line_instead(tmp_path: Path, stack: Stack) -> None:
    config = stack.config(assignment_photos_max_bytes=100)
    stack.append(_mail(LEAK, photo=PHOTO))
    _run(config)
    got = stack.peer.wait_for(2)
    (assigned,) = [m for m in got if m.message["Subject"].startswith("New Ticket Assigned")]
    assert list(assigned.message.iter_attachments()) == []
    with stack.db.connect() as conn:
        ticket_id = conn.execute(select(TicketRow.ticket_id)).scalar_one()
    text = assigned.message.get_body(("plain",)).get_content()
    assert f"propdesk tickets attachment {ticket_id} ceiling.png -o ceiling.png" in text
    assert "Tenant:      Ana R. <ana.ruiz@example.org>" in text  # no directory: the From name


# --- status mails and the cap ----------------------------------------------------------------


def test_status_mail_threads_to_the_tenants_mail_and_greets_by_name(
    tmp_path: Path, stack: Stack
) -> None:
    config = stack.config()
    assert _import(tmp_path, config) == 0
    stack.append(_mail(LEAK))
    _run(config)
    stack.peer.wait_for(2)
    with stack.db.connect() as conn:
        ticket_id = conn.execute(select(TicketRow.ticket_id)).scalar_one()
    service = app.status_change_service(config, stack.db)
    service.set_status(ticket_id, TicketStatus.IN_PROGRESS, by="sam")
    service.set_status(ticket_id, TicketStatus.RESOLVED, by="sam", note="Fixed the pipe")
    _deliver(config, stack.db)
    got = stack.peer.wait_for(4)
    for prefix in ("Service Request Update", "Service Request Completed"):
        (mail,) = [m for m in got if m.message["Subject"].startswith(prefix)]
        assert mail.rcpt_tos == ("ana.ruiz@example.org",)
        assert mail.message["In-Reply-To"] == "<ana-1@example.org>"
        assert "<ana-1@example.org>" in mail.message["References"]
        assert mail.message.get_body(("plain",)).get_content().startswith("Hello Ana Ruiz,")


def test_a_completed_mail_is_never_capped_a_second_acknowledgement_is(
    stack: Stack,
) -> None:
    config = stack.config(tenant_cap_per_hour=1)
    stack.append(_mail(LEAK, sender="ben@example.org"))
    _run(config)
    stack.append(
        _mail(
            "The hallway light outside my door is flickering.\n",
            sender="ben@example.org",
            subject="Light",
            message_id="<ben-2@example.org>",
        ),
    )
    _run(config)
    with stack.db.connect() as conn:
        first = conn.execute(select(TicketRow.ticket_id).order_by(TicketRow.id)).scalars().first()
    assert first is not None
    service = app.status_change_service(config, stack.db)
    service.set_status(first, TicketStatus.IN_PROGRESS, by="sam")
    service.set_status(first, TicketStatus.RESOLVED, by="sam")
    _deliver(config, stack.db)
    with stack.db.connect() as conn:
        rows = conn.execute(
            select(outbox.c.kind, outbox.c.status, outbox.c.last_error)
            .where(outbox.c.recipient == "ben@example.org")
            .order_by(outbox.c.id)
        ).all()
    assert [(r.kind, r.status) for r in rows] == [
        ("ticket_created_tenant", "sent"),
        ("ticket_created_tenant", "suppressed"),
        ("ticket_status_tenant", "sent"),
        ("ticket_resolved_tenant", "sent"),
    ]
    assert "acknowledgements to this tenant in the last hour (cap 1)" in rows[1].last_error
    completed = [
        m
        for m in stack.peer.received
        if m.message["Subject"].startswith("Service Request Completed")
    ]
    assert len(completed) == 1


def test_a_new_assignee_gets_the_same_facts_and_the_photo(tmp_path: Path, stack: Stack) -> None:
    config = stack.config()
    assert _import(tmp_path, config) == 0
    stack.append(_mail(LEAK, photo=PHOTO))
    _run(config)
    stack.peer.wait_for(2)
    with stack.db.connect() as conn:
        ticket_id = conn.execute(select(TicketRow.ticket_id)).scalar_one()
    app.status_change_service(config, stack.db).assign(ticket_id, "sam@property.com", by="lead")
    _deliver(config, stack.db)
    (mail,) = [m for m in stack.peer.wait_for(3) if m.rcpt_tos == ("sam@property.com",)]
    text = mail.message.get_body(("plain",)).get_content()
    assert "Tenant:      Ana Ruiz <ana.ruiz@example.org>" in text
    assert "Phone:       555-201-0101" in text
    assert "Resolve by:  " in text
    assert "access: The key is under the mat, you can enter when I am out." in text
    files = list(mail.message.iter_attachments())
    assert [p.get_filename() for p in files] == ["ceiling.png"]
    assert files[0].get_content() == PHOTO


def test_a_large_directory_imports_in_one_transaction(
    tmp_path: Path, clean_db: Engine, stack_config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [f"{n % 900 + 100},,,Tenant {n},t{n}@example.org,555-{n:04d}" for n in range(12_000)]
    text = "unit,building,property,name,email,phone\n" + "\n".join(lines) + "\n"
    assert _import(tmp_path, stack_config, text) == 0
    assert "12000 added, 0 updated, 0 unchanged" in capsys.readouterr().out
    with clean_db.connect() as conn:
        assert len(conn.execute(select(TenantRow.id)).all()) == 12_000


def test_the_store_api_finds_senders_and_co_tenants(
    tmp_path: Path, clean_db: Engine, stack_config: Config
) -> None:
    assert _import(tmp_path, stack_config) == 0
    with clean_db.connect() as conn:
        ana = directory.find_by_email(conn, " ANA.RUIZ@example.ORG ")
        assert ana is not None and (ana.name, ana.unit_number) == ("Ana Ruiz", "Unit 4C")
        assert directory.find_by_email(conn, "nobody@example.org") is None
        unit = directory.co_tenants(conn, "Unit 4C", "maple", "P-MAPLE")
        assert [t.email for t in unit] == ["ana.ruiz@example.org", "tom.ruiz@example.org"]
        assert directory.co_tenants(conn, "4C", "Oak") == []
        # an entry naming no building or property matches the ticket's computed ones
        assert [t.email for t in directory.co_tenants(conn, "9a", "X", "P09A")] == [
            "ben@example.org"
        ]
        assert directory.co_tenants(conn, "not specified") == []
