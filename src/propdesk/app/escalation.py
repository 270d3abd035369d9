"""The composition root's wiring of escalation and SLA tracking: the service (the loop's
periodic pass, and with no database the creation hook's planner) and its periodic task.
Re-exported by ``propdesk.app``; the lists (``INGEST_HOOKS``, ``PERIODIC_TASKS``) stay there.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.config import Config
from propdesk.core.rules import Rules, load_rules
from propdesk.daemon.loop import PeriodicTask, Shared
from propdesk.escalation_service import EscalationHook, EscalationService
from propdesk.mail.compose import message_id_domain


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


def escalation_hooks(
    config: Config, the_rules: Rules | None = None, clock: Clock = SYSTEM_CLOCK
) -> EscalationHook:
    """In the creation transaction: escalations due at once, and each ticket's next time."""
    return EscalationHook(escalation_service(config, None, the_rules=the_rules, clock=clock))


def _escalation_task(
    config: Config, the_rules: Rules, made: sessionmaker[Session], clock: Clock, _shared: Shared
) -> PeriodicTask:
    service = escalation_service(config, made, the_rules=the_rules, clock=clock)

    def run() -> str:
        return service.run_pass().summary()

    return PeriodicTask(service.name, config.intervals.escalation_seconds, run)
