"""Helpers for the ingest tests: sample mail, a config file for subprocesses, a CLI runner."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from propdesk import app
from propdesk.config import Config
from propdesk.core.build import build_ticket
from propdesk.core.hours import BusinessHours
from propdesk.core.message import InboundMessage
from propdesk.core.models import Category, Subcategory, Urgency
from propdesk.core.rules import Rules
from propdesk.ingest import Analyse, Analysis, IngestHook
from propdesk.store.tables import InboundMessageRow, MessageTicketRow, TicketRow
from tests.stack import Dovecot, ImapUser
from tests.stack import dovecot as dovecot_module

REPO_ROOT = Path(__file__).resolve().parents[2]


def keyword_analyser(rules: Rules, hours: BusinessHours) -> Analyse:
    """A deterministic stand-in for tests that need predictable tickets (e.g. escalation): the
    core's real ``build_ticket`` fed by a crude keyword rule, one ticket per message plus one per
    line starting with "Also"."""

    def analyse(msg: InboundMessage, received_at: datetime, now: datetime) -> Analysis:
        text = msg.new_text.strip()
        if not text:
            return Analysis((), "no_action_items")
        items = [text] + [ln for ln in text.splitlines() if ln.strip().lower().startswith("also")]
        tickets = []
        for item in items:
            plumbing = any(w in item.lower() for w in ("leak", "tap", "toilet", "water", "sink"))
            tickets.append(
                build_ticket(
                    category=Category.MAINTENANCE,
                    subcategory=Subcategory.PLUMBING if plumbing else Subcategory.GENERAL_REPAIR,
                    urgency=Urgency.MEDIUM,
                    requires_contractor=False,
                    short_description=(msg.subject or "Maintenance request")[:120],
                    description=item[:2000],
                    sender=msg.sender.address if msg.sender else "unknown@invalid",
                    subject=msg.subject or "",
                    message_id=msg.message_id or "",
                    received_at=received_at,
                    rules=rules,
                    hours=hours,
                    now=now,
                    random_bytes=secrets.token_bytes,
                )
            )
        return Analysis(tuple(tickets))

    return analyse


def run_passes(
    config: Config, hooks: Sequence[IngestHook] = (), analyse: Analyse | None = None
) -> dict[str, int]:
    """One in-process pass over every mailbox (the daemon's wiring), the summed counts."""
    daemon = app.daemon(config, analyse=analyse, extra_hooks=hooks)
    try:
        report = daemon.loop.run_once()
    finally:
        daemon.close()
    totals: dict[str, int] = {}
    for p in report.passes:
        assert p.status in ("ok", "locked"), p.error
        for k, v in p.counts.items():
            totals[k] = totals.get(k, 0) + v
    return totals


class FolderCounts(dict[str, int]):
    """Message counts per folder of one IMAP user, read fresh each time it is indexed."""

    def __init__(self, dovecot: Dovecot, user: ImapUser) -> None:
        super().__init__()
        self._dovecot, self._user = dovecot, user

    def __getitem__(self, folder: str) -> int:
        return len(self._dovecot.messages(self._user, folder))


def analyser(config: Config) -> Analyse:
    """The real classification pipeline, wired as the daemon wires it."""
    return app.analyser(app.rules(config), app.business_hours(config))


@contextmanager
def dovecot_with(extra: str = "", replace: tuple[str, str] | None = None) -> Iterator[Dovecot]:
    """A private Dovecot whose generated config has ``extra`` lines appended (and one setting
    replaced): fewer capabilities, TLS, OAuth. The template goes through ``str.format``, so
    braces in ``extra`` must be doubled."""
    original = dovecot_module._CONFIG
    template = original if replace is None else original.replace(*replace)
    dovecot_module._CONFIG = template + extra
    server = Dovecot(spare_users=2)
    try:
        server.start()
    finally:
        dovecot_module._CONFIG = original
    try:
        yield server
    finally:
        server.destroy()


def tenant_mail(
    n: int,
    body: str = "The kitchen tap is leaking under the sink.",
    *,
    subject: str | None = None,
    sender: str | None = None,
    extra_headers: dict[str, str] | None = None,
    date: datetime | None = None,
    attachment: tuple[str, bytes] | None = None,
) -> bytes:
    """A plain tenant email with a unique Message-ID."""
    msg = EmailMessage()
    msg["From"] = sender or f"Tenant {n} <tenant{n}@example.org>"
    msg["To"] = "maintenance@property.com"
    msg["Subject"] = subject if subject is not None else f"Leaking tap in unit {n}B"
    msg["Message-ID"] = f"<ingest-{n}-{time.time_ns()}-{secrets.token_hex(3)}@example.org>"
    if date is not None:
        msg["Date"] = format_datetime(date)
    for key, value in (extra_headers or {}).items():
        msg[key] = value
    msg.set_content(f"Hello,\n\n{body}\n\nRegards,\nTenant {n}, Unit {n}B\n")
    if attachment is not None:
        name, data = attachment
        msg.add_attachment(data, maintype="image", subtype="jpeg", filename=name)
    return bytes(msg)


def write_config(config: Config, path: Path, **intervals: float) -> Path:
    """A TOML config file equivalent to ``config`` (database + mailboxes + intervals)."""
    db = config.database

    def q(value: Any) -> str:
        return json.dumps(value)

    lines = [
        "[database]",
        f"host = {q(db.host)}",
        f"port = {db.port}",
        f"name = {q(db.name)}",
        f"user = {q(db.user)}",
        f"sslmode = {q(db.sslmode)}",
        "",
        "[logging]",
        'format = "json"',
        "",
        "[metrics]",
        'listen = ""  # on by default: daemons of parallel tests must not fight for the port',
        "",
        "[intervals]",
    ]
    lines += [f"{k} = {v}" for k, v in intervals.items()]
    for mb in config.mailboxes:
        lines += ["", "[[mailboxes]]"]
        for key, value in mb.model_dump(exclude_none=True).items():
            if key == "password":
                lines.append(f"password = {{ env = {q(value['env'])} }}")
            elif isinstance(value, bool | int | float | list):
                lines.append(f"{key} = {json.dumps(value)}")
            else:
                lines.append(f"{key} = {q(str(value))}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def cli(
    args: Sequence[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m propdesk ARGS`` in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "propdesk", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def spawn(args: Sequence[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "propdesk", *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# --- database checks ---------------------------------------------------------------------------


def outcomes(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        rows = s.execute(
            select(InboundMessageRow.outcome, func.count()).group_by(InboundMessageRow.outcome)
        )
        return {str(k): int(v) for k, v in rows}


def ticket_count(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(TicketRow)) or 0)


def tickets_per_message_id(engine: Engine) -> dict[str, int]:
    """Email Message-ID -> number of tickets made from it (for duplicate checks)."""
    with Session(engine) as s:
        rows = s.execute(
            select(InboundMessageRow.message_id, func.count(MessageTicketRow.ticket_pk))
            .join(MessageTicketRow, MessageTicketRow.inbound_message_id == InboundMessageRow.id)
            .group_by(InboundMessageRow.message_id)
        )
        return {str(k): int(v) for k, v in rows}


def rows_per_message_id(engine: Engine) -> dict[str, list[str]]:
    with Session(engine) as s:
        out: dict[str, list[str]] = {}
        for mid, outcome in s.execute(
            select(InboundMessageRow.message_id, InboundMessageRow.outcome)
        ):
            out.setdefault(str(mid), []).append(str(outcome))
        return out
