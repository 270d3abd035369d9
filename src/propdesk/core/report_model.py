"""The report's shape: its window, its buckets and the JSON-ready figures (pure, stdlib only).

PostgreSQL computes the aggregates (``propdesk.store.report_queries``); this module decides what
they mean and how they are laid out, so every output format (text, JSON, HTML, CSV, the digest)
reads one dict:

- The **window** is a range of whole days in the business time zone: tickets *received* in
  ``[since, until)``. By default the last 30 days, today included.
- **Backlog** and each assignee's **open load** count every ticket still open *now*, whenever it
  arrived (what is waiting), not only the window's.
- Rates are ``None`` when nothing was decided (no made-up 0 % or 100 %); a rating average is
  ``None`` until there are ratings, with its count beside it.
- Percentiles are PostgreSQL's ``percentile_cont`` (linear interpolation between the data
  points), so the 90th percentile never exceeds the longest resolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from propdesk.core.models import ensure_utc, iso_utc

#: Default report window, in days (today included).
DEFAULT_DAYS = 30

#: Backlog age buckets: (label, upper bound in hours; None = no bound). Ascending.
BACKLOG_BUCKETS: tuple[tuple[str, float | None], ...] = (
    ("< 1 day", 24.0),
    ("1-3 days", 72.0),
    ("3-7 days", 168.0),
    ("7-30 days", 720.0),
    ("> 30 days", None),
)

#: How many recurring units the report lists.
TOP_RECURRING = 10

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: The outbox kind of the weekly digest mail.
DIGEST_KIND = "report_digest"


@dataclass(frozen=True)
class ReportWindow:
    """Which tickets a report covers and the moment SLA clocks and ages are read at."""

    since: datetime  # UTC, start of the first day (business time zone)
    until: datetime  # UTC, start of the day after the last
    timezone: str
    now: datetime
    property_id: str | None = None
    building: str | None = None

    def days(self) -> list[date]:
        """Every local day of the window, in order (the daily series has one point each)."""
        zone = ZoneInfo(self.timezone)
        first = self.since.astimezone(zone).date()
        last = (self.until - timedelta(microseconds=1)).astimezone(zone).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def to_dict(self) -> dict[str, Any]:
        days = self.days()
        return {
            "since": days[0].isoformat() if days else None,
            "until": days[-1].isoformat() if days else None,
            "timezone": self.timezone,
            "generated_at": iso_utc(self.now),
            "property": self.property_id,
            "building": self.building,
        }


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """Midnight of ``day`` in ``zone``, as UTC."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def report_window(
    now: datetime,
    timezone: str,
    *,
    since: date | None = None,
    until: date | None = None,
    days: int = DEFAULT_DAYS,
    property_id: str | None = None,
    building: str | None = None,
) -> ReportWindow:
    """The window for ``--since``/``--until`` (``until`` exclusive); by default the ``days``
    days up to and including today. Raises ``ValueError`` when it would be empty."""
    now = ensure_utc(now, "now")
    zone = ZoneInfo(timezone)
    last = until if until is not None else now.astimezone(zone).date() + timedelta(days=1)
    first = since if since is not None else last - timedelta(days=days)
    if until is None and first >= last:  # --since in the future: an empty day, not an error
        last = first + timedelta(days=1)
    if first >= last:
        raise ValueError(f"empty window: since {first} is not before until {last}")
    return ReportWindow(
        day_start(first, zone),
        day_start(last, zone),
        timezone,
        now,
        property_id=property_id or None,
        building=building.upper() if building else None,
    )


@dataclass(frozen=True)
class Totals:
    """Whole-window figures, as the database aggregated them (hours as floats)."""

    total: int = 0
    open: int = 0
    closed: int = 0
    resolved: int = 0
    mean_hours: float | None = None
    median_hours: float | None = None
    p90_hours: float | None = None
    max_hours: float | None = None
    open_breached: int = 0
    escalated: int = 0
    reopened: int = 0
    resolved_once: int = 0  # tickets resolved at least once (the reopen rate's denominator)
    rating_count: int = 0
    rating_mean: float | None = None


@dataclass(frozen=True)
class SlaRow:
    """Decided SLA clocks of one urgency: met, and met or breached."""

    urgency: str
    response_met: int = 0
    response_decided: int = 0
    resolution_met: int = 0
    resolution_decided: int = 0


@dataclass(frozen=True)
class AssigneeRow:
    """One assignee: window tickets, resolved ones and their median, and today's open load."""

    assignee: str
    tickets: int = 0
    open_load: int = 0
    resolved: int = 0
    median_hours: float | None = None


@dataclass(frozen=True)
class RecurringRow:
    """A unit whose problems came back: ``repeats`` tickets followed an earlier one of the same
    subcategory within the recurrence period."""

    property_id: str
    unit_number: str
    building: str | None
    tickets: int
    repeats: int


@dataclass
class ReportData:
    """Everything the queries return for one window; ``build_report`` lays it out."""

    window: ReportWindow
    totals: Totals = field(default_factory=Totals)
    by_status: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    by_subcategory: dict[str, int] = field(default_factory=dict)
    by_urgency: dict[str, int] = field(default_factory=dict)
    assignees: list[AssigneeRow] = field(default_factory=list)
    daily_created: dict[date, int] = field(default_factory=dict)
    daily_created_done: dict[date, int] = field(default_factory=dict)
    daily_done: dict[date, int] = field(default_factory=dict)
    sla: list[SlaRow] = field(default_factory=list)
    backlog: list[int] = field(default_factory=list)  # one count per BACKLOG_BUCKETS entry
    recurring: list[RecurringRow] = field(default_factory=list)
    recurring_days: int = 30


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _ranked(counts: dict[str, int]) -> dict[str, int]:
    """Largest first, then by name: stable output for every format."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def build_report(data: ReportData) -> dict[str, Any]:
    """The report as one JSON-ready dict: the spec's analytics keys first, the rest after."""
    t = data.totals
    days = data.window.days()
    sla = sorted(data.sla, key=lambda r: r.urgency)
    response_met = sum(r.response_met for r in sla)
    response_decided = sum(r.response_decided for r in sla)
    resolution_met = sum(r.resolution_met for r in sla)
    resolution_decided = sum(r.resolution_decided for r in sla)
    backlog = list(data.backlog) + [0] * (len(BACKLOG_BUCKETS) - len(data.backlog))
    assignees = sorted(data.assignees, key=lambda a: (-a.open_load, -a.tickets, a.assignee))
    return {
        "window": data.window.to_dict(),
        "summary": {
            "total_tickets": t.total,
            "open_tickets": t.open,
            "closed_tickets": t.closed,
            "resolved_tickets": t.resolved,
            "avg_resolution_time": _hours(t.mean_hours),
            "median_resolution_time": _hours(t.median_hours),
            "p90_resolution_time": _hours(t.p90_hours),
            "max_resolution_time": _hours(t.max_hours),
            "open_breached": t.open_breached,
        },
        "by_status": _ranked(data.by_status),
        "by_category": _ranked(data.by_category),
        "by_subcategory": _ranked(data.by_subcategory),
        "by_urgency": dict(sorted(data.by_urgency.items())),
        "by_assignee": _ranked({a.assignee: a.tickets for a in data.assignees if a.tickets}),
        "assignees": [
            {
                "assignee": a.assignee,
                "tickets": a.tickets,
                "open_load": a.open_load,
                "resolved": a.resolved,
                "median_resolution_time": _hours(a.median_hours),
            }
            for a in assignees
        ],
        "trends": {
            "daily_creation": {d.isoformat(): data.daily_created.get(d, 0) for d in days},
            "daily_resolved": {d.isoformat(): data.daily_done.get(d, 0) for d in days},
            "resolution_rates": {
                d.isoformat(): _rate(data.daily_created_done.get(d, 0), data.daily_created[d])
                for d in days
                if data.daily_created.get(d)
            },
        },
        "sla": {
            r.urgency: {
                "response": _rate(r.response_met, r.response_decided),
                "response_decided": r.response_decided,
                "resolution": _rate(r.resolution_met, r.resolution_decided),
                "resolution_decided": r.resolution_decided,
            }
            for r in sla
        },
        "performance": {
            "sla_compliance": _rate(resolution_met, resolution_decided),
            "response_sla_compliance": _rate(response_met, response_decided),
            "escalation_rate": _rate(t.escalated, t.total),
            "escalated_tickets": t.escalated,
            "reopen_rate": _rate(t.reopened, t.resolved_once),
            "reopened_tickets": t.reopened,
            "tenant_satisfaction": None if t.rating_mean is None else round(t.rating_mean, 2),
            "satisfaction_count": t.rating_count,
        },
        "backlog": {label: n for (label, _), n in zip(BACKLOG_BUCKETS, backlog, strict=True)},
        "recurring_units": [
            {
                "property_id": r.property_id,
                "unit_number": r.unit_number,
                "building": r.building,
                "tickets": r.tickets,
                "repeats": r.repeats,
            }
            for r in data.recurring[:TOP_RECURRING]
        ],
        "recurring_days": data.recurring_days,
    }


def restore_order(report: dict[str, Any]) -> dict[str, Any]:
    """``build_report``'s key order again, for a report that went through a store that keeps
    no key order (the outbox's JSONB context): counts largest first, days and urgencies in
    order, backlog buckets youngest first."""
    out = dict(report)
    for key in ("by_status", "by_category", "by_subcategory", "by_assignee"):
        out[key] = _ranked(report[key])
    out["by_urgency"] = dict(sorted(report["by_urgency"].items()))
    out["sla"] = dict(sorted(report["sla"].items()))
    out["trends"] = {k: dict(sorted(v.items())) for k, v in report["trends"].items()}
    out["backlog"] = {label: report["backlog"].get(label, 0) for label, _ in BACKLOG_BUCKETS}
    return out


# --- the weekly digest's schedule ----------------------------------------------------------------
def digest_moment(now: datetime, timezone: str, weekday: str, hour: int) -> datetime:
    """The latest scheduled digest moment at or before ``now`` (UTC): ``weekday`` at ``hour``
    local time. Each moment is one period: its digest is queued once, even if sent late."""
    zone = ZoneInfo(timezone)
    local = ensure_utc(now, "now").astimezone(zone)
    back = (local.weekday() - WEEKDAYS.index(weekday)) % 7
    day = local.date() - timedelta(days=back)
    moment = datetime.combine(day, time(hour), tzinfo=zone)
    if moment > local:
        moment = datetime.combine(day - timedelta(days=7), time(hour), tzinfo=zone)
    return moment.astimezone(UTC)


def digest_key(moment: datetime, timezone: str, recipient: str) -> str:
    """The outbox's unique key of one recipient's digest for the period starting at ``moment``."""
    local_day = moment.astimezone(ZoneInfo(timezone)).date().isoformat()
    return f"digest:{local_day}:{recipient.strip().lower()}"
