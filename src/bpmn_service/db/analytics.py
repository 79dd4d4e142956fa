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
ID_WIDTH = 36  # historic_task.id is String(36)
WORK_MEM = "64MB"  # PostgreSQL, per sort or hash of an analytics statement
STATEMENT_TIMEOUT = "300s"  # PostgreSQL; the service's default for requests is 60 s


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
            return f"date_part('epoch', {end} - {start})"  # double precision, not numeric
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

    @property
    def fence(self) -> str:
        """Ends a subquery that PostgreSQL must not flatten, so that its expressions are
        computed once per row rather than once per use."""
        return " OFFSET 0" if self.pg else ""

    @property
    def moment_width(self) -> int:
        """The length of :meth:`moment_text`."""
        return 20 if self.pg else 26

    def moment_text(self, column: str) -> str:
        """A timestamp as fixed-width text that sorts like the timestamp."""
        if self.pg:
            return f"to_char({column} AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS')"
        # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff'; values without microseconds get them.
        return f"substr({column} || '.000000', 1, 26)"

    def bytewise(self, expr: str) -> str:
        """Text compared and sorted by bytes (SQLite's default; PostgreSQL's "C" collation)."""
        return f'({expr}) COLLATE "C"' if self.pg else expr

    def json_text(self, column: str) -> str:
        return f"CAST({column} AS TEXT)" if self.pg else column

    def json_value(self, text_expr: str) -> str:
        return f"CAST({text_expr} AS JSONB)" if self.pg else text_expr

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


def _ranks(sql: Sql, values: Sequence[str], partition: str) -> str:
    """SQLite: for each value, its rank (non-NULL values first, ascending) and the count of
    non-NULL values in the partition, as extra select columns. PostgreSQL needs none: its
    percentile_cont() orders within the group."""
    if sql.pg:
        return ""
    return "".join(
        f", ROW_NUMBER() OVER (PARTITION BY {partition} "
        f"ORDER BY CASE WHEN {v} IS NULL THEN 1 ELSE 0 END, {v}) AS rn_{v}, "
        f"COUNT({v}) OVER (PARTITION BY {partition}) AS n_{v}"
        for v in values
    )


def _stats(sql: Sql, value: str, percents: Sequence[int]) -> str:
    """AVG and the linearly interpolated percentiles of a column, as aggregates (SQLite: of a
    column ranked by :func:`_ranks`)."""
    parts = [f"AVG({value}) AS {value}_avg"]
    for p in percents:
        if sql.pg:
            parts.append(
                f"percentile_cont({p / 100}) WITHIN GROUP (ORDER BY {value}) AS {value}_p{p}"
            )
        else:
            weight = percentile_weight(f"rn_{value}", f"n_{value}", p)
            parts.append(f"SUM({weight} * {value}) AS {value}_p{p}")
    return ", ".join(parts)


def _padded_id(column: str) -> str:
    """An id padded with spaces to ID_WIDTH characters, for fixed-width sort keys."""
    return f"substr({column} || '{' ' * ID_WIDTH}', 1, {ID_WIDTH})"


def _where(filters: Filters, params: dict[str, Any]) -> str:
    """The filter as a condition on process_instance aliased pi (written inline wherever the
    instances are joined, so the planner sees the real table and its statistics)."""
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
    return " AND ".join(where)


TIME_PARAMS = ("started_from", "started_to", "now")


def _pairs(
    pairs: Sequence[tuple[str, str]],
    outer: str,
    inner: str,
    params: dict[str, Any],
    prefix: str,
) -> str:
    """A condition true where (outer, inner) is one of the pairs, with bound parameters;
    never true for none."""
    by_outer: dict[str, list[str]] = {}
    for first, second in pairs:
        by_outer.setdefault(first, []).append(second)
    terms = []
    for i, (first, seconds) in enumerate(sorted(by_outer.items())):
        params[f"{prefix}{i}"] = first
        names = []
        for j, second in enumerate(sorted(set(seconds))):
            params[f"{prefix}{i}_{j}"] = second
            names.append(f":{prefix}{i}_{j}")
        terms.append(f"({outer} = :{prefix}{i} AND {inner} IN ({', '.join(names)}))")
    return " OR ".join(terms) or "1 = 0"


def _run(session: Session, statement: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    binds: list[BindParameter[Any]] = [
        bindparam(name, type_=UtcDateTime()) for name in TIME_PARAMS if name in params
    ]
    query = text(statement).bindparams(*binds)
    if session.get_bind().dialect.name == "postgresql":
        # Compiling these long statements with JIT costs more than it saves (seconds).
        session.execute(text("SET LOCAL jit = off"))
        # Sorts and hashes over millions of history rows: in memory rather than on disk.
        session.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
        # A report over years of history may take longer than an API request should.
        session.execute(text(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'"))
    return [dict(row) for row in session.execute(query, params).mappings()]


# -- processes ------------------------------------------------------------------------------


def process_kpis(
    session: Session,
    filters: Filters,
    *,
    satisfaction_variable: str,
    external_groups: Collection[str],
    lead_time_ends: Sequence[tuple[str, str]] = (),
    percents: Sequence[int] = (50, 90),
) -> list[dict[str, Any]]:
    """One row per (key, version, category); see docs/analytics.md for every column.

    ``lead_time_ends`` are the (definition id, element id) pairs of the tasks whose first
    completion ends a case's lead time (power-on, property ``leadTimeEnd``): the cycle figures
    run to that moment where a case has one, else to the case's end, and customer spans count
    only up to it.

    Per completed instance, one row of figures is summed from contributions (the instance
    itself, its external spans, its tasks, its element rounds, its hand-offs) that a single
    GROUP BY adds up, rather than joined: no plan depends on row estimates of intermediate
    results. Hand-offs: the enabling task of a utility task T is the utility task that ended
    last at or before T's creation (order: ended_at, created_at, id; T itself excluded), as in
    services/metrics.py. One window runs over the end and creation events of the utility tasks
    of each instance, carrying the greatest key ``ended_at | created_at | id | groups`` of the
    ends seen so far; only when that is T itself (a task that ended the instant it was created)
    does a lookup find the one before.
    """
    sql = Sql(session.get_bind().dialect.name)
    params: dict[str, Any] = {
        "satisfaction": sql.json_path(satisfaction_variable),
        "external_groups": json.dumps(sorted(external_groups)),
    }
    where = _where(filters, params)
    stat_names = ["avg", *(f"p{p}" for p in percents)]
    done_columns = [
        *(f"{m}_{s}" for m in ("cycle_days", "cycle_wd", "utility_wd") for s in stat_names),
        "procedures_avg",
        "procedures_p50",
        "hall_visits_avg",
        "handoffs_avg",
        "rework_loops_avg",
        "with_rework",
    ]
    ranked_values = ["cycle_days", "cycle_wd", "utility_wd", "procedures"]
    done = f"{where} AND pi.status = 'completed' AND pi.ended_at IS NOT NULL"
    done_tasks = f"historic_task ht JOIN process_instance pi ON pi.id = ht.instance_id WHERE {done}"
    lead_marked = _pairs(lead_time_ends, "pi.definition_id", "ht.element_id", params, "lead")
    # A case's cycle ends at power-on where its model marks it, else at its end.
    cycle_end = "COALESCE(le.lead_end, pi.ended_at)"
    span_end = "CASE WHEN le.lead_end < x.span_end THEN le.lead_end ELSE x.span_end END"
    is_utility = sql.has_group_outside("ht.candidate_groups", "external_groups")
    width = sql.moment_width
    end_key = (
        f"{sql.moment_text('ht.ended_at')} || {sql.moment_text('ht.created_at')} || "
        f"{_padded_id('ht.id')} || {sql.json_text('ht.candidate_groups')}"
    )
    fallback = (
        f"(SELECT MAX({sql.bytewise(end_key)}) FROM historic_task ht "
        f"WHERE ht.instance_id = c.instance_id AND ht.end_reason = 'completed' "
        f"AND {is_utility} AND ht.ended_at <= c.created_at AND ht.id <> c.id)"
    )
    statement = f"""
WITH lead_end AS (
    SELECT ht.instance_id, MIN(ht.ended_at) AS lead_end
    FROM {done_tasks} AND ht.end_reason = 'completed' AND ({lead_marked})
    GROUP BY ht.instance_id
),
creations AS (
    SELECT ht.instance_id, ht.id, ht.created_at, ht.candidate_groups, events.kind,
           MAX(CASE WHEN events.kind = 0 THEN {sql.bytewise(end_key)} END) OVER (
               PARTITION BY {sql.bytewise("ht.instance_id")}
               ORDER BY CASE WHEN events.kind = 0 THEN ht.ended_at ELSE ht.created_at END,
                        events.kind
               ROWS UNBOUNDED PRECEDING
           ) AS last_end
    FROM historic_task ht
    JOIN process_instance pi ON pi.id = ht.instance_id
    CROSS JOIN (SELECT 0 AS kind UNION ALL SELECT 1) events
    WHERE {done} AND ht.end_reason = 'completed' AND {is_utility}
),
enabled AS (
    SELECT e.instance_id, e.candidate_groups,
           {sql.json_value(f"substr(e.enabling, {2 * width + ID_WIDTH + 1})")} AS enabling_groups
    FROM (
        SELECT c.instance_id, c.candidate_groups,
               CASE WHEN {sql.bytewise(f"substr(c.last_end, {2 * width + 1}, {ID_WIDTH})")}
                         = {sql.bytewise(_padded_id("c.id"))}
                    THEN {fallback} ELSE c.last_end END AS enabling
        FROM creations c
        WHERE c.kind = 1{sql.fence}
    ) e{sql.fence}
),
handoffs AS (
    SELECT {sql.bytewise("instance_id")} AS instance_id,
           SUM(CASE WHEN enabling_groups IS NOT NULL
                     AND NOT {sql.same_set("candidate_groups", "enabling_groups")}
                    THEN 1 ELSE 0 END) AS handoffs
    FROM enabled
    GROUP BY {sql.bytewise("instance_id")}
),
external_wd AS (
    SELECT x.instance_id, SUM(ce.ordinal - cs.ordinal) AS external_wd
    FROM (
        SELECT ht.instance_id, ht.created_at AS span_start, ht.ended_at AS span_end
        FROM {done_tasks} AND ht.external_party
        UNION ALL
        SELECT hw.instance_id, hw.started_at, hw.ended_at
        FROM historic_wait hw JOIN process_instance pi ON pi.id = hw.instance_id
        WHERE {done} AND hw.external_party
    ) x
    LEFT JOIN lead_end le ON le.instance_id = x.instance_id
    JOIN calendar_day cs ON cs.day = {sql.local_date("x.span_start")}
    JOIN calendar_day ce ON ce.day = {sql.local_date(span_end)}
    WHERE le.lead_end IS NULL OR x.span_start < le.lead_end
    GROUP BY x.instance_id
),
task_counts AS (
    SELECT ht.instance_id,
           COUNT(DISTINCT CASE WHEN ht.end_reason = 'completed'
                          THEN ht.customer_procedure END) AS procedures,
           SUM(CASE WHEN ht.end_reason = 'completed' AND ht.hall_visit THEN 1 ELSE 0 END)
               AS hall_visits,
           COUNT(DISTINCT ht.element_id || {sql.moment_text("ht.created_at")})
               - COUNT(DISTINCT ht.element_id) AS rework_loops
    FROM {done_tasks}
    GROUP BY ht.instance_id
),
contributions AS (
    SELECT pi.id AS instance_id, {sql.bytewise("pi.definition_key")} AS key, pi.version,
           {sql.bytewise("pi.category")} AS category,
           {sql.days("pi.started_at", cycle_end)} AS cycle_days,
           ce.ordinal - cs.ordinal AS cycle_wd,
           0 AS external_wd, 0 AS procedures, 0 AS hall_visits, 0 AS rework_loops,
           0 AS handoffs
    FROM process_instance pi
    LEFT JOIN lead_end le ON le.instance_id = pi.id
    LEFT JOIN calendar_day cs ON cs.day = {sql.local_date("pi.started_at")}
    LEFT JOIN calendar_day ce ON ce.day = {sql.local_date(cycle_end)}
    WHERE {done}
    UNION ALL
    SELECT instance_id, NULL, NULL, NULL, NULL, NULL, external_wd, 0, 0, 0, 0
    FROM external_wd
    UNION ALL
    SELECT instance_id, NULL, NULL, NULL, NULL, NULL, 0, procedures, hall_visits, rework_loops, 0
    FROM task_counts
    UNION ALL
    SELECT instance_id, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0, handoffs FROM handoffs
),
per_instance AS (
    SELECT MAX(key) AS key, MAX(version) AS version, MAX(category) AS category,
           SUM(cycle_days) AS cycle_days, SUM(cycle_wd) AS cycle_wd,
           CASE WHEN SUM(cycle_wd) IS NOT NULL
                THEN {sql.at_least_zero("SUM(cycle_wd) - SUM(external_wd)")} END AS utility_wd,
           SUM(procedures) AS procedures, SUM(hall_visits) AS hall_visits,
           SUM(handoffs) AS handoffs, SUM(rework_loops) AS rework_loops
    FROM contributions
    GROUP BY instance_id
),
ranked AS (
    SELECT p.*{_ranks(sql, ranked_values, "key, version, category")}
    FROM per_instance p
),
done_stats AS (
    SELECT key, version, category,
           {_stats(sql, "cycle_days", percents)},
           {_stats(sql, "cycle_wd", percents)},
           {_stats(sql, "utility_wd", percents)},
           {_stats(sql, "procedures", (50,))},
           AVG(hall_visits) AS hall_visits_avg,
           AVG(handoffs) AS handoffs_avg,
           AVG(rework_loops) AS rework_loops_avg,
           SUM(CASE WHEN rework_loops > 0 THEN 1 ELSE 0 END) AS with_rework
    FROM ranked
    GROUP BY key, version, category
),
counts AS (
    SELECT pi.definition_key AS key, pi.version, pi.category,
           COUNT(*) AS started,
           SUM(CASE WHEN pi.status = 'completed' THEN 1 ELSE 0 END) AS completed,
           SUM(CASE WHEN pi.status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled,
           SUM(CASE WHEN pi.status = 'active' THEN 1 ELSE 0 END) AS active,
           AVG({sql.json_number("pi.variables", "satisfaction")}) AS satisfaction_avg,
           COUNT({sql.json_number("pi.variables", "satisfaction")}) AS satisfaction_responses
    FROM process_instance pi
    WHERE {where}
    GROUP BY pi.definition_key, pi.version, pi.category
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
    where = _where(filters, params)
    if by == "element":
        keys, labels = "key, element_id", "MAX(name) AS name, MAX(lane) AS lane"
        join = "w.element_id = a.element_id"
    else:
        keys, labels = "key, lane", "COUNT(DISTINCT element_id) AS elements"
        join = sql.same("w.lane", "a.lane")
    last = keys.split(", ")[-1]
    completed = "ht.end_reason = 'completed'"
    tasks = f"historic_task ht JOIN process_instance pi ON pi.id = ht.instance_id WHERE {where}"
    # Grouping keys compare bytewise on PostgreSQL: sorting them is much cheaper.
    key, element = sql.bytewise("pi.definition_key"), sql.bytewise("ht.element_id")
    statement = f"""
WITH timed AS (
    SELECT {key} AS key, {element} AS element_id, ht.name, {sql.bytewise("ht.lane")} AS lane,
           CASE WHEN {completed} AND ht.claimed_at IS NOT NULL
                THEN {sql.hours("ht.created_at", "ht.claimed_at")} END AS waiting_hours,
           CASE WHEN {completed} AND ht.claimed_at IS NOT NULL
                THEN {sql.hours("ht.claimed_at", "ht.ended_at")} END AS working_hours,
           CASE WHEN {completed} THEN 1 ELSE 0 END AS is_completed,
           CASE WHEN ht.end_reason = 'cancelled' THEN 1 ELSE 0 END AS is_cancelled,
           CASE WHEN {completed} AND ht.due_at IS NOT NULL THEN 1 ELSE 0 END AS has_due,
           CASE WHEN {completed} AND ht.due_at IS NOT NULL AND ht.ended_at <= ht.due_at
                THEN 1 ELSE 0 END AS on_time
    FROM {tasks}
),
ranked AS (
    SELECT timed.*{_ranks(sql, ["waiting_hours", "working_hours"], keys)}
    FROM timed
),
aggregated AS (
    SELECT {keys}, {labels},
           SUM(is_completed) AS completions,
           SUM(is_cancelled) AS cancellations,
           {_stats(sql, "waiting_hours", percents)},
           {_stats(sql, "working_hours", percents)},
           SUM(has_due) AS with_due,
           SUM(on_time) AS on_time
    FROM ranked
    GROUP BY {keys}
),
rounds AS (
    SELECT {key} AS key, {element} AS element_id, {sql.bytewise("ht.lane")} AS lane,
           DENSE_RANK() OVER (
               PARTITION BY {sql.bytewise("ht.instance_id")}, {element} ORDER BY ht.created_at
           ) AS round,
           ROW_NUMBER() OVER (
               PARTITION BY {sql.bytewise("ht.instance_id")}, {element}, ht.created_at
           ) AS nth
    FROM {tasks}
),
rework AS (
    SELECT {keys},
           SUM(CASE WHEN round > 1 AND nth = 1 THEN 1 ELSE 0 END) AS rework_rounds,
           SUM(CASE WHEN round = 2 AND nth = 1 THEN 1 ELSE 0 END) AS instances_with_rework
    FROM rounds
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
    where = _where(filters, params)
    statement = f"""
WITH due_tasks AS (
    SELECT pi.definition_key AS key, ht.element_id, ht.name, ht.lane, 1 AS completed,
           CASE WHEN ht.ended_at <= ht.due_at THEN 1 ELSE 0 END AS on_time,
           0 AS open_tasks, 0 AS open_overdue
    FROM historic_task ht JOIN process_instance pi ON pi.id = ht.instance_id
    WHERE {where} AND ht.end_reason = 'completed' AND ht.due_at IS NOT NULL
    UNION ALL
    SELECT pi.definition_key, t.element_id, t.name, t.lane, 0, 0,
           1, CASE WHEN t.due_at < :now THEN 1 ELSE 0 END
    FROM task t JOIN process_instance pi ON pi.id = t.instance_id
    WHERE {where} AND t.due_at IS NOT NULL
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
