"""Composition of the report: its figures for a window, aggregated by PostgreSQL.

Kept light on purpose: ``propdesk report`` imports this, the config and the store's queries,
not the daemon, the mail adapters or the triage model (the report needs only the SLA targets).
The weekly digest is ``propdesk.app.digest``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from propdesk.core.report_model import build_report
from propdesk.core.rules import load_rules
from propdesk.store.report_queries import load_report

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from propdesk.config import Config
    from propdesk.core.report_model import ReportWindow
    from propdesk.core.rules import Rules


def report(
    config: Config,
    db: Engine | sessionmaker[Session],
    window: ReportWindow,
    the_rules: Rules | None = None,
) -> dict[str, Any]:
    """The report's figures for ``window``, aggregated by PostgreSQL, as one JSON-ready dict.
    Without ``the_rules``, the configured rules are read without the triage model."""
    sla = (the_rules or load_rules(config.rules.file, model=False)).policy.sla
    data = load_report(db, window, sla, recurring_days=config.report.recurring_days)
    return build_report(data)
