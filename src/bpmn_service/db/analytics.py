"""KPI queries over the history tables, one SQL statement per report (docs/analytics.md).

Everything is aggregated in the database: GROUP BY over process_instance, historic_task,
historic_wait and calendar_day, with window functions for percentiles and hand-offs, so a report
reads a few rows whatever the number of instances. The few dialect differences (JSON, date
arithmetic, null-safe equality) live in :class:`Sql`; the rest is plain SQL that SQLite (≥ 3.25)
and PostgreSQL both run.

Conventions:

* Local dates are Beijing dates (UTC+8, no daylight saving time); working days between two moments
  are ``ordinal(local date of end) - ordinal(local date of start)`` from calendar_day, i.e. the
  working days in (start date, end date].
* Percentiles interpolate linearly between the two nearest ranks (like PostgreSQL's
  ``percentile_cont`` and numpy's default).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from .models import UtcDateTime

BEIJING_OFFSET_HOURS = 8


@dataclass(frozen=True, slots=True)
class Filters:
    """Instances started in [started_from, started_to) of a key, version and category."""

    key: str | None = None
    version: int | None = None
    category: str | None = None
    started_from: datetime | None = None
    started_to: datetime | None = None


class Sql:
    """The dialect-specific fragments of the analytics SQL."""

    def __init__(self, dialect: str) -> None:
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"analytics supports sqlite and postgresql, not {dialect}")
        self.pg = dialect == "postgresql"

    def local_date(self, column: str) -> str:
        """The Beijing calendar date of a UTC timestamp, comparable with calendar_day.day."""
        if self.pg:
            return (
                f"CAST(({column} AT TIME ZONE 'UTC') "
                f"+ INTERVAL '{BEIJING_OFFSET_HOURS} hours' AS DATE)"
            )
        return f"date({column}, '+{BEIJING_OFFSET_HOURS} hours')"

    def seconds(self, start: str, end: str) -> str:
        if self.pg:
            return f"EXTRACT(EPOCH FROM ({end} - {start}))"
        return f"((julianday({end}) - julianday({start})) * 86400.0)"

    def days(self, start: str, end: str) -> str:
        return f"({self.seconds(start, end)} / 86400.0)"

    def hours(self, start: str, end: str) -> str:
        return f"({self.seconds(start, end)} / 3600.0)"

    def json_number(self, column: str, name_param: str) -> str:
        """The numeric top-level member of a JSON object column named by a bound parameter
        (SQLite: a JSON path such as '$."score"'; PostgreSQL: the member name); NULL when the
        member is missing or not a number."""
        if self.pg:
            member = f"{column} -> CAST(:{name_param} AS TEXT)"
            return (
                f"CASE WHEN jsonb_typeof({member}) = 'number' "
                f"THEN CAST({column} ->> CAST(:{name_param} AS TEXT) AS DOUBLE PRECISION) END"
            )
        return (
            f"CASE WHEN json_type({column}, :{name_param}) IN ('integer', 'real') "
            f"THEN CAST(json_extract({column}, :{name_param}) AS REAL) END"
        )

    def json_path(self, name: str) -> str:
        """The bound value for :meth:`json_number` (name must be a plain identifier)."""
        return name if self.pg else f'$."{name}"'

    def has_group_outside(self, groups_column: str, param: str) -> str:
        """True when the JSON array of groups has a member outside the JSON array :param
        (an empty array has none)."""
        if self.pg:
            return f"NOT ({groups_column} <@ CAST(:{param} AS JSONB))"
        return (
            f"EXISTS (SELECT 1 FROM json_each({groups_column}) g "
            f"WHERE g.value NOT IN (SELECT x.value FROM json_each(:{param}) x))"
        )

    def same_set(self, left: str, right: str) -> str:
        """The two JSON arrays hold the same set of values (order and repeats ignored)."""
        if self.pg:
            return f"({left} @> {right} AND {right} @> {left})"
        return (
            f"(NOT EXISTS (SELECT 1 FROM json_each({left}) a WHERE a.value NOT IN "
            f"(SELECT b.value FROM json_each({right}) b)) AND NOT EXISTS (SELECT 1 FROM "
            f"json_each({right}) c WHERE c.value NOT IN (SELECT d.value FROM json_each({left}) d)))"
        )

    def same(self, left: str, right: str) -> str:
        """Equality that holds for two NULLs."""
        return f"{left} IS NOT DISTINCT FROM {right}" if self.pg else f"{left} IS {right}"

    def at_least_zero(self, expr: str) -> str:
        return f"GREATEST({expr}, 0)" if self.pg else f"MAX({expr}, 0)"


def percentile_weight(rank: str, count: str, percent: int) -> str:
    """The weight of a row of rank ``rank`` (1-based, ascending) among ``count`` values in the
    linearly interpolated ``percent``-th percentile: SUM(weight * value) is the percentile.

    The percentile sits at position 1 + (count - 1) * percent / 100, computed in integers so
    the interpolation fraction is exact."""
    lower = f"(1 + (({count} - 1) * {percent}) / 100)"
    fraction = f"(((({count} - 1) * {percent}) % 100) / 100.0)"
    return (
        f"(CASE WHEN {rank} = {lower} THEN 1.0 - {fraction} "
        f"WHEN {rank} = {lower} + 1 THEN {fraction} ELSE 0.0 END)"
    )


def _ranked(value: str, partition: str) -> str:
    """Rank (non-NULL values first, ascending) and count of non-NULL values of ``value``."""
    return (
        f"ROW_NUMBER() OVER (PARTITION BY {partition} "
        f"ORDER BY CASE WHEN {value} IS NULL THEN 1 ELSE 0 END, {value}) AS rn_{value}, "
        f"COUNT({value}) OVER (PARTITION BY {partition}) AS n_{value}"
    )


def _stats(value: str, percents: Sequence[int]) -> str:
    """AVG and the percentiles of a column ranked by :func:`_ranked`."""
    parts = [f"AVG({value}) AS {value}_avg"]
    parts += [
        f"SUM({percentile_weight(f'rn_{value}', f'n_{value}', p)} * {value}) AS {value}_p{p}"
        for p in percents
    ]
    return ", ".join(parts)


def _instances(filters: Filters, params: dict[str, Any], extra: str = "") -> str:
    """The filtered instances as a SELECT over process_instance aliased pi."""
    where = ["1 = 1"]
    if filters.key is not None:
        where.append("pi.definition_key = :key")
        params["key"] = filters.key
    if filters.version is not None:
        where.append("pi.version = :version")
        params["version"] = filters.version
    if filters.category is not None:
        where.append("pi.category = :category")
        params["category"] = filters.category
    if filters.started_from is not None:
        where.append("pi.started_at >= :started_from")
        params["started_from"] = filters.started_from
    if filters.started_to is not None:
        where.append("pi.started_at < :started_to")
        params["started_to"] = filters.started_to
    return (
        "SELECT pi.id, pi.definition_key AS key, pi.version, pi.category, pi.status, "
        f"pi.started_at, pi.ended_at{extra} FROM process_instance pi WHERE {' AND '.join(where)}"
    )


TIME_PARAMS = ("started_from", "started_to", "now")


def _run(session: Session, statement: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    binds: list[BindParameter[Any]] = [
        bindparam(name, type_=UtcDateTime()) for name in TIME_PARAMS if name in params
    ]
    query = text(statement).bindparams(*binds)
    return [dict(row) for row in session.execute(query, params).mappings()]


# -- processes ------------------------------------------------------------------------------


def process_kpis(
    session: Session,
    filters: Filters,
    *,
    satisfaction_variable: str,
    external_groups: Collection[str],
    percents: Sequence[int] = (50, 90),
) -> list[dict[str, Any]]:
    """One row per (key, version, category); see docs/analytics.md for every column."""
    sql = Sql(session.get_bind().dialect.name)
    params: dict[str, Any] = {
        "satisfaction": sql.json_path(satisfaction_variable),
        "external_groups": json.dumps(sorted(external_groups)),
    }
    satisfaction = sql.json_number("pi.variables", "satisfaction")
    stat_names = ["avg", *(f"p{p}" for p in percents)]
    inst = _instances(filters, params, f", {satisfaction} AS satisfaction")
    group = "i.key, i.version, i.category"
    done_columns = [
        *(f"{m}_{s}" for m in ("cycle_days", "cycle_wd", "utility_wd") for s in stat_names),
        "procedures_avg",
        "procedures_p50",
        "hall_visits_avg",
        "handoffs_avg",
        "rework_loops_avg",
        "with_rework",
    ]
    statement = f"""
WITH inst AS ({inst}),
done AS (
    SELECT i.id, i.key, i.version, i.category,
           {sql.days("i.started_at", "i.ended_at")} AS cycle_days,
           ce.ordinal - cs.ordinal AS cycle_wd
    FROM inst i
    LEFT JOIN calendar_day cs ON cs.day = {sql.local_date("i.started_at")}
    LEFT JOIN calendar_day ce ON ce.day = {sql.local_date("i.ended_at")}
    WHERE i.status = 'completed' AND i.ended_at IS NOT NULL
),
external_spans AS (
    SELECT ht.instance_id, ht.created_at AS span_start, ht.ended_at AS span_end
    FROM historic_task ht JOIN done d ON d.id = ht.instance_id
    WHERE ht.external_party
    UNION ALL
    SELECT hw.instance_id, hw.started_at, hw.ended_at
    FROM historic_wait hw JOIN done d ON d.id = hw.instance_id
    WHERE hw.external_party
),
external_wd AS (
    SELECT x.instance_id, SUM(ce.ordinal - cs.ordinal) AS wd
    FROM external_spans x
    JOIN calendar_day cs ON cs.day = {sql.local_date("x.span_start")}
    JOIN calendar_day ce ON ce.day = {sql.local_date("x.span_end")}
    GROUP BY x.instance_id
),
task_counts AS (
    SELECT ht.instance_id,
           COUNT(DISTINCT CASE WHEN ht.end_reason = 'completed'
                          THEN ht.customer_procedure END) AS procedures,
           SUM(CASE WHEN ht.end_reason = 'completed' AND ht.hall_visit THEN 1 ELSE 0 END)
               AS hall_visits
    FROM historic_task ht JOIN done d ON d.id = ht.instance_id
    GROUP BY ht.instance_id
),
element_rounds AS (
    SELECT ht.instance_id, COUNT(DISTINCT ht.created_at) - 1 AS extra_rounds
    FROM historic_task ht JOIN done d ON d.id = ht.instance_id
    GROUP BY ht.instance_id, ht.element_id
),
rework AS (
    SELECT instance_id, SUM(extra_rounds) AS rework_loops
    FROM element_rounds GROUP BY instance_id
),
utility AS (
    SELECT ht.instance_id, ht.id, ht.created_at, ht.ended_at
    FROM historic_task ht JOIN done d ON d.id = ht.instance_id
    WHERE ht.end_reason = 'completed'
      AND {sql.has_group_outside("ht.candidate_groups", "external_groups")}
),
utility_events AS (
    SELECT instance_id, id, ended_at AS at, 0 AS kind, created_at FROM utility
    UNION ALL
    SELECT instance_id, id, created_at AS at, 1 AS kind, created_at FROM utility
),
numbered_events AS (
    SELECT instance_id, id, kind,
           SUM(1 - kind) OVER (PARTITION BY instance_id ORDER BY at, kind, created_at, id
                               ROWS UNBOUNDED PRECEDING) AS ends_so_far
    FROM utility_events
),
utility_ends AS (
    SELECT instance_id, id, ends_so_far AS end_no FROM numbered_events WHERE kind = 0
),
enabling AS (
    SELECT c.instance_id, c.id,
           CASE WHEN e.id = c.id THEN e2.id ELSE e.id END AS enabling_id
    FROM numbered_events c
    JOIN utility_ends e ON e.instance_id = c.instance_id AND e.end_no = c.ends_so_far
    LEFT JOIN utility_ends e2 ON e2.instance_id = c.instance_id AND e2.end_no = c.ends_so_far - 1
    WHERE c.kind = 1
),
handoffs AS (
    SELECT en.instance_id, COUNT(*) AS handoffs
    FROM enabling en
    JOIN historic_task t ON t.id = en.id
    JOIN historic_task p ON p.id = en.enabling_id
    WHERE NOT {sql.same_set("t.candidate_groups", "p.candidate_groups")}
    GROUP BY en.instance_id
),
per_instance AS (
    SELECT d.key, d.version, d.category, d.cycle_days, d.cycle_wd,
           CASE WHEN d.cycle_wd IS NULL THEN NULL
                ELSE {sql.at_least_zero("d.cycle_wd - COALESCE(x.wd, 0)")} END AS utility_wd,
           COALESCE(tc.procedures, 0) AS procedures,
           COALESCE(tc.hall_visits, 0) AS hall_visits,
           COALESCE(h.handoffs, 0) AS handoffs,
           COALESCE(r.rework_loops, 0) AS rework_loops
    FROM done d
    LEFT JOIN external_wd x ON x.instance_id = d.id
    LEFT JOIN task_counts tc ON tc.instance_id = d.id
    LEFT JOIN handoffs h ON h.instance_id = d.id
    LEFT JOIN rework r ON r.instance_id = d.id
),
ranked AS (
    SELECT p.*,
           {_ranked("cycle_days", "key, version, category")},
           {_ranked("cycle_wd", "key, version, category")},
           {_ranked("utility_wd", "key, version, category")},
           {_ranked("procedures", "key, version, category")}
    FROM per_instance p
),
done_stats AS (
    SELECT key, version, category,
           {_stats("cycle_days", percents)},
           {_stats("cycle_wd", percents)},
           {_stats("utility_wd", percents)},
           {_stats("procedures", (50,))},
           AVG(hall_visits) AS hall_visits_avg,
           AVG(handoffs) AS handoffs_avg,
           AVG(rework_loops) AS rework_loops_avg,
           SUM(CASE WHEN rework_loops > 0 THEN 1 ELSE 0 END) AS with_rework
    FROM ranked
    GROUP BY key, version, category
),
counts AS (
    SELECT {group},
           COUNT(*) AS started,
           SUM(CASE WHEN i.status = 'completed' THEN 1 ELSE 0 END) AS completed,
           SUM(CASE WHEN i.status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled,
           SUM(CASE WHEN i.status = 'active' THEN 1 ELSE 0 END) AS active,
           AVG(i.satisfaction) AS satisfaction_avg,
           COUNT(i.satisfaction) AS satisfaction_responses
    FROM inst i
    GROUP BY {group}
)
SELECT c.*, {", ".join(f"s.{column}" for column in done_columns)}
FROM counts c
LEFT JOIN done_stats s ON s.key = c.key AND s.version = c.version
                      AND {sql.same("s.category", "c.category")}
ORDER BY c.key, c.version, CASE WHEN c.category IS NULL THEN 1 ELSE 0 END, c.category
"""
    return _run(session, statement, params)


# -- steps and lanes ------------------------------------------------------------------------


def task_kpis(
    session: Session, filters: Filters, *, by: str, percents: Sequence[int] = (90,)
) -> list[dict[str, Any]]:
    """Per element (``by="element"``) or per lane (``by="lane"``) of the filtered instances."""
    if by not in ("element", "lane"):
        raise ValueError(f"by must be 'element' or 'lane', not {by!r}")
    sql = Sql(session.get_bind().dialect.name)
    params: dict[str, Any] = {}
    inst = _instances(filters, params)
    if by == "element":
        keys, labels = "key, element_id", "MAX(name) AS name, MAX(lane) AS lane"
        join = "w.element_id = a.element_id"
    else:
        keys, labels = "key, lane", "COUNT(DISTINCT element_id) AS elements"
        join = sql.same("w.lane", "a.lane")
    last = keys.split(", ")[-1]
    completed = "t.end_reason = 'completed'"
    statement = f"""
WITH inst AS ({inst}),
tasks AS (
    SELECT i.key, ht.instance_id, ht.element_id, ht.name, ht.lane, ht.end_reason,
           ht.created_at, ht.claimed_at, ht.ended_at, ht.due_at
    FROM historic_task ht JOIN inst i ON i.id = ht.instance_id
),
timed AS (
    SELECT t.*,
           CASE WHEN {completed} AND t.claimed_at IS NOT NULL
                THEN {sql.hours("t.created_at", "t.claimed_at")} END AS waiting_hours,
           CASE WHEN {completed} AND t.claimed_at IS NOT NULL
                THEN {sql.hours("t.claimed_at", "t.ended_at")} END AS working_hours,
           CASE WHEN {completed} THEN 1 ELSE 0 END AS is_completed,
           CASE WHEN {completed} AND t.due_at IS NOT NULL THEN 1 ELSE 0 END AS has_due,
           CASE WHEN {completed} AND t.due_at IS NOT NULL AND t.ended_at <= t.due_at
                THEN 1 ELSE 0 END AS on_time
    FROM tasks t
),
ranked AS (
    SELECT timed.*,
           {_ranked("waiting_hours", keys)},
           {_ranked("working_hours", keys)}
    FROM timed
),
aggregated AS (
    SELECT {keys}, {labels},
           SUM(is_completed) AS completions,
           SUM(CASE WHEN end_reason = 'cancelled' THEN 1 ELSE 0 END) AS cancellations,
           {_stats("waiting_hours", percents)},
           {_stats("working_hours", percents)},
           SUM(has_due) AS with_due,
           SUM(on_time) AS on_time
    FROM ranked
    GROUP BY {keys}
),
element_rounds AS (
    SELECT key, element_id, MAX(lane) AS lane, instance_id,
           COUNT(DISTINCT created_at) - 1 AS extra_rounds
    FROM tasks
    GROUP BY key, instance_id, element_id
),
rework AS (
    SELECT {keys}, SUM(extra_rounds) AS rework_rounds,
           COUNT(DISTINCT CASE WHEN extra_rounds > 0 THEN instance_id END)
               AS instances_with_rework
    FROM element_rounds
    GROUP BY {keys}
)
SELECT a.*, w.rework_rounds, w.instances_with_rework
FROM aggregated a
LEFT JOIN rework w ON w.key = a.key AND {join}
ORDER BY a.key, CASE WHEN a.{last} IS NULL THEN 1 ELSE 0 END, a.{last}
"""
    return _run(session, statement, params)


# -- time limits ----------------------------------------------------------------------------


def time_limit_kpis(session: Session, filters: Filters, *, now: datetime) -> list[dict[str, Any]]:
    """Per element with due dates: completed with a due date, on time, late; open and overdue."""
    params: dict[str, Any] = {"now": now}
    inst = _instances(filters, params)
    statement = f"""
WITH inst AS ({inst}),
due_tasks AS (
    SELECT i.key, ht.element_id, ht.name, ht.lane, 1 AS completed,
           CASE WHEN ht.ended_at <= ht.due_at THEN 1 ELSE 0 END AS on_time,
           0 AS open_tasks, 0 AS open_overdue
    FROM historic_task ht JOIN inst i ON i.id = ht.instance_id
    WHERE ht.end_reason = 'completed' AND ht.due_at IS NOT NULL
    UNION ALL
    SELECT i.key, t.element_id, t.name, t.lane, 0, 0,
           1, CASE WHEN t.due_at < :now THEN 1 ELSE 0 END
    FROM task t JOIN inst i ON i.id = t.instance_id
    WHERE t.due_at IS NOT NULL
)
SELECT key, element_id, MAX(name) AS name, MAX(lane) AS lane,
       SUM(completed) AS completed, SUM(on_time) AS on_time,
       SUM(completed) - SUM(on_time) AS late,
       SUM(open_tasks) AS open_tasks, SUM(open_overdue) AS open_overdue
FROM due_tasks
GROUP BY key, element_id
ORDER BY key, element_id
"""
    return _run(session, statement, params)


def calendar_days(session: Session) -> int:
    """How many days the calendar_day table holds (0 before the service first started)."""
    return int(session.execute(text("SELECT COUNT(*) FROM calendar_day")).scalar_one())
