"""The report's SQL: every figure is an aggregate computed in PostgreSQL (no row streaming).

The window's tickets are received in ``[since, until)``, optionally of one property and one
building; percentiles are ``percentile_cont`` (interpolating within the data). ``load_report``
asks ONE statement in a read-only snapshot (REPEATABLE READ), so every figure describes the same
moment: it reads the tickets once into a narrow materialized set (the window, plus what is open
now, done in the window or in the recurrence look-back, whenever received) and aggregates every
figure from that set, returned as one JSON array per figure. Counts per status, category,
urgency, day and assignee are first grouped by all six keys together (a few thousand groups),
then summed per key, so each ticket passes through one aggregate instead of seven.

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


#: GROUPING() bits of the window scan's keys, in its GROUP BY order (0 = grouped by it).
_KEYS = ("status", "category", "subcategory", "urgency", "day", "assigned_to")
_BIT = {k: 1 << (len(_KEYS) - 1 - i) for i, k in enumerate(_KEYS)}
_ALL = (1 << len(_KEYS)) - 1
#: The window scan's counts: each is counted per group of all six keys, then summed per key.
_COUNTS = {
    "n": "count(*)",
    "open": "count(*) FILTER (WHERE is_open)",
    "resolved": "count(resolved_at)",
    "done": "count(resolution_stop)",
    "open_breached": """count(*) FILTER (WHERE is_open AND (
        started_at > response_due OR (started_at IS NULL AND :now > response_due)
        OR :now > resolution_due))""",
    "escalated": "count(*) FILTER (WHERE was_escalated)",
    "reopened": "count(*) FILTER (WHERE was_reopened)",
    "resolved_once": "count(*) FILTER (WHERE resolved_at IS NOT NULL OR was_reopened)",
    "response_met": "count(*) FILTER (WHERE response_stop <= response_due)",
    "response_decided": "count(*) FILTER (WHERE response_stop IS NOT NULL OR :now > response_due)",
    "resolution_met": "count(*) FILTER (WHERE resolution_stop <= resolution_due)",
    "resolution_decided": """count(*) FILTER (
        WHERE resolution_stop IS NOT NULL OR :now > resolution_due)""",
}

_HOURS = "extract(epoch FROM (resolved_at - received_at)) / 3600.0"

#: The figures, each one JSON array of rows (``_ratings_sql`` adds ``ratings``).
_FIGURES = f"""
fine AS (
    SELECT status, category, subcategory, urgency, assigned_to,
        (received_at AT TIME ZONE :tz)::date AS day,
        {", ".join(f"{sql} AS {name}" for name, sql in _COUNTS.items())}
    FROM (
        SELECT b.*, coalesce(b.started_at, b.closed_at) AS response_stop,
            coalesce(b.resolved_at, b.closed_at) AS resolution_stop,
            coalesce(b.response_due_at,
                     b.received_at + make_interval(secs => t.resp)) AS response_due,
            coalesce(b.resolution_due_at,
                     b.received_at + make_interval(secs => t.reso)) AS resolution_due,
            e.ticket_pk IS NOT NULL AS was_escalated, r.ticket_pk IS NOT NULL AS was_reopened
        FROM w b LEFT JOIN targets t ON t.urgency = b.urgency
        LEFT JOIN escalated e ON e.ticket_pk = b.id
        LEFT JOIN reopened r ON r.ticket_pk = b.id
    ) c
    GROUP BY 1, 2, 3, 4, 5, 6
),
scan AS (
    SELECT GROUPING({", ".join(_KEYS)}) AS g, {", ".join(_KEYS)},
        {", ".join(f"coalesce(sum({name}), 0)::bigint AS {name}" for name in _COUNTS)}
    FROM fine GROUP BY GROUPING SETS ((), {", ".join(f"({k})" for k in _KEYS)})
),
hours AS (
    SELECT GROUPING(assigned_to) AS g, assigned_to, avg(h) AS mean_hours,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY h) AS median_hours,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY h) AS p90_hours, max(h) AS max_hours
    FROM (SELECT assigned_to COLLATE "C" AS assigned_to, {_HOURS} AS h
          FROM w WHERE resolved_at IS NOT NULL OFFSET 0) r
    GROUP BY GROUPING SETS ((), (assigned_to))
),
open_now AS (  -- open now, whenever received: per assignee and per age bucket at :now
    SELECT GROUPING(assigned_to, bucket) AS g, assigned_to, bucket, count(*) AS n
    FROM (SELECT assigned_to,
                 width_bucket(extract(epoch FROM (:now - received_at)) / 3600.0,
                              CAST(:bounds AS float8[])) AS bucket
          FROM base WHERE is_open) o
    GROUP BY GROUPING SETS ((assigned_to), (bucket))
),
done AS (  -- resolved (or closed unresolved) per day of the window, whenever received
    SELECT day, count(*) AS n
    FROM (SELECT (done_at AT TIME ZONE :tz)::date AS day FROM base
          WHERE done_at >= :since AND done_at < :until OFFSET 0) d
    GROUP BY 1
),
recurring_units AS (  -- units with the most repeats in the window (the earlier one may predate it)
    SELECT property_id, unit_number, max(building) AS building,
           count(*) FILTER (WHERE received_at >= :since) AS tickets,
           count(*) FILTER (WHERE received_at >= :since
                            AND received_at - previous <= :period) AS repeats
    FROM (
        SELECT property_id, unit_number, building, received_at,
               -- unit first: its many values make the sort's abbreviated keys tell rows apart
               lag(received_at) OVER (PARTITION BY unit_number, property_id, subcategory
                                      ORDER BY received_at, id) AS previous
        FROM (  -- narrow rows, projected first (OFFSET 0): the sort carries only these
            SELECT property_id, unit_number, subcategory COLLATE "C" AS subcategory, building,
                   received_at, id
            FROM base
            WHERE received_at >= :lookback AND unit_number IS NOT NULL
              AND subcategory IS NOT NULL
            OFFSET 0
        ) narrow
    ) t
    GROUP BY property_id, unit_number
    HAVING count(*) FILTER (WHERE received_at >= :since
                            AND received_at - previous <= :period) > 0
    ORDER BY repeats DESC, tickets DESC, property_id, unit_number
    LIMIT :top
)
SELECT (SELECT json_agg(x) FROM scan x) AS scan, (SELECT json_agg(x) FROM hours x) AS hours,
    (SELECT json_agg(x) FROM open_now x) AS open_now, (SELECT json_agg(x) FROM done x) AS done,
    (SELECT json_agg(x ORDER BY x.repeats DESC, x.tickets DESC, x.property_id, x.unit_number)
     FROM recurring_units x) AS recurring,
    (SELECT json_build_object('n', count(*), 'mean', avg(rating)) FROM latest) AS ratings
"""


def _base(window: ReportWindow, lookback: Any) -> tuple[str, dict[str, Any]]:
    """The tickets any figure reads, narrow, read once: received before ``until`` and in the
    window, open now, done in the window or received since ``lookback`` (recurrence)."""
    where, params = filters(window, dated=False)
    params["lookback"] = min(lookback, window.since)
    return (
        f"""base AS MATERIALIZED (
        SELECT id, status, category, subcategory, urgency, assigned_to, received_at, started_at,
            resolved_at, closed_at, response_due_at, resolution_due_at,
            {_OPEN} AS is_open, coalesce(resolved_at, closed_at) AS done_at,
            -- byte order ("C") is all the groups and partitions need: cheaper sorts
            property_id COLLATE "C" AS property_id, unit_number COLLATE "C" AS unit_number,
            metadata ->> 'building' AS building
        FROM tickets
        WHERE {where} AND (received_at >= :lookback OR {_OPEN}
                           OR coalesce(resolved_at, closed_at) >= :since)
    ),
    w AS (SELECT * FROM base WHERE received_at >= :since)""",
        params,
    )


def _ratings_sql(conn: Connection) -> str:
    """CTEs ``rated`` and ``latest``: each window ticket's latest rating, from events and, if it
    exists, the ``ticket_ratings`` table; a ticket rated in both counts once (the table wins)."""
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
    return f"""
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
        )"""


def _figures(
    conn: Connection, window: ReportWindow, sla: Mapping[Any, SlaTarget], days: int
) -> dict[str, Any]:
    """Every figure of the window in one statement: {figure: list of row dicts}."""
    base, params = _base(window, window.since - timedelta(days=days))
    targets, tparams = _sla_targets(sla)
    statement = f"""
        WITH targets(urgency, resp, reso) AS (VALUES {targets}),
        escalated AS (SELECT DISTINCT ticket_pk FROM escalations WHERE rule <> :warning),
        reopened AS (SELECT DISTINCT ticket_pk FROM ticket_events WHERE kind = 'reopened'),
        {base},
        {_ratings_sql(conn)},
        {_FIGURES}"""
    params |= tparams | {
        "warning": SLA_WARNING_RULE,
        "tz": window.timezone,
        "bounds": [b for _, b in BACKLOG_BUCKETS if b is not None],
        "period": timedelta(days=days),
        "top": TOP_RECURRING,
    }
    row = conn.execute(text(statement), params).one()
    return {k: v if v is not None else [] for k, v in row._mapping.items()}


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _totals(total: Any, hours: Any, ratings: dict[str, Any]) -> Totals:
    count, mean = int(ratings["n"]), _float(ratings["mean"])
    if total is None:
        return Totals(rating_count=count, rating_mean=mean)
    h = hours or {}
    return Totals(
        total=total["n"],
        open=total["open"],
        closed=total["n"] - total["open"],
        resolved=total["resolved"],
        mean_hours=_float(h.get("mean_hours")),
        median_hours=_float(h.get("median_hours")),
        p90_hours=_float(h.get("p90_hours")),
        max_hours=_float(h.get("max_hours")),
        open_breached=total["open_breached"],
        escalated=total["escalated"],
        reopened=total["reopened"],
        resolved_once=total["resolved_once"],
        rating_count=count,
        rating_mean=mean,
    )


def _by_key(rows: list[dict[str, Any]]) -> tuple[Any, dict[str, dict[Any, Any]]]:
    """The window scan's rows: the total row, and per key {value: row} (a NULL value is left
    out, as GROUPING SETS give it)."""
    total = None
    counts: dict[str, dict[Any, Any]] = {k: {} for k in _KEYS}
    for r in rows:
        if r["g"] == _ALL:
            total = r
            continue
        for key, bit in _BIT.items():
            if r["g"] == _ALL & ~bit and r[key] is not None:
                value = date.fromisoformat(r[key]) if key == "day" else r[key]
                counts[key][value] = r
    return total, counts


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
            figures = _figures(conn, window, sla, recurring_days)
    total, c = _by_key(figures["scan"])
    hours = {None if r["g"] else r["assigned_to"]: r for r in figures["hours"]}
    load: dict[str, int] = {}
    backlog = [0] * len(BACKLOG_BUCKETS)
    for r in figures["open_now"]:
        if r["g"] == 1:  # grouped by assignee
            load[r["assigned_to"]] = int(r["n"])
        else:
            backlog[int(r["bucket"])] += int(r["n"])
    names = set(c["assigned_to"]) | set(load)
    return ReportData(
        window=window,
        totals=_totals(total, hours.get(None), figures["ratings"]),
        by_status={k: r["n"] for k, r in c["status"].items()},
        by_category={k: r["n"] for k, r in c["category"].items()},
        by_subcategory={k: r["n"] for k, r in c["subcategory"].items()},
        by_urgency={str(k): r["n"] for k, r in c["urgency"].items()},
        assignees=[
            AssigneeRow(
                assignee=name or "Unassigned",
                tickets=c["assigned_to"][name]["n"] if name in c["assigned_to"] else 0,
                open_load=load.get(name, 0),
                resolved=c["assigned_to"][name]["resolved"] if name in c["assigned_to"] else 0,
                median_hours=_float(hours[name]["median_hours"]) if name in hours else None,
            )
            for name in names
        ],
        daily_created={d: r["n"] for d, r in c["day"].items()},
        daily_created_done={d: r["done"] for d, r in c["day"].items()},
        daily_done={date.fromisoformat(r["day"]): int(r["n"]) for r in figures["done"]},
        sla=[
            SlaRow(
                str(u),
                r["response_met"],
                r["response_decided"],
                r["resolution_met"],
                r["resolution_decided"],
            )
            for u, r in c["urgency"].items()
        ],
        backlog=backlog,
        recurring=[
            RecurringRow(
                r["property_id"], r["unit_number"], r["building"], r["tickets"], r["repeats"]
            )
            for r in figures["recurring"]
        ],
        recurring_days=recurring_days,
    )
