"""The report as plain text: for the terminal and the digest mail's text part."""

from __future__ import annotations

from typing import Any


def pct(value: float | None) -> str:
    """A share as a percentage, ``n/a`` when nothing was decided."""
    return "n/a" if value is None else f"{value * 100:.1f}%"


def hours(value: float | None) -> str:
    """A duration in hours, ``n/a`` when there is none."""
    return "n/a" if value is None else f"{value:.1f} h"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"


def render_text(report: dict[str, Any]) -> str:
    """Every figure of the report, one topic per line."""
    w, s, perf = report["window"], report["summary"], report["performance"]
    scope = "".join(
        f", {label} {w[key]}"
        for key, label in (("property", "property"), ("building", "building"))
        if w[key]
    )
    satisfaction = (
        "n/a (no ratings yet)"
        if perf["tenant_satisfaction"] is None
        else f"{perf['tenant_satisfaction']:.2f} of 5"
    )
    lines = [
        f"report {w['since']} .. {w['until']} ({w['timezone']}{scope})",
        f"tickets: {s['total_tickets']} ({s['open_tickets']} open, "
        f"{s['closed_tickets']} resolved or closed, {s['open_breached']} open past an SLA)",
        f"resolution time ({s['resolved_tickets']} resolved): mean "
        f"{hours(s['avg_resolution_time'])}, median {hours(s['median_resolution_time'])}, "
        f"p90 {hours(s['p90_resolution_time'])}, max {hours(s['max_resolution_time'])}",
        f"SLA met: resolution {pct(perf['sla_compliance'])}, "
        f"first response {pct(perf['response_sla_compliance'])}",
        f"escalated {pct(perf['escalation_rate'])} ({perf['escalated_tickets']}), "
        f"reopened {pct(perf['reopen_rate'])} ({perf['reopened_tickets']})",
        f"tenant satisfaction: {satisfaction} ({perf['satisfaction_count']} rated)",
    ]
    for urgency, clocks in report["sla"].items():
        lines.append(
            f"  urgency {urgency}: response {pct(clocks['response'])} of "
            f"{clocks['response_decided']}, resolution {pct(clocks['resolution'])} of "
            f"{clocks['resolution_decided']}"
        )
    for title, key in (
        ("by category", "by_category"),
        ("by subcategory", "by_subcategory"),
        ("by urgency", "by_urgency"),
        ("by status", "by_status"),
    ):
        lines.append(f"{title}: {_counts(report[key])}")
    lines.append("by assignee (received, open now, resolved, median resolution):")
    for a in report["assignees"]:
        lines.append(
            f"  {a['assignee']}  {a['tickets']}  {a['open_load']}  {a['resolved']}  "
            f"{hours(a['median_resolution_time'])}"
        )
    lines.append(f"backlog (open now, by age): {_counts(report['backlog'])}")
    lines.append(f"recurring units (repeat within {report['recurring_days']} days):")
    for r in report["recurring_units"]:
        where = f" building {r['building']}" if r["building"] else ""
        lines.append(
            f"  {r['unit_number']} ({r['property_id']}{where}): {r['repeats']} repeat(s) "
            f"in {r['tickets']} ticket(s)"
        )
    if not report["recurring_units"]:
        lines.append("  none")
    lines.append("per day (received, resolved, share of that day's resolved):")
    rates = report["trends"]["resolution_rates"]
    for day, n in report["trends"]["daily_creation"].items():
        done = report["trends"]["daily_resolved"][day]
        lines.append(f"  {day}  {n:5d}  {done:5d}  {pct(rates.get(day))}")
    return "\n".join(lines) + "\n"
