"""Composition of the weekly report digest: its service, its periodic task and its renderer.

matplotlib loads only when a digest is rendered (``render_digest``), not when the daemon starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.core.rules import load_rules
from propdesk.daemon.loop import PeriodicTask
from propdesk.digest_service import DigestService
from propdesk.mail.compose import RenderedMail, message_id_domain

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from propdesk.config import Config
    from propdesk.core.rules import Rules


def render_digest(context: Mapping[str, Any]) -> RenderedMail:
    """The digest mail's parts (text, HTML, PNG charts), rendered when it is composed."""
    from propdesk.reports.digest import render_digest as render  # noqa: PLC0415

    return render(context)


def digest_service(
    config: Config,
    db: Engine | sessionmaker[Session],
    *,
    the_rules: Rules | None = None,
    clock: Clock | None = None,
) -> DigestService:
    """The weekly report digest ([report] digest_*): queued in the outbox once per period."""
    return DigestService(
        db,
        config.report,
        config.report.digest_timezone or config.business_hours.timezone,
        (the_rules or load_rules(config.rules.file, model=False)).policy.sla,
        message_id_domain(config),
        clock=clock if clock is not None else SYSTEM_CLOCK,
    )


def digest_task(
    config: Config, the_rules: Rules, made: sessionmaker[Session], clock: Clock, _shared: object
) -> PeriodicTask:
    """The daemon loop's digest check (a no-op unless [report] digest is on)."""
    service = digest_service(config, made, the_rules=the_rules, clock=clock)
    return PeriodicTask(service.name, config.report.digest_check_seconds, service.run_once)
