"""The composition root's wiring of the tenant-safety and building features (issue 18):
safety advice texts, incidents, recurring problems, statutory deadlines, the paging hook, and
the business hours they share. Re-exported by ``propdesk.app``; the lists (``INGEST_HOOKS``,
``PERIODIC_TASKS``) stay there.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.config import Config
from propdesk.core.hours import BusinessHours
from propdesk.core.rules import Rules, load_rules
from propdesk.core.safety import AdviceTexts
from propdesk.daemon.loop import PeriodicTask, Shared
from propdesk.deadline_service import DeadlineHook, DeadlinePass
from propdesk.errors import ConfigError
from propdesk.incident_service import IncidentHook
from propdesk.ingest import IngestHook
from propdesk.mail.compose import message_id_domain
from propdesk.notify.pager import CommandPager, Pager, WebhookPager
from propdesk.recurrence_service import RecurrenceHook


def pager(config: Config) -> Pager | None:
    """The after-hours paging hook of the config (a command or a webhook), or None."""
    pc = config.paging
    if pc.command:
        return CommandPager(pc.command, pc.timeout_seconds)
    if pc.webhook_url is not None:
        return WebhookPager(pc.webhook_url, pc.timeout_seconds)
    return None


def advice_texts(config: Config, the_rules: Rules) -> AdviceTexts | None:
    """The safety advice texts of the config, or None when the advice mail is off. Every hazard
    of the rules' safety list needs a text: a missing one is a ConfigError at start."""
    sc = config.safety
    if not sc.enabled:
        return None
    for prop in ("", *sc.property_advice):
        have = {**sc.advice, **sc.property_advice.get(prop, {})}
        missing = sorted(the_rules.safety.advice_keys() - set(have))
        if missing:
            where = f" (property {prop})" if prop else ""
            raise ConfigError(f"[safety] advice{where}: no text for {', '.join(missing)}")
    return AdviceTexts(sc.numbers, sc.advice, sc.property_numbers, sc.property_advice)


def incident_hook(config: Config, the_rules: Rules, clock: Clock = SYSTEM_CLOCK) -> IngestHook:
    """Links new tickets to their building's incident; runs before the notification hook."""
    ic = config.incidents
    return IncidentHook(
        the_rules.building_systems,
        the_rules.policy.sla,
        message_id_domain(config),
        window=timedelta(minutes=ic.window_minutes),
        min_units=ic.min_units,
        enabled=ic.enabled,
        clock=clock,
    )


def recurrence_hook(config: Config, the_rules: Rules, clock: Clock = SYSTEM_CLOCK) -> IngestHook:
    """Flags repeats of a unit's problem, with the report's ``recurring_days`` (one setting)."""
    return RecurrenceHook(config.report.recurring_days)


def deadline_hook(config: Config, the_rules: Rules, clock: Clock = SYSTEM_CLOCK) -> IngestHook:
    """The statutory repair deadline of each new ticket (none unless the rules name a law)."""
    return DeadlineHook(the_rules.statutory, business_hours(config))


def deadline_pass(
    config: Config,
    db: Engine | sessionmaker[Session],
    *,
    clock: Clock | None = None,
    the_rules: Rules | None = None,
) -> DeadlinePass:
    """Escalates each ticket past its statutory deadline once."""
    return DeadlinePass(
        db,
        (the_rules or load_rules(config.rules.file)).policy.sla,
        message_id_domain(config),
        clock=clock if clock is not None else SYSTEM_CLOCK,
        batch_size=config.escalation.batch_size,
    )


def _deadline_task(
    config: Config, the_rules: Rules, made: sessionmaker[Session], clock: Clock, _shared: Shared
) -> PeriodicTask:
    task = deadline_pass(config, made, clock=clock, the_rules=the_rules)
    return PeriodicTask(task.name, config.intervals.escalation_seconds, task.run_once)


def business_hours(config: Config) -> BusinessHours:
    bh = config.business_hours
    return BusinessHours.from_values(bh.timezone, bh.parsed_hours(), bh.holidays)
