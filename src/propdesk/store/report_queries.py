"""The report's SQL: every figure is an aggregate computed in PostgreSQL (no row streaming).

Each query reads the window's tickets through one filter (received in ``[since, until)``, and
optionally one property and one building) and returns a handful of rows; percentiles are
``percentile_cont`` (interpolating within the data). ``load_report`` runs them in one read-only
snapshot (REPEATABLE READ), so every figure describes the same moment.

Data of features that may not be installed yet is read when it is there and counts 0 otherwise:
satisfaction ratings are ``ticket_events`` of kind ``rating`` (``data->>'rating'``, 1-5, latest
per ticket wins) or rows of a ``ticket_ratings`` table (``ticket_pk``, ``rating``) if one
exists; a reopen is a ``reopened`` event (the core lifecycle writes it for Resolved -> In
Progress). Recurrence follows the incidents issue's rule, computed here: a ticket of the same
unit and subcategory within ``recurring_days`` of an earlier one is a repeat.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, text

from propdesk.core.escalation import SLA_WARNING_RULE
from propdesk.core.policy import SlaTarget
from propdesk.core.report_model import (
    BACKLOG_BUCKETS,
    TOP_RECURRING,
    AssigneeRow,
    RecurringRow,
    ReportData,
    ReportWindow,
    SlaRow,
    Totals,
)
from propdesk.store.db import Database, engine_of

_OPEN = "status IN ('New', 'In Progress', 'Pending')"
_HOURS = "extract(epoch FROM (resolved_at - received_at)) / 3600.0"


def filters(window: ReportWindow, *, dated: bool = True) -> tuple[str, dict[str, Any]]:
    """The WHERE clause of the window's tickets (``dated`` False: any receive time before
    ``until``, for what is open now) and its parameters."""
    params: dict[str, Any] = {"since": window.since, "until": window.until, "now": window.now}
    clauses = ["received_at < :until"]
    if dated:
        clauses.append("received_at >= :since")
    if window.property_id is not None:
        clauses.append("property_id = :property_id")
        params["property_id"] = window.property_id
    if window.building is not None:
        clauses.append("upper(metadata ->> 'building') = :building")
        params["building"] = window.building
    return " AND ".join(clauses), params


def _sla_targets(sla: Mapping[Any, SlaTarget]) -> tuple[str, dict[str, Any]]:
    """A VALUES list of (urgency, response seconds, resolution seconds) from the rules."""
    rows: list[str] = []
    params: dict[str, Any] = {}
    for i, (urgency, target) in enumerate(sorted(sla.items(), key=lambda kv: str(kv[0]))):
        rows.append(f"(:u{i}, :resp{i}, :reso{i})")
        params[f"u{i}"] = str(urgency)
        params[f"resp{i}"] = target.response.total_seconds()
        params[f"reso{i}"] = target.resolution.total_seconds()
    return ", ".join(rows), params


#: GROUPING() bits of the window scan's keys, in its GROUP BY order (0 = grouped by it).
_KEYS = ("status", "category", "subcategory", "urgency", "day", "assigned_to")
_BIT = {k: 1 << (len(_KEYS) - 1 - i) for i, k in enumerate(_KEYS)}
_ALL = (1 << len(_KEYS)) - 1


@dataclass
class _Scan:
    """What one pass over the window's tickets returns (see ``_window_scan``)."""

    totals: Any = None
    counts: dict[str, dict[Any, Any]] = field(default_factory=lambda: {k: {} for k in _KEYS})


def _window_scan(conn: Connection, window: ReportWindow, sla: Mapping[Any, SlaTarget]) -> _Scan:
    """Counts and SLA clocks of the window's tickets, per status, category, subcategory,
    urgency, day and assignee and in total: one scan, hashed GROUPING SETS."""
    where, params = filters(window)
    targets, tparams = _sla_targets(sla)
    rows = conn.execute(
        text(f"""
        WITH targets(urgency, resp, reso) AS (VALUES {targets}),
        escalated AS (SELECT DISTINCT ticket_pk FROM escalations WHERE rule <> :warning),
        reopened AS (SELECT DISTINCT ticket_pk FROM ticket_events WHERE kind = 'reopened'),
        c AS (
            SELECT w.status, w.category, w.subcategory, w.urgency, w.assigned_to,
                (w.received_at AT TIME ZONE :tz)::date AS day,
                w.{_OPEN} AS is_open, w.started_at, w.resolved_at,
                coalesce(w.started_at, w.closed_at) AS response_stop,
                coalesce(w.resolved_at, w.closed_at) AS resolution_stop,
                coalesce(w.response_due_at,
                         w.received_at + make_interval(secs => t.resp)) AS response_due,
                coalesce(w.resolution_due_at,
                         w.received_at + make_interval(secs => t.reso)) AS resolution_due,
                e.ticket_pk IS NOT NULL AS was_escalated,
                r.ticket_pk IS NOT NULL AS was_reopened
            FROM tickets w LEFT JOIN targets t ON t.urgency = w.urgency
            LEFT JOIN escalated e ON e.ticket_pk = w.id
            LEFT JOIN reopened r ON r.ticket_pk = w.id
            WHERE {where}
        )
        SELECT GROUPING({", ".join(_KEYS)}) AS g, {", ".join(_KEYS)},
            count(*) AS n,
            count(*) FILTER (WHERE is_open) AS open,
            count(resolved_at) AS resolved,
            count(resolution_stop) AS done,
            count(*) FILTER (WHERE is_open AND (
                started_at > response_due OR (started_at IS NULL AND :now > response_due)
                OR :now > resolution_due
            )) AS open_breached,
            count(*) FILTER (WHERE was_escalated) AS escalated,
            count(*) FILTER (WHERE was_reopened) AS reopened,
            count(*) FILTER (WHERE resolved_at IS NOT NULL OR was_reopened) AS resolved_once,
            count(*) FILTER (WHERE response_stop <= response_due) AS response_met,
            count(*) FILTER (WHERE response_stop IS NOT NULL OR :now > response_due)
                AS response_decided,
            count(*) FILTER (WHERE resolution_stop <= resolution_due) AS resolution_met,
            count(*) FILTER (WHERE resolution_stop IS NOT NULL OR :now > resolution_due)
                AS resolution_decided
        FROM c
        GROUP BY GROUPING SETS ((), {", ".join(f"({k})" for k in _KEYS)})
        """),
        {**params, **tparams, "warning": SLA_WARNING_RULE, "tz": window.timezone},
    ).all()
    scan = _Scan()
    for r in rows:
        if r.g == _ALL:
            scan.totals = r
            continue
        for key, bit in _BIT.items():
            if r.g == _ALL & ~bit and getattr(r, key) is not None:
                scan.counts[key][getattr(r, key)] = r
    return scan


def _resolution_hours(conn: Connection, window: ReportWindow) -> dict[str | None, Any]:
    """Mean, median, 90th percentile and longest resolution, in total (key None) and per
    assignee: ``percentile_cont`` over the window's resolved tickets."""
    where, params = filters(window)
    rows = conn.execute(
        text(f"""
        SELECT GROUPING(assigned_to) AS g, assigned_to, avg(h) AS mean_hours,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY h) AS median_hours,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY h) AS p90_hours, max(h) AS max_hours
        FROM (SELECT assigned_to, {_HOURS} AS h FROM tickets
              WHERE {where} AND resolved_at IS NOT NULL) r
        GROUP BY GROUPING SETS ((), (assigned_to))
        """),
        params,
    ).all()
    return {None if r.g else r.assigned_to: r for r in rows}


def _totals(scan: _Scan, hours: dict[str | None, Any], ratings: tuple[int, float | None]) -> Totals:
    t, h = scan.totals, hours.get(None)
    if t is None:
        return Totals(rating_count=ratings[0], rating_mean=ratings[1])
    return Totals(
        total=t.n,
        open=t.open,
        closed=t.n - t.open,
        resolved=t.resolved,
        mean_hours=_float(h.mean_hours) if h else None,
        median_hours=_float(h.median_hours) if h else None,
        p90_hours=_float(h.p90_hours) if h else None,
        max_hours=_float(h.max_hours) if h else None,
        open_breached=t.open_breached,
        escalated=t.escalated,
        reopened=t.reopened,
        resolved_once=t.resolved_once,
        rating_count=ratings[0],
        rating_mean=ratings[1],
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _ratings(conn: Connection, window: ReportWindow) -> tuple[int, float | None]:
    """(how many tickets were rated, their mean latest rating) from events and, if it exists,
    the ``ticket_ratings`` table; a ticket rated in both counts once (the table wins)."""
    where, params = filters(window)
    columns = set(
        conn.execute(
            text(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'ticket_ratings' AND table_schema = current_schema()"
            )
        ).scalars()
    )
    table_part = ""
    if {"ticket_pk", "rating"} <= columns:
        # "Latest wins": by the first time column the table has, else by insertion order.
        order = next((c for c in ("rated_at", "created_at", "at") if c in columns), None)
        at = f"r.{order}" if order else "NULL::timestamptz"
        tie = "lpad(r.id::text, 20, '0')" if "id" in columns else "''"
        table_part = f"""
            UNION ALL
            SELECT r.ticket_pk, r.rating::float AS rating, 1 AS source, {at} AS at, {tie} AS tie
            FROM ticket_ratings r JOIN w ON w.id = r.ticket_pk
            WHERE r.rating BETWEEN 1 AND 5
        """
    row = conn.execute(
        text(f"""
        WITH w AS (SELECT id FROM tickets WHERE {where}),
        rated AS (
            SELECT v.ticket_pk, (v.data ->> 'rating')::float AS rating, 0 AS source, v.at,
                   lpad(v.id::text, 20, '0') AS tie
            FROM ticket_events v JOIN w ON w.id = v.ticket_pk
            WHERE v.kind = 'rating' AND v.data ->> 'rating' ~ '^[1-5]$'
            {table_part}
        ),
        latest AS (
            SELECT DISTINCT ON (ticket_pk) ticket_pk, rating FROM rated
            ORDER BY ticket_pk, source DESC, at DESC NULLS LAST, tie DESC
        )
        SELECT count(*) AS n, avg(rating) AS mean FROM latest
        """),
        params,
    ).one()
    return int(row.n), _float(row.mean)


def _open_now(conn: Connection, window: ReportWindow) -> tuple[dict[str, int], list[int]]:
    """Tickets open now (received before ``until``, whenever): per assignee, and per age
    bucket (age at ``now`` from ``received_at``)."""
    where, params = filters(window, dated=False)
    bounds = [b for _, b in BACKLOG_BUCKETS if b is not None]
    rows = conn.execute(
        text(f"""
        SELECT GROUPING(assigned_to, bucket) AS g, assigned_to, bucket, count(*) AS n
        FROM (SELECT assigned_to,
                     width_bucket(extract(epoch FROM (:now - received_at)) / 3600.0,
                                  CAST(:bounds AS float8[])) AS bucket
              FROM tickets WHERE {where} AND {_OPEN}) o
        GROUP BY GROUPING SETS ((assigned_to), (bucket))
        """),
        {**params, "bounds": bounds},
    ).all()
    load: dict[str, int] = {}
    counts = [0] * len(BACKLOG_BUCKETS)
    for r in rows:
        if r.g == 1:  # grouped by assignee
            load[r.assigned_to] = int(r.n)
        else:
            counts[int(r.bucket)] += int(r.n)
    return load, counts


def _done_per_day(conn: Connection, window: ReportWindow) -> dict[date, int]:
    """Tickets resolved (or closed unresolved) per day of the window, whenever received."""
    where, params = filters(window, dated=False)
    rows = conn.execute(
        text(f"""
        SELECT (coalesce(resolved_at, closed_at) AT TIME ZONE :tz)::date AS day, count(*) AS n
        FROM tickets
        WHERE {where}
          AND coalesce(resolved_at, closed_at) >= :since
          AND coalesce(resolved_at, closed_at) < :until
        GROUP BY 1
        """),
        {**params, "tz": window.timezone},
    ).all()
    return {r.day: int(r.n) for r in rows}


def _recurring(conn: Connection, window: ReportWindow, days: int) -> list[RecurringRow]:
    """Units with the most repeats in the window (the earlier ticket may predate it)."""
    where, params = filters(window, dated=False)
    params["lookback"] = window.since - timedelta(days=days)
    params["period"] = timedelta(days=days)
    params["top"] = TOP_RECURRING
    rows = conn.execute(
        text(f"""
        WITH t AS (
            -- Narrow rows, projected first (OFFSET 0): the sort carries no JSONB; byte order
            -- ("C") is all a partition needs.
            SELECT property_id, unit_number, building, received_at,
                   lag(received_at) OVER (PARTITION BY property_id, unit_number, subcategory
                                          ORDER BY received_at, id) AS previous
            FROM (
                SELECT property_id COLLATE "C" AS property_id,
                       unit_number COLLATE "C" AS unit_number,
                       subcategory COLLATE "C" AS subcategory,
                       received_at, id, metadata ->> 'building' AS building
                FROM tickets
                WHERE {where} AND received_at >= :lookback
                  AND unit_number IS NOT NULL AND subcategory IS NOT NULL
                OFFSET 0
            ) narrow
        )
        SELECT property_id, unit_number, max(building) AS building,
               count(*) FILTER (WHERE received_at >= :since) AS tickets,
               count(*) FILTER (WHERE received_at >= :since
                                AND received_at - previous <= :period) AS repeats
        FROM t GROUP BY property_id, unit_number
        HAVING count(*) FILTER (WHERE received_at >= :since
                                AND received_at - previous <= :period) > 0
        ORDER BY repeats DESC, tickets DESC, property_id, unit_number
        LIMIT :top
        """),
        params,
    ).all()
    return [
        RecurringRow(r.property_id, r.unit_number, r.building, int(r.tickets), int(r.repeats))
        for r in rows
    ]


def load_report(
    db: Database,
    window: ReportWindow,
    sla: Mapping[Any, SlaTarget],
    *,
    recurring_days: int = 30,
) -> ReportData:
    """Every figure of one window, read in one consistent snapshot."""
    with engine_of(db).connect() as plain:
        conn = plain.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            conn.execute(text("SET TRANSACTION READ ONLY"))
            # Sorts and hashes of a whole window fit in memory instead of spilling to disk.
            conn.execute(text("SET LOCAL work_mem = '64MB'"))
            scan = _window_scan(conn, window, sla)
            hours = _resolution_hours(conn, window)
            load, backlog = _open_now(conn, window)
            ratings = _ratings(conn, window)
            done = _done_per_day(conn, window)
            recurring = _recurring(conn, window, recurring_days)
    c = scan.counts
    names = set(c["assigned_to"]) | set(load)
    return ReportData(
        window=window,
        totals=_totals(scan, hours, ratings),
        by_status={k: r.n for k, r in c["status"].items()},
        by_category={k: r.n for k, r in c["category"].items()},
        by_subcategory={k: r.n for k, r in c["subcategory"].items()},
        by_urgency={str(k): r.n for k, r in c["urgency"].items()},
        assignees=[
            AssigneeRow(
                assignee=name or "Unassigned",
                tickets=c["assigned_to"][name].n if name in c["assigned_to"] else 0,
                open_load=load.get(name, 0),
                resolved=c["assigned_to"][name].resolved if name in c["assigned_to"] else 0,
                median_hours=_float(hours[name].median_hours) if name in hours else None,
            )
            for name in names
        ],
        daily_created={d: r.n for d, r in c["day"].items()},
        daily_created_done={d: r.done for d, r in c["day"].items()},
        daily_done=done,
        sla=[
            SlaRow(
                str(u),
                r.response_met,
                r.response_decided,
                r.resolution_met,
                r.resolution_decided,
            )
            for u, r in c["urgency"].items()
        ],
        backlog=backlog,
        recurring=recurring,
        recurring_days=recurring_days,
    )
