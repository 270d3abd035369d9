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


def _totals(conn: Connection, window: ReportWindow, sla: Mapping[Any, SlaTarget]) -> Totals:
    where, params = filters(window)
    targets, tparams = _sla_targets(sla)
    row = conn.execute(
        text(f"""
        WITH w AS (SELECT * FROM tickets WHERE {where}),
        targets(urgency, resp, reso) AS (VALUES {targets}),
        clocks AS (
            SELECT w.*, {_HOURS} AS hours,
                coalesce(w.response_due_at,
                         w.received_at + make_interval(secs => t.resp)) AS response_due,
                coalesce(w.resolution_due_at,
                         w.received_at + make_interval(secs => t.reso)) AS resolution_due
            FROM w LEFT JOIN targets t ON t.urgency = w.urgency
        )
        SELECT count(*) AS total,
            count(*) FILTER (WHERE {_OPEN}) AS open,
            count(*) FILTER (WHERE NOT ({_OPEN})) AS closed,
            count(hours) AS resolved,
            avg(hours) AS mean_hours,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) AS median_hours,
            percentile_cont(0.9) WITHIN GROUP (ORDER BY hours) AS p90_hours,
            max(hours) AS max_hours,
            count(*) FILTER (WHERE {_OPEN} AND (
                started_at > response_due OR (started_at IS NULL AND :now > response_due)
                OR :now > resolution_due
            )) AS open_breached,
            count(*) FILTER (WHERE EXISTS (
                SELECT 1 FROM escalations e WHERE e.ticket_pk = clocks.id AND e.rule <> :warning
            )) AS escalated,
            count(*) FILTER (WHERE EXISTS (
                SELECT 1 FROM ticket_events v WHERE v.ticket_pk = clocks.id AND v.kind = 'reopened'
            )) AS reopened,
            count(*) FILTER (WHERE resolved_at IS NOT NULL OR EXISTS (
                SELECT 1 FROM ticket_events v WHERE v.ticket_pk = clocks.id AND v.kind = 'reopened'
            )) AS resolved_once
        FROM clocks
        """),
        {**params, **tparams, "warning": SLA_WARNING_RULE},
    ).one()
    count, mean = _ratings(conn, window)
    return Totals(
        total=row.total,
        open=row.open,
        closed=row.closed,
        resolved=row.resolved,
        mean_hours=_float(row.mean_hours),
        median_hours=_float(row.median_hours),
        p90_hours=_float(row.p90_hours),
        max_hours=_float(row.max_hours),
        open_breached=row.open_breached,
        escalated=row.escalated,
        reopened=row.reopened,
        resolved_once=row.resolved_once,
        rating_count=count,
        rating_mean=mean,
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


def _counts(conn: Connection, window: ReportWindow) -> dict[str, dict[str, int]]:
    """Tickets per status, category, subcategory and urgency in one scan (GROUPING SETS)."""
    where, params = filters(window)
    rows = conn.execute(
        text(f"""
        SELECT status, category, subcategory, urgency,
               GROUPING(status, category, subcategory, urgency) AS g, count(*) AS n
        FROM tickets WHERE {where}
        GROUP BY GROUPING SETS ((status), (category), (subcategory), (urgency))
        """),
        params,
    ).all()
    out: dict[str, dict[str, int]] = {
        k: {} for k in ("status", "category", "subcategory", "urgency")
    }
    # GROUPING's bits: status 8, category 4, subcategory 2, urgency 1 (0 = grouped by it).
    for r in rows:
        for name, bit in (("status", 8), ("category", 4), ("subcategory", 2), ("urgency", 1)):
            if not r.g & bit:
                value = getattr(r, name)
                if value is not None:
                    out[name][str(value)] = int(r.n)
    return out


def _assignees(conn: Connection, window: ReportWindow) -> list[AssigneeRow]:
    where, params = filters(window)
    open_where, _ = filters(window, dated=False)
    rows = conn.execute(
        text(f"""
        WITH win AS (
            SELECT assigned_to, count(*) AS tickets, count(resolved_at) AS resolved,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY {_HOURS}) AS median_hours
            FROM tickets WHERE {where} GROUP BY assigned_to
        ),
        load AS (
            SELECT assigned_to, count(*) AS open_load
            FROM tickets WHERE {open_where} AND {_OPEN} GROUP BY assigned_to
        )
        SELECT coalesce(win.assigned_to, load.assigned_to) AS assignee,
               coalesce(win.tickets, 0) AS tickets, coalesce(load.open_load, 0) AS open_load,
               coalesce(win.resolved, 0) AS resolved, win.median_hours
        FROM win FULL JOIN load ON load.assigned_to = win.assigned_to
        """),
        params,
    ).all()
    return [
        AssigneeRow(
            assignee=r.assignee or "Unassigned",
            tickets=r.tickets,
            open_load=r.open_load,
            resolved=r.resolved,
            median_hours=_float(r.median_hours),
        )
        for r in rows
    ]


def _daily(
    conn: Connection, window: ReportWindow
) -> tuple[dict[date, int], dict[date, int], dict[date, int]]:
    """(created per day, of those already done, done per day) in the business time zone."""
    where, params = filters(window)
    open_where, _ = filters(window, dated=False)
    params["tz"] = window.timezone
    created: dict[date, int] = {}
    created_done: dict[date, int] = {}
    for r in conn.execute(
        text(f"""
        SELECT (received_at AT TIME ZONE :tz)::date AS day, count(*) AS n,
               count(coalesce(resolved_at, closed_at)) AS done
        FROM tickets WHERE {where} GROUP BY 1
        """),
        params,
    ):
        created[r.day] = int(r.n)
        created_done[r.day] = int(r.done)
    done = {
        r.day: int(r.n)
        for r in conn.execute(
            text(f"""
            SELECT (coalesce(resolved_at, closed_at) AT TIME ZONE :tz)::date AS day, count(*) AS n
            FROM tickets
            WHERE {open_where}
              AND coalesce(resolved_at, closed_at) >= :since
              AND coalesce(resolved_at, closed_at) < :until
            GROUP BY 1
            """),
            params,
        )
    }
    return created, created_done, done


def _sla(conn: Connection, window: ReportWindow, sla: Mapping[Any, SlaTarget]) -> list[SlaRow]:
    """Per urgency: response and resolution clocks met / decided (met or breached) at ``now``."""
    where, params = filters(window)
    targets, tparams = _sla_targets(sla)
    rows = conn.execute(
        text(f"""
        WITH targets(urgency, resp, reso) AS (VALUES {targets}),
        c AS (
            SELECT w.urgency,
                coalesce(w.started_at, w.closed_at) AS response_stop,
                coalesce(w.resolved_at, w.closed_at) AS resolution_stop,
                coalesce(w.response_due_at,
                         w.received_at + make_interval(secs => t.resp)) AS response_due,
                coalesce(w.resolution_due_at,
                         w.received_at + make_interval(secs => t.reso)) AS resolution_due
            FROM tickets w LEFT JOIN targets t ON t.urgency = w.urgency
            WHERE {where}
        )
        SELECT urgency,
            count(*) FILTER (WHERE response_stop <= response_due) AS response_met,
            count(*) FILTER (WHERE response_stop IS NOT NULL OR :now > response_due)
                AS response_decided,
            count(*) FILTER (WHERE resolution_stop <= resolution_due) AS resolution_met,
            count(*) FILTER (WHERE resolution_stop IS NOT NULL OR :now > resolution_due)
                AS resolution_decided
        FROM c GROUP BY urgency
        """),
        {**params, **tparams},
    ).all()
    return [
        SlaRow(
            str(r.urgency),
            r.response_met,
            r.response_decided,
            r.resolution_met,
            r.resolution_decided,
        )
        for r in rows
    ]


def _backlog(conn: Connection, window: ReportWindow) -> list[int]:
    """Open tickets per age bucket (age at ``now``, counted from ``received_at``)."""
    where, params = filters(window, dated=False)
    bounds = [b for _, b in BACKLOG_BUCKETS if b is not None]
    rows = conn.execute(
        text(f"""
        SELECT width_bucket(extract(epoch FROM (:now - received_at)) / 3600.0,
                            CAST(:bounds AS float8[])) AS bucket, count(*) AS n
        FROM tickets WHERE {where} AND {_OPEN} GROUP BY 1
        """),
        {**params, "bounds": bounds},
    ).all()
    counts = [0] * len(BACKLOG_BUCKETS)
    for r in rows:
        counts[int(r.bucket)] += int(r.n)
    return counts


def _recurring(conn: Connection, window: ReportWindow, days: int) -> list[RecurringRow]:
    """Units with the most repeats in the window (the earlier ticket may predate it)."""
    where, params = filters(window, dated=False)
    params["lookback"] = window.since - timedelta(days=days)
    params["period"] = timedelta(days=days)
    params["top"] = TOP_RECURRING
    rows = conn.execute(
        text(f"""
        WITH t AS (
            SELECT property_id, unit_number, subcategory, received_at,
                   metadata ->> 'building' AS building,
                   lag(received_at) OVER (
                       PARTITION BY property_id, unit_number, subcategory ORDER BY received_at, id
                   ) AS previous
            FROM tickets
            WHERE {where} AND received_at >= :lookback
              AND unit_number IS NOT NULL AND subcategory IS NOT NULL
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
            counts = _counts(conn, window)
            created, created_done, done = _daily(conn, window)
            return ReportData(
                window=window,
                totals=_totals(conn, window, sla),
                by_status=counts["status"],
                by_category=counts["category"],
                by_subcategory=counts["subcategory"],
                by_urgency=counts["urgency"],
                assignees=_assignees(conn, window),
                daily_created=created,
                daily_created_done=created_done,
                daily_done=done,
                sla=_sla(conn, window, sla),
                backlog=_backlog(conn, window),
                recurring=_recurring(conn, window, recurring_days),
                recurring_days=recurring_days,
            )
