"""The composition root's services: the ingest hooks, the periodic tasks and the daemon.

Everything here is built on ONE clock (``propdesk.clock``) handed down from
``daemon()``/``ingest_service()``. Read through ``propdesk.app`` (``app.daemon``...), which
imports this module only when one of its names is first used.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from propdesk.app.adapters import (
    analysis_pool,
    own_addresses,
    prepare_all_in,
    prepare_in,
    smtp_sender,
    templates,
)
from propdesk.app.conversations import (
    _auto_close_task,
    conversation_policy,
    staff_addresses,
    supervisor,
)
from propdesk.app.database import _safe_error, engine
from propdesk.app.digest import digest_task, render_digest
from propdesk.app.escalation import _escalation_task, escalation_hooks
from propdesk.app.features import (
    _deadline_task,
    advice_texts,
    deadline_hook,
    incident_hook,
    pager,
    recurrence_hook,
)
from propdesk.app.housekeeping import housekeeping_task
from propdesk.app.pipeline import analyser, business_hours, parser, rules
from propdesk.app.running import Daemon, reloader
from propdesk.app.supervision import MAX_SLEEP_SECONDS, Supervision, idle_watchers
from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.config import Config, MailboxConfig
from propdesk.core.ids import new_ticket_id
from propdesk.core.models import Ticket
from propdesk.core.report_model import DIGEST_KIND
from propdesk.core.rules import Rules, load_rules
from propdesk.core.sla import sla_deadlines
from propdesk.core.tenants import fill_from_directory
from propdesk.daemon.loop import Again, DaemonLoop, PeriodicTask, Shared
from propdesk.daemon.metrics import Metrics
from propdesk.daemon.poll import MailboxPoller
from propdesk.daemon.signals import StopFlag
from propdesk.errors import ConfigError, StoreError
from propdesk.incident_service import IncidentService
from propdesk.ingest import Analyse, IngestHook, IngestLimits, IngestService
from propdesk.ingest.service import DirectoryFor
from propdesk.ingest.types import Prepare, PrepareAll
from propdesk.logging import get_logger
from propdesk.mail.compose import Composer, message_id_domain
from propdesk.mail.smtp import SmtpSender
from propdesk.notify.delivery import OutboxDelivery
from propdesk.notify.hooks import NotificationHooks
from propdesk.outages import Outages
from propdesk.status_service import StatusChangeService
from propdesk.store import schema_version
from propdesk.store.conversations import TenantDirectory
from propdesk.store.session import sessions as store_sessions

log = get_logger(__name__)


def migrate(config: Config) -> None:
    """Upgrade the schema to head and log from which revision to which."""
    from propdesk.store import migrate as migrations  # noqa: PLC0415 - Alembic: only here

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


def outbox_delivery(
    config: Config,
    db: Engine | sessionmaker[Session],
    *,
    sender: SmtpSender | None = None,
    clock: Clock | None = None,
    shared: Shared | None = None,
) -> OutboxDelivery:
    """The outbox delivery service; its ``run_once`` is the daemon loop's periodic task (it
    looks at the loop's stop flag between mails and reports SMTP outages to the loop's
    tracker when ``shared`` is given)."""
    return OutboxDelivery(
        db,
        sender if sender is not None else smtp_sender(config),
        Composer(config, templates(config), renderers={DIGEST_KIND: render_digest}),
        config.notifications,
        own_addresses(config),
        clock=clock if clock is not None else SYSTEM_CLOCK,
        pager=pager(config),
        # between mails it yields to a stop request and to new mail announced by IDLE
        should_stop=(lambda: shared.stop.requested or shared.stop.woken)
        if shared is not None
        else lambda: False,
        outages=shared.outages if shared is not None else None,
        # the extra delivery workers' kept connections (a given sender serves alone)
        sender_factory=(lambda: smtp_sender(config)) if sender is None else None,
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
        timezone=config.business_hours.timezone,
        max_photo_bytes=config.notifications.assignment_photos_max_bytes,
    )


def notification_hooks(
    config: Config, the_rules: Rules | None = None, *, clock: Clock = SYSTEM_CLOCK
) -> NotificationHooks:
    """The in-transaction hooks ingest calls to queue notifications (and record bounces)."""
    the_rules = the_rules or rules(config)
    return NotificationHooks(
        the_rules.policy.sla,
        message_id_domain(config),
        enabled=config.notifications.enabled,
        clock=clock if clock is not None else SYSTEM_CLOCK,
        safety=the_rules.safety,
        advice=advice_texts(config, the_rules),
        paging=config.paging.enabled,
        supervisor=supervisor(config, the_rules),
        digest_delay=timedelta(minutes=config.conversations.reply_digest_minutes),
        tenant_status_updates=config.notifications.tenant_status_updates,
        timezone=config.business_hours.timezone,
        max_photo_bytes=config.notifications.assignment_photos_max_bytes,
        flood_notify=config.flood.notify or the_rules.policy.default_assignment.assignee,
        triage_address=config.triage.address,
    )


# --- ingest and the daemon ---------------------------------------------------------------------

#: Builds one in-transaction ingest hook (notifications write outbox rows, escalation sets clocks).
HookFactory = Callable[[Config, Rules, Clock], IngestHook]


#: Builds one periodic task for the daemon loop (outbox delivery, escalation pass).
TaskFactory = Callable[[Config, Rules, sessionmaker[Session], Clock, Shared], PeriodicTask]


def _notification_hooks(config: Config, the_rules: Rules, clock: Clock) -> IngestHook:
    return notification_hooks(config, the_rules, clock=clock)


def _outbox_task(
    config: Config, the_rules: Rules, made: sessionmaker[Session], clock: Clock, shared: Shared
) -> PeriodicTask:
    delivery = outbox_delivery(config, made, clock=clock, shared=shared)
    # One batch per worker a slice (a fraction of a second of SMTP): a backlog of notifications
    # never holds new mail up for long, and ``run --once`` runs slices until it is drained.
    slice_rows = config.notifications.delivery_batch * config.notifications.delivery_workers

    def run() -> object:
        # ended early by its budget, or by new mail announced by IDLE: the rest at once after
        stats = delivery.run_once(limit=slice_rows)
        more = stats.budget_spent or stats.stop_requested
        return Again(stats) if more else stats

    return PeriodicTask(delivery.name, config.intervals.outbox_seconds, run, close=delivery.close)


def incident_service(config: Config, eng: Engine, *, clock: Clock | None = None) -> IncidentService:
    """List, show, merge, split incidents; a status change reaches every linked ticket."""
    clk = clock if clock is not None else SYSTEM_CLOCK
    return IncidentService(eng, status_change_service(config, eng, clock=clk), clock=clk)


#: The in-transaction hooks of ingest, in the order they run (one line each), like PROBES.
INGEST_HOOKS: list[HookFactory] = [
    incident_hook,
    recurrence_hook,
    deadline_hook,
    _notification_hooks,
    escalation_hooks,
]
PERIODIC_TASKS: list[TaskFactory] = [
    _outbox_task,
    _escalation_task,
    _deadline_task,
    digest_task,
    _auto_close_task,
    housekeeping_task,
]


def sessions(eng: Engine) -> sessionmaker[Session]:
    return store_sessions(eng)


def ingest_service(
    config: Config,
    eng: Engine,
    *,
    the_rules: Rules | None = None,
    analyse: Analyse | None = None,
    extra_hooks: Sequence[IngestHook] = (),
    clock: Clock = SYSTEM_CLOCK,
    directory: DirectoryFor = TenantDirectory,
    prepare: Prepare | None = None,
    prepare_all: PrepareAll | None = None,
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
        analyse=analyse
        or analyser(the_rules, business_hours(config), staff_addresses(config, the_rules)),
        new_ticket_id=lambda: new_ticket_id(secrets.token_bytes),
        staff_addresses=staff_addresses(config, the_rules),
        hooks=[*(factory(config, the_rules, clock) for factory in INGEST_HOOKS), *extra_hooks],
        due_dates=due_dates,
        clock=clock,
        limits=IngestLimits(
            per_sender_per_hour=config.flood.per_sender_per_hour,
            per_mailbox_per_hour=config.flood.per_mailbox_per_hour,
            max_forward_depth=config.intake.max_forward_depth,
        ),
        conversation=conversation_policy(config, the_rules),
        directory=directory,
        fill=lambda ticket, tenant: fill_from_directory(ticket, tenant, policy),
        prepare=prepare,
        prepare_all=prepare_all,
    )


def daemon(
    config: Config,
    *,
    stop: StopFlag | None = None,
    mailboxes: list[MailboxConfig] | None = None,
    analyse: Analyse | None = None,
    metrics: Metrics | None = None,
    extra_hooks: Sequence[IngestHook] = (),
    clock: Clock = SYSTEM_CLOCK,
    directory: DirectoryFor = TenantDirectory,
    supervised: Supervision | None = None,
    idle: bool = True,
) -> Daemon:
    """Pollers for every configured mailbox plus the registered periodic tasks, all on ONE
    ``clock`` (tests pass theirs: the hour of day and the passing of time are theirs).

    Refuses to start on a schema that is not at the newest revision: every message would fail
    on a missing table otherwise.
    """
    the_rules = rules(config)
    pooled = engine(config)
    unpooled = engine(config, pooled=False)  # advisory locks must not go back to a pool
    try:
        current, head = schema_version.current_revision(unpooled), schema_version.head_revision()
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
    # an injected ``analyse`` (tests) runs here, in process; otherwise the workers do it
    pool = analysis_pool(config, clock) if analyse is None else None
    service = ingest_service(
        config,
        pooled,
        the_rules=the_rules,
        analyse=analyse,
        extra_hooks=extra_hooks,
        clock=clock,
        directory=directory,
        prepare=None if pool is None else prepare_in(pool),
        prepare_all=None if pool is None else prepare_all_in(pool),
    )
    made = sessions(pooled)
    shared = Shared(stop if stop is not None else StopFlag(), Outages(clock), metrics)
    pollers = [
        MailboxPoller(
            mb,
            ingest=service,
            sessions=made,
            lock_engine=unpooled,
            timeout_seconds=config.timeouts.imap_seconds,
            clock=clock,
            metrics=metrics,
            outages=shared.outages,
        )
        for mb in (config.mailboxes if mailboxes is None else mailboxes)
    ]
    tasks = [factory(config, the_rules, made, clock, shared) for factory in PERIODIC_TASKS]
    stop = shared.stop
    watched = [p.config for p in pollers] if idle else []
    state = supervised.feed.idle_state if supervised is not None else None
    loop = DaemonLoop(
        pollers,
        poll_seconds=config.intervals.poll_seconds,
        tasks=tasks,
        stop=stop,
        clock=clock,
        listeners=idle_watchers(config, watched, stop, state, clock=clock),
        observers=supervised.observers() if supervised is not None else (),
        max_sleep=supervised.max_sleep if supervised is not None else MAX_SLEEP_SECONDS,
        heartbeat_seconds=config.logging.heartbeat_minutes * 60,
        outages=shared.outages,
    )

    def rebuild() -> tuple[IngestService, list[PeriodicTask]]:
        new_rules = rules(config)
        templates(config)  # every template renders, or the reload is refused
        service = ingest_service(
            config, pooled, the_rules=new_rules, analyse=analyse, extra_hooks=extra_hooks,
            clock=clock, prepare=None if pool is None else prepare_in(pool),
            prepare_all=None if pool is None else prepare_all_in(pool),
        )  # fmt: skip
        fresh = [factory(config, new_rules, made, clock, shared) for factory in PERIODIC_TASKS]
        return service, fresh

    loop.reload = reloader(rebuild, pollers, loop, str(config.rules.file or "default"))
    return Daemon(loop, (pooled, unpooled), pool)
