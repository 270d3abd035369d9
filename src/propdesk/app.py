"""The composition root: builds every adapter and service from the config.

The CLI and the daemon get their collaborators here and nowhere else, so wiring lives in one place.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, text

from propdesk.config import Config, config_path, load_config
from propdesk.core.rules import load_rules
from propdesk.escalation_service import EscalationService
from propdesk.logging import configure_logging, get_logger
from propdesk.mail.compose import Composer, Templates, message_id_domain
from propdesk.mail.smtp import SmtpSender, TokenSource, token_from_command
from propdesk.notify.delivery import Clock, OutboxDelivery, utc_now
from propdesk.store import migrate as migrations
from propdesk.store.engine import make_engine

log = get_logger(__name__)


def load(explicit_path: str | os.PathLike[str] | None, log_format: str | None = None) -> Config:
    """Read and validate the config, then configure logging from it."""
    config = load_config(config_path(explicit_path))
    configure_logging(config.logging.level, log_format or config.logging.format)
    return config


def engine(config: Config, *, pooled: bool = True) -> Engine:
    """The database engine, with the password resolved from its secret reference."""
    db = config.database
    password = db.password.resolve() if db.password is not None else None
    return make_engine(db, password, config.timeouts.database_seconds, pooled=pooled)


def migrate(config: Config) -> None:
    """Upgrade the schema to head and log from which revision to which."""
    eng = engine(config, pooled=False)
    try:
        before = migrations.current_revision(eng)
        migrations.upgrade(eng)
        after = migrations.current_revision(eng)
        log.info("migrate.done", from_revision=before, to_revision=after)
    finally:
        eng.dispose()


@dataclass(frozen=True)
class ProbeResult:
    """One line of ``check-config --connect``."""

    target: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.target}: {self.detail}"


Probe = Callable[[Config], Iterator[ProbeResult]]


def _probe_database(config: Config) -> Iterator[ProbeResult]:
    db = config.database
    target = f"database {db.user}@{db.host}:{db.port}/{db.name}"
    try:
        eng = engine(config, pooled=False)
        try:
            with eng.connect() as conn:
                version = conn.execute(text("show server_version")).scalar_one()
            current = migrations.current_revision(eng)
            head = migrations.head_revision(eng)
        finally:
            eng.dispose()
    except Exception as exc:  # a probe reports every failure as a line
        yield ProbeResult(target, False, _safe_error(exc))
        return
    if current == head:
        schema = "schema up to date"
    else:
        schema = f"schema at {current}, head is {head}: run `propdesk migrate`"
    yield ProbeResult(target, current == head, f"PostgreSQL {version}, {schema}")


def _safe_error(exc: BaseException) -> str:
    """An error as one line, without connection strings (which could carry a password)."""
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{type(exc).__name__}: {message}"


def smtp_sender(config: Config) -> SmtpSender:
    """The SMTP adapter with its secrets resolved (password or an OAuth2 token source)."""
    smtp = config.smtp
    password = smtp.password.resolve() if smtp.password is not None else None
    token: TokenSource | None = None
    if smtp.oauth_token is not None:
        ref = smtp.oauth_token
        token = ref.resolve
    elif smtp.oauth_token_command:
        token = token_from_command(smtp.oauth_token_command, config.timeouts.smtp_seconds)
    return SmtpSender(smtp, timeout=config.timeouts.smtp_seconds, password=password, token=token)


def own_addresses(config: Config) -> list[str]:
    """Addresses that are us: never mailed (a loop), and recognised by the intake."""
    found = [config.smtp.from_address, *config.intake.own_addresses]
    if config.smtp.reply_to:
        found.append(config.smtp.reply_to)
    found.extend(m.username for m in config.mailboxes if "@" in m.username)
    return found


def templates(config: Config) -> Templates:
    """Notification templates, every one loaded and test-rendered now (a ConfigError if broken)."""
    return Templates(config.notifications.templates_dir)


def outbox_delivery(
    config: Config, eng: Engine, *, sender: SmtpSender | None = None, clock: Clock | None = None
) -> OutboxDelivery:
    """The outbox delivery task for the daemon loop (name, interval and this callable)."""
    return OutboxDelivery(
        eng,
        sender if sender is not None else smtp_sender(config),
        Composer(config, templates(config)),
        config.notifications,
        own_addresses(config),
        clock=clock if clock is not None else utc_now,
    )


def _probe_smtp(config: Config) -> Iterator[ProbeResult]:
    smtp = config.smtp
    target = f"smtp {smtp.host}:{smtp.port}"
    try:
        templates(config)
        detail = smtp_sender(config).probe()
    except Exception as exc:  # a probe reports every failure as a line
        yield ProbeResult(target, False, _safe_error(exc))
        return
    yield ProbeResult(target, True, detail)


# Probes run by `check-config --connect`, in order. Adapters add theirs here.
PROBES: list[Probe] = [_probe_database, _probe_smtp]


def probe(config: Config) -> Iterator[ProbeResult]:
    """Run every probe; each yields one line per thing it checked."""
    for p in PROBES:
        yield from p(config)


def escalation_service(
    config: Config, eng: Engine, *, clock: Callable[[], datetime] | None = None
) -> EscalationService:
    """The escalation/SLA service: the daemon's periodic pass and the ingest's creation hook."""
    return EscalationService(
        eng,
        load_rules(config.rules.file),
        clock=clock or utc_now,
        message_id_domain=message_id_domain(config),
        warn_before=timedelta(minutes=config.escalation.warn_before_resolution_minutes),
        batch_size=config.escalation.batch_size,
    )
