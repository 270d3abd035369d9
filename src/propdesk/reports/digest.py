"""The weekly digest mail: the report as text, as simple HTML, and its charts as PNG images.

Mail clients do not show inline SVG (and many strip ``<style>``), so the digest's HTML is plain
tables with inline styles and ``<img src="cid:...">`` for each chart, drawn by the same code as
the HTML report's (``propdesk.reports.charts``), as PNG.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2

from propdesk.core.report_model import restore_order
from propdesk.mail.compose import RenderedMail
from propdesk.reports.charts import all_charts
from propdesk.reports.html import report_title
from propdesk.reports.text import hours, pct, render_text

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("propdesk.reports", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def content_id(chart: str) -> str:
    """The Content-ID (without brackets) of one chart's image in the digest."""
    return f"chart-{chart}@report.propdesk"


def render_digest(context: Mapping[str, Any]) -> RenderedMail:
    """The digest of the report stored in an outbox row's context (``{"report": {...}}``)."""
    report = restore_order(context["report"])
    charts = all_charts(report)
    title = "Weekly " + report_title(report).replace("Maintenance", "maintenance", 1)
    html = _ENV.get_template("digest.html").render(
        title=title,
        r=report,
        s=report["summary"],
        p=report["performance"],
        charts=[(c.title, content_id(c.name)) for c in charts],
        hours=hours,
        pct=pct,
    )
    return RenderedMail(
        subject=title,
        text=render_text(report),
        html=html,
        images=[(content_id(c.name), c.png()) for c in charts],
    )
