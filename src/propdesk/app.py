"""The composition root: builds every adapter and service from the config.

The CLI and the daemon get their collaborators here and nowhere else, so wiring lives in one place.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.config import Config, MailboxConfig, config_path, load_config
from propdesk.core.hours import BusinessHours
from propdesk.core.ids import new_ticket_id
from propdesk.core.message import InboundMessage
from propdesk.core.models import Ticket
from propdesk.core.pipeline import analyse_message
from propdesk.core.rules import Rules, load_rules
from propdesk.core.sla import sla_deadlines
from propdesk.daemon.loop import DaemonLoop, PeriodicTask
from propdesk.daemon.metrics import Metrics
from propdesk.daemon.poll import MailboxPoller
from propdesk.daemon.signals import StopFlag
from propdesk.errors import ConfigError, MailboxError, StoreError
from propdesk.escalation_service import EscalationHook, EscalationService
from propdesk.ingest import Analyse, Analysis, IngestHook, IngestService, Parse
from propdesk.logging import configure_logging, get_logger
from propdesk.mail.compose import Composer, Templates, message_id_domain
from propdesk.mail.imap import ImapMailbox
from propdesk.mail.parse import parse_message
from propdesk.mail.smtp import SmtpSender, TokenSource, token_from_command
from propdesk.notify.delivery import OutboxDelivery
from propdesk.notify.hooks import NotificationHooks
from propdesk.status_service import StatusChangeService
from propdesk.store import migrate as migrations
from propdesk.store.engine import make_engine

log = get_logger(__name__)


def clock() -> Clock:
    """The one clock (wall time and a monotonic timer) services and CLI commands read the time
    from; tests hand a service their own through the ``clock`` parameter of its builder."""
    return SYSTEM_CLOCK


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
    except OperationalError as exc:  # unreachable/refused: one line for the operator
        db = config.database
        raise StoreError(
            f"database {db.user}@{db.host}:{db.port}/{db.name}: {_safe_error(exc)}"
        ) from None
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
    config: Config,
    db: Engine | sessionmaker[Session],
    *,
    sender: SmtpSender | None = None,
    clock: Clock | None = None,
) -> OutboxDelivery:
    """The outbox delivery service; its ``run_once`` is the daemon loop's periodic task."""
    return OutboxDelivery(
        db,
        sender if sender is not None else smtp_sender(config),
        Composer(config, templates(config)),
        config.notifications,
        own_addresses(config),
        clock=clock if clock is not None else SYSTEM_CLOCK,
    )


def status_change_service(
    config: Config, eng: Engine, *, clock: Clock | None = None
) -> StatusChangeService:
    """Status changes and re-assignment, with their notifications queued in the same txn."""
    return StatusChangeService(
        eng,
        load_rules(config.rules.file).policy.sla,
        message_id_domain(config),
        tenant_status_updates=config.notifications.tenant_status_updates,
        notifications_enabled=config.notifications.enabled,
        clock=clock if clock is not None else SYSTEM_CLOCK,
    )


def notification_hooks(
    config: Config, the_rules: Rules | None = None, *, clock: Clock | None = None
) -> NotificationHooks:
    """The in-transaction hooks ingest calls to queue notifications (and record bounces)."""
    return NotificationHooks(
        (the_rules or load_rules(config.rules.file)).policy.sla,
        message_id_domain(config),
        enabled=config.notifications.enabled,
        clock=clock if clock is not None else SYSTEM_CLOCK,
    )


def _probe_smtp(config: Config) -> Iterator[ProbeResult]:
    smtp = config.smtp
    target = f"smtp {smtp.host}:{smtp.port}"
    if "smtp" not in config.model_fields_set:
        # No [smtp] section: a mailbox-only set-up being checked; say what would be used.
        yield ProbeResult(target, True, "no [smtp] section in the file: not checked")
        return
    try:
        templates(config)
        detail = smtp_sender(config).probe()
    except Exception as exc:  # a probe reports every failure as a line
        yield ProbeResult(target, False, _safe_error(exc))
        return
    yield ProbeResult(target, True, detail)
    yield _probe_staff_not_own(config)


def _probe_staff_not_own(config: Config) -> ProbeResult:
    """Staff mail to one of our own addresses is suppressed as a loop: say so before it is."""
    policy = load_rules(config.rules.file).policy
    staff = {a.assignee for a in policy.assignment.values()} | set(policy.specialists.values())
    staff |= {policy.default_assignment.assignee} | {e.target for e in policy.escalations}
    own = {a.lower() for a in own_addresses(config)}
    clash = sorted(a for a in staff if a.lower() in own)
    if clash:
        detail = (
            f"{', '.join(clash)} receive(s) tickets but is also our own address: those "
            "notifications would be suppressed as a mail loop (use another [smtp] from_address)"
        )
        return ProbeResult("notifications", False, detail)
    return ProbeResult("notifications", True, "no rule address is one of our own")


def _probe_mailboxes(config: Config) -> Iterator[ProbeResult]:
    """Each mailbox: login, its folders, and the capabilities exactly-once relies on."""
    for mb in config.mailboxes:
        target = f"mailbox {mb.name} {mb.username}@{mb.host}:{mb.port} ({mb.tls})"
        try:
            with ImapMailbox(mb, config.timeouts.imap_seconds, connect_attempts=1) as imap:
                missing = [
                    f
                    for f in (mb.folder, mb.processed_folder, mb.failed_folder)
                    if not imap.folder_exists(f)
                ]
                caps = {c: imap.has(c) for c in ("MOVE", "UIDPLUS", "IDLE")}
                mode = imap.removal_mode
        except (MailboxError, ConfigError) as exc:
            yield ProbeResult(target, False, str(exc))
            continue
        have = ", ".join(f"{c} {'yes' if ok else 'no'}" for c, ok in caps.items())
        how = {
            "move": "processed mail is MOVEd",
            "copy_expunge": "no MOVE: COPY + UID EXPUNGE of just that UID",
            "none": "no MOVE/UIDPLUS: mail stays, a UID high-water mark is kept",
        }[mode]
        if missing and mb.folder in missing:
            yield ProbeResult(target, False, f"folder {mb.folder!r} does not exist ({have})")
        elif missing:
            note = f"{', '.join(missing)} missing (created at first run)"
            yield ProbeResult(target, True, f"logged in; {note}; {have}; {how}")
        else:
            yield ProbeResult(target, True, f"logged in; folders ok; {have}; {how}")


# Probes run by `check-config --connect`, in order. Adapters add theirs here.
PROBES: list[Probe] = [_probe_database, _probe_mailboxes, _probe_smtp]


def probe(config: Config) -> Iterator[ProbeResult]:
    """Run every probe; each yields one line per thing it checked."""
    for p in PROBES:
        yield from p(config)


# --- ingest and the daemon ---------------------------------------------------------------------

#: Builds one in-transaction ingest hook (notifications write outbox rows, escalation sets clocks).
HookFactory = Callable[[Config, Rules], IngestHook]
#: Builds one periodic task for the daemon loop (outbox delivery, escalation pass).
TaskFactory = Callable[[Config, Rules, sessionmaker[Session]], PeriodicTask]


def _outbox_task(config: Config, the_rules: Rules, made: sessionmaker[Session]) -> PeriodicTask:
    delivery = outbox_delivery(config, made)
    return PeriodicTask(
        delivery.name, config.intervals.outbox_seconds, delivery.run_once, close=delivery.close
    )


def escalation_service(
    config: Config,
    db: Engine | sessionmaker[Session] | None,
    *,
    the_rules: Rules | None = None,
    clock: Clock | None = None,
) -> EscalationService:
    """The escalation/SLA service: the loop's periodic pass (``run_pass``) and, with ``db``
    None, the creation hook's planner (it writes in the ingest transaction)."""
    return EscalationService(
        db,
        the_rules or load_rules(config.rules.file),
        clock=clock if clock is not None else SYSTEM_CLOCK,
        message_id_domain=message_id_domain(config),
        warn_before=timedelta(minutes=config.escalation.warn_before_resolution_minutes),
        batch_size=config.escalation.batch_size,
        enabled=config.escalation.enabled,
    )


def escalation_hooks(config: Config, the_rules: Rules | None = None) -> EscalationHook:
    """In the creation transaction: escalations due at once, and each ticket's next time."""
    return EscalationHook(escalation_service(config, None, the_rules=the_rules))


def _escalation_task(config: Config, the_rules: Rules, made: sessionmaker[Session]) -> PeriodicTask:
    service = escalation_service(config, made, the_rules=the_rules)

    def run() -> str:
        return service.run_pass().summary()

    return PeriodicTask(service.name, config.intervals.escalation_seconds, run)


#: Colleagues register their factories here (one line each), like PROBES.
INGEST_HOOKS: list[HookFactory] = [notification_hooks, escalation_hooks]
PERIODIC_TASKS: list[TaskFactory] = [_outbox_task, _escalation_task]


def rules(config: Config) -> Rules:
    """The default rules plus the ops override named in the config (validated)."""
    return load_rules(config.rules.file)


def business_hours(config: Config) -> BusinessHours:
    bh = config.business_hours
    return BusinessHours.from_values(bh.timezone, bh.parsed_hours(), bh.holidays)


def staff_addresses(config: Config, the_rules: Rules) -> frozenset[str]:
    """Every address the rules send work to (assignees, specialists, escalation targets) plus
    our own: mail from them that is not a reply is not a tenant request."""
    policy = the_rules.policy
    found = {a.assignee for a in policy.assignment.values()}
    found |= set(policy.specialists.values())
    found.add(policy.default_assignment.assignee)
    found |= {e.target for e in policy.escalations}
    found |= set(own_addresses(config))
    return frozenset(a.lower() for a in found if "@" in a)


def parser(config: Config) -> Parse:
    intake = config.intake
    own = own_addresses(config)

    def parse(raw: bytes) -> InboundMessage:
        return parse_message(
            raw,
            max_attachment_bytes=intake.max_attachment_bytes,
            own_addresses=own,
            blocked_senders=intake.blocked_senders,
            loop_header=intake.loop_header,
        )

    return parse


def analyser(the_rules: Rules, hours: BusinessHours) -> Analyse:
    """The core pipeline (``propdesk.core.pipeline.analyse_message``) as ingest calls it."""

    def analyse(msg: InboundMessage, received_at: datetime, now: datetime) -> Analysis:
        result = analyse_message(
            msg,
            rules=the_rules,
            business_hours=hours,
            received_at=received_at,
            now=now,
            new_id=secrets.token_bytes,
        )
        return Analysis(result.tickets, result.ignored_reason)

    return analyse


def sessions(eng: Engine) -> sessionmaker[Session]:
    return sessionmaker(eng, expire_on_commit=False)


def ingest_service(
    config: Config,
    eng: Engine,
    *,
    the_rules: Rules | None = None,
    analyse: Analyse | None = None,
    extra_hooks: Sequence[IngestHook] = (),
) -> IngestService:
    """The per-message ingest service with every hook registered in INGEST_HOOKS."""
    the_rules = the_rules or rules(config)
    policy = the_rules.policy

    def due_dates(ticket: Ticket) -> tuple[datetime | None, datetime | None]:
        d = sla_deadlines(ticket, policy)
        return d.response_due, d.resolution_due

    return IngestService(
        sessions(eng),
        parse=parser(config),
        analyse=analyse or analyser(the_rules, business_hours(config)),
        new_ticket_id=lambda: new_ticket_id(secrets.token_bytes),
        staff_addresses=staff_addresses(config, the_rules),
        hooks=[*(factory(config, the_rules) for factory in INGEST_HOOKS), *extra_hooks],
        due_dates=due_dates,
    )


@dataclass
class Daemon:
    """The assembled daemon; ``close()`` releases the engines."""

    loop: DaemonLoop
    engines: tuple[Engine, ...]

    def close(self) -> None:
        for task in self.loop.tasks:
            if task.close is not None:
                try:
                    task.close()
                except Exception:  # shutdown goes on: the engines must still be released
                    log.warning("daemon.task_close_failed", task=task.name, exc_info=True)
        for eng in self.engines:
            eng.dispose()


def daemon(
    config: Config,
    *,
    stop: StopFlag | None = None,
    mailboxes: list[MailboxConfig] | None = None,
    analyse: Analyse | None = None,
    metrics: Metrics | None = None,
    extra_hooks: Sequence[IngestHook] = (),
) -> Daemon:
    """Pollers for every configured mailbox plus the registered periodic tasks.

    Refuses to start on a schema that is not at the newest revision: every message would fail
    on a missing table otherwise.
    """
    the_rules = rules(config)
    pooled = engine(config)
    unpooled = engine(config, pooled=False)  # advisory locks must not go back to a pool
    try:
        current, head = migrations.current_revision(unpooled), migrations.head_revision(unpooled)
    except Exception as exc:
        pooled.dispose()
        unpooled.dispose()
        raise StoreError(f"cannot reach the database: {_safe_error(exc)}") from exc
    if current != head:
        pooled.dispose()
        unpooled.dispose()
        raise ConfigError(
            f"database schema is at {current or 'nothing'}, the code needs {head}: "
            "run `propdesk migrate` first"
        )
    service = ingest_service(
        config, pooled, the_rules=the_rules, analyse=analyse, extra_hooks=extra_hooks
    )
    made = sessions(pooled)
    pollers = [
        MailboxPoller(
            mb,
            ingest=service,
            sessions=made,
            lock_engine=unpooled,
            timeout_seconds=config.timeouts.imap_seconds,
            metrics=metrics,
        )
        for mb in (config.mailboxes if mailboxes is None else mailboxes)
    ]
    tasks = [factory(config, the_rules, made) for factory in PERIODIC_TASKS]
    loop = DaemonLoop(pollers, poll_seconds=config.intervals.poll_seconds, tasks=tasks, stop=stop)
    return Daemon(loop, (pooled, unpooled))
