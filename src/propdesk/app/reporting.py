"""Composition of the reports: the figures for a window and the weekly digest service.

Kept apart from ``app/__init__`` so the composition root stays small; matplotlib loads only when
a digest or an HTML report is rendered, not with every command that imports ``app``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.config import Config
from propdesk.core.report_model import ReportWindow, build_report
from propdesk.core.rules import Rules, load_rules
from propdesk.daemon.loop import PeriodicTask
from propdesk.digest_service import DigestService
from propdesk.mail.compose import RenderedMail, message_id_domain
from propdesk.store.report_queries import load_report


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
        (the_rules or load_rules(config.rules.file)).policy.sla,
        message_id_domain(config),
        clock=clock if clock is not None else SYSTEM_CLOCK,
    )


def digest_task(
    config: Config, the_rules: Rules, made: sessionmaker[Session], clock: Clock, _shared: object
) -> PeriodicTask:
    """The daemon loop's digest check (a no-op unless [report] digest is on)."""
    service = digest_service(config, made, the_rules=the_rules, clock=clock)
    return PeriodicTask(service.name, config.report.digest_check_seconds, service.run_once)


def report(
    config: Config, db: Engine | sessionmaker[Session], window: ReportWindow, the_rules: Rules
) -> dict[str, Any]:
    """The report's figures for ``window``, aggregated by PostgreSQL, as one JSON-ready dict."""
    data = load_report(
        db, window, the_rules.policy.sla, recurring_days=config.report.recurring_days
    )
    return build_report(data)
