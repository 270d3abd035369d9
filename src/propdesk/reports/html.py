"""The report as one self-contained HTML page: tables and inline SVG charts, no script, no
network (styles inline; readable on a phone, printable on A4 through ``@media print``)."""

from __future__ import annotations

from typing import Any

import jinja2

from propdesk.reports.charts import Chart, all_charts
from propdesk.reports.text import hours, pct

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("propdesk.reports", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def report_title(report: dict[str, Any]) -> str:
    """``Maintenance report 2026-11-04 to 2026-12-03`` (plus the property/building)."""
    w = report["window"]
    title = f"Maintenance report {w['since']} to {w['until']}"
    if w.get("property"):
        title += f", property {w['property']}"
    if w.get("building"):
        title += f", building {w['building']}"
    return title


def render_html(report: dict[str, Any], charts: list[Chart] | None = None) -> str:
    """The page; ``charts`` default to every chart of the report, drawn as SVG."""
    drawn = charts if charts is not None else all_charts(report)
    return _ENV.get_template("report.html").render(
        title=report_title(report),
        r=report,
        s=report["summary"],
        p=report["performance"],
        charts=drawn,
        hours=hours,
        pct=pct,
    )
