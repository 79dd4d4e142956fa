"""Process, step, lane and time-limit KPIs from the history tables (docs/analytics.md).

The figures are computed by single SQL statements in db/analytics.py; this module checks who may
see them, validates the parameters and shapes the few resulting rows. Laying them out as text
for `bpmn-service report` is analytics_text.py's job; the HTTP routes return them as JSON.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpmn_service.context import AppContext
from bpmn_service.db import analytics as sql
from bpmn_service.db.models import ProcessDefinition
from bpmn_service.errors import Forbidden, Invalid
from bpmn_service.identity import Principal
from bpmn_service.timeutil import as_utc

from .lead_time import lead_time_ends
from .projection import EXTERNAL_GROUPS
from .uow import UnitOfWork

ANALYTICS_GROUPS = frozenset({"analyst", "supervisor", "admin"})
DEFAULT_SATISFACTION_VARIABLE = "score1to5"
BEIJING = timezone(timedelta(hours=sql.BEIJING_OFFSET_HOURS), "Asia/Shanghai")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
# "+08:00" arrives as " 08:00" when a client forgets to encode the plus sign of a query string.
UNENCODED_PLUS = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")
# World Bank Doing Business bounds (domain brief §4.1): procedures 3..9, time 18..248 days.
DB_PROCEDURES_BEST, DB_PROCEDURES_WORST = 3.0, 9.0
DB_DAYS_BEST, DB_DAYS_WORST = 18.0, 248.0


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """Validated report parameters; ``started_from``/``started_to`` are aware UTC datetimes."""

    key: str | None = None
    version: int | None = None
    category: str | None = None
    started_from: datetime | None = None
    started_to: datetime | None = None
    satisfaction_variable: str = DEFAULT_SATISFACTION_VARIABLE

    @property
    def filters(self) -> sql.Filters:
        return sql.Filters(
            key=self.key,
            version=self.version,
            category=self.category,
            started_from=self.started_from,
            started_to=self.started_to,
        )


@dataclass(frozen=True, slots=True)
class Stats:
    avg: float | None
    p50: float | None
    p90: float | None


@dataclass(frozen=True, slots=True)
class DueCompliance:
    with_due: int
    on_time: int
    late: int
    compliance_percent: float | None


@dataclass(frozen=True, slots=True)
class ProcessKpis:
    key: str
    version: int
    category: str | None
    started: int
    completed: int
    cancelled: int
    active: int
    cycle_days: Stats
    cycle_working_days: Stats
    utility_working_days: Stats
    customer_procedures: Stats
    hall_visits_avg: float | None
    handoffs_avg: float | None
    rework_loops_avg: float | None
    instances_with_rework: int
    satisfaction_avg: float | None
    satisfaction_responses: int
    db_score_procedures: float | None
    db_score_time: float | None
    db_score: float | None


@dataclass(frozen=True, slots=True)
class TaskKpis:
    """One element (element_id set) or one lane (element_id None, elements set)."""

    key: str
    element_id: str | None
    name: str | None
    lane: str | None
    elements: int | None
    completions: int
    cancellations: int
    waiting_hours: Stats
    working_hours: Stats
    rework_rounds: int
    instances_with_rework: int
    due: DueCompliance


@dataclass(frozen=True, slots=True)
class TimeLimitKpis:
    key: str
    element_id: str
    name: str
    lane: str | None
    completed: int
    on_time: int
    late: int
    compliance_percent: float | None
    open_tasks: int
    open_overdue: int


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Report(Generic[T]):
    query: ReportQuery
    items: list[T]


@dataclass(frozen=True, slots=True)
class ReportParams:
    """Report parameters as received (strings for the dates); report_query() validates them."""

    key: str | None = None
    version: int | None = None
    category: str | None = None
    started_from: str | None = None
    started_to: str | None = None
    satisfaction_variable: str | None = None


# -- parameters -----------------------------------------------------------------------------


def parse_moment(value: str | None, name: str, problems: list[dict[str, str]]) -> datetime | None:
    """A date (Beijing local midnight) or an ISO 8601 date-time with offset, as UTC."""
    if value is None or value == "":
        return None
    raw = UNENCODED_PLUS.sub(r"\1+\2", value.strip())
    try:
        if len(raw) == 10:
            moment = datetime.combine(date.fromisoformat(raw), time(), BEIJING)
        else:
            moment = datetime.fromisoformat(raw)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        problems.append(
            {
                "field": name,
                "message": f"{value!r} is neither a date (YYYY-MM-DD, read as Beijing local "
                "midnight) nor an ISO 8601 date-time with an offset (e.g. 2025-10-01T00:00:00Z "
                "or 2025-10-01T08:00:00%2B08:00)",
            }
        )
        return None
    try:
        return as_utc(moment)
    except ValueError as exc:  # e.g. 0001-01-01 (Beijing midnight is in year 0 in UTC)
        problems.append({"field": name, "message": f"{value!r}: {exc}"})
        return None


def report_query(ctx: AppContext, principal: Principal, params: ReportParams) -> ReportQuery:
    """Check access (403) and the parameters (422 listing every problem)."""
    if not principal.groups & ANALYTICS_GROUPS:
        raise Forbidden("analytics need the analyst, supervisor or admin group")
    problems: list[dict[str, str]] = []
    key, version = params.key or None, params.version
    start = parse_moment(params.started_from, "from", problems)
    end = parse_moment(params.started_to, "to", problems)
    if start is not None and end is not None and start >= end:
        problems.append(
            {
                "field": "to",
                "message": f"to ({params.started_to}) must be later than "
                f"from ({params.started_from})",
            }
        )
    if version is not None and key is None:
        problems.append({"field": "version", "message": "a version filter needs a process key"})
    if version is not None and version < 1:
        problems.append({"field": "version", "message": "version must be 1 or more"})
    variable = params.satisfaction_variable or DEFAULT_SATISFACTION_VARIABLE
    if not IDENTIFIER.fullmatch(variable):
        problems.append(
            {
                "field": "satisfaction_variable",
                "message": f"{variable!r} is not a variable name (letters, digits, underscore)",
            }
        )
    if key is not None:
        with UnitOfWork(ctx) as uow:
            known = version if version is not None and version >= 1 else None
            _check_definition(uow.session, key, known, problems)
    if problems:
        text = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        raise Invalid(f"invalid analytics parameters: {text}", details=problems)
    return ReportQuery(
        key=key,
        version=version,
        category=params.category or None,
        started_from=start,
        started_to=end,
        satisfaction_variable=variable,
    )


def _check_definition(
    session: Session, key: str, version: int | None, problems: list[dict[str, str]]
) -> None:
    versions = set(
        session.scalars(select(ProcessDefinition.version).where(ProcessDefinition.key == key))
    )
    if not versions:
        problems.append({"field": "key", "message": f"no process with key {key!r} is deployed"})
    elif version is not None and version not in versions:
        known = ", ".join(str(v) for v in sorted(versions))
        problems.append(
            {
                "field": "version",
                "message": f"process {key!r} has no version {version} (deployed: {known})",
            }
        )


# -- reports --------------------------------------------------------------------------------


def process_report(
    ctx: AppContext, principal: Principal, params: ReportParams
) -> Report[ProcessKpis]:
    """Per (key, version, category): volumes, cycle times, procedures, hand-offs, rework."""
    query = report_query(ctx, principal, params)
    with UnitOfWork(ctx) as uow:
        rows = sql.process_kpis(
            uow.session,
            query.filters,
            satisfaction_variable=query.satisfaction_variable,
            external_groups=EXTERNAL_GROUPS,
            lead_time_ends=lead_time_ends(uow.session, query.key, query.version),
        )
    return Report(query, [_process_kpis(r) for r in rows])


def step_report(ctx: AppContext, principal: Principal, params: ReportParams) -> Report[TaskKpis]:
    """Per element: completions, waiting and working hours, rework, due-date compliance."""
    query = report_query(ctx, principal, params)
    with UnitOfWork(ctx) as uow:
        rows = sql.task_kpis(uow.session, query.filters, by="element", percents=(50, 90))
    return Report(query, [_task_kpis(r) for r in rows])


def lane_report(ctx: AppContext, principal: Principal, params: ReportParams) -> Report[TaskKpis]:
    """The step figures per lane."""
    query = report_query(ctx, principal, params)
    with UnitOfWork(ctx) as uow:
        rows = sql.task_kpis(uow.session, query.filters, by="lane", percents=(50, 90))
    return Report(query, [_task_kpis(r) for r in rows])


def time_limit_report(
    ctx: AppContext, principal: Principal, params: ReportParams
) -> Report[TimeLimitKpis]:
    """Per element with due dates: completed on time and late, open and overdue now."""
    query = report_query(ctx, principal, params)
    with UnitOfWork(ctx) as uow:
        rows = sql.time_limit_kpis(uow.session, query.filters, now=ctx.clock())
    return Report(query, [_time_limit_kpis(r) for r in rows])


def calendar_loaded(ctx: AppContext) -> bool:
    """Whether calendar_day is filled (the service fills it at start-up)."""
    with UnitOfWork(ctx) as uow:
        return sql.calendar_days(uow.session) > 0


# -- shaping --------------------------------------------------------------------------------


def _num(value: Any, digits: int) -> float | None:
    if value is None:
        return None
    return round(float(value), digits)


def _int(value: Any) -> int:
    return int(value or 0)


def _stats(row: dict[str, Any], name: str, digits: int) -> Stats:
    return Stats(
        avg=_num(row.get(f"{name}_avg"), digits),
        p50=_num(row.get(f"{name}_p50"), digits),
        p90=_num(row.get(f"{name}_p90"), digits),
    )


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _clamped_score(value: float | None, best: float, worst: float) -> float | None:
    if value is None:
        return None
    return round(max(0.0, min(1.0, (worst - value) / (worst - best))) * 100.0, 1)


def _process_kpis(row: dict[str, Any]) -> ProcessKpis:
    cycle_days = _stats(row, "cycle_days", 4)
    procedures = _stats(row, "procedures", 3)
    score_procedures = _clamped_score(procedures.p50, DB_PROCEDURES_BEST, DB_PROCEDURES_WORST)
    score_time = _clamped_score(cycle_days.p50, DB_DAYS_BEST, DB_DAYS_WORST)
    score = (
        round((score_procedures + score_time) / 2, 1)
        if score_procedures is not None and score_time is not None
        else None
    )
    return ProcessKpis(
        key=row["key"],
        version=int(row["version"]),
        category=row["category"],
        started=_int(row["started"]),
        completed=_int(row["completed"]),
        cancelled=_int(row["cancelled"]),
        active=_int(row["active"]),
        cycle_days=cycle_days,
        cycle_working_days=_stats(row, "cycle_wd", 3),
        utility_working_days=_stats(row, "utility_wd", 3),
        customer_procedures=procedures,
        hall_visits_avg=_num(row["hall_visits_avg"], 3),
        handoffs_avg=_num(row["handoffs_avg"], 3),
        rework_loops_avg=_num(row["rework_loops_avg"], 3),
        instances_with_rework=_int(row["with_rework"]),
        satisfaction_avg=_num(row["satisfaction_avg"], 3),
        satisfaction_responses=_int(row["satisfaction_responses"]),
        db_score_procedures=score_procedures,
        db_score_time=score_time,
        db_score=score,
    )


def _task_kpis(row: dict[str, Any]) -> TaskKpis:
    with_due, on_time = _int(row["with_due"]), _int(row["on_time"])
    return TaskKpis(
        key=row["key"],
        element_id=row.get("element_id"),
        name=row.get("name"),
        lane=row["lane"],
        elements=_int(row["elements"]) if "elements" in row else None,
        completions=_int(row["completions"]),
        cancellations=_int(row["cancellations"]),
        waiting_hours=_stats(row, "waiting_hours", 4),
        working_hours=_stats(row, "working_hours", 4),
        rework_rounds=_int(row["rework_rounds"]),
        instances_with_rework=_int(row["instances_with_rework"]),
        due=DueCompliance(
            with_due=with_due,
            on_time=on_time,
            late=with_due - on_time,
            compliance_percent=_percent(on_time, with_due),
        ),
    )


def _time_limit_kpis(row: dict[str, Any]) -> TimeLimitKpis:
    completed, on_time = _int(row["completed"]), _int(row["on_time"])
    return TimeLimitKpis(
        key=row["key"],
        element_id=row["element_id"],
        name=row["name"],
        lane=row["lane"],
        completed=completed,
        on_time=on_time,
        late=_int(row["late"]),
        compliance_percent=_percent(on_time, completed),
        open_tasks=_int(row["open_tasks"]),
        open_overdue=_int(row["open_overdue"]),
    )


# -- views ---------------------------------------------------------------------------------

VIEWS = ("processes", "steps", "lanes", "time-limits")
# TaskKpis serves steps and lanes; each view leaves out the other's identity columns.
HIDDEN = {"steps": {"elements"}, "lanes": {"element_id", "name"}}


def reports(
    ctx: AppContext, principal: Principal, params: ReportParams, views: Sequence[str]
) -> dict[str, Report[Any]]:
    """The reports of the named views (see VIEWS), in that order."""
    builders: dict[str, Callable[[AppContext, Principal, ReportParams], Report[Any]]] = {
        "processes": process_report,
        "steps": step_report,
        "lanes": lane_report,
        "time-limits": time_limit_report,
    }
    return {view: builders[view](ctx, principal, params) for view in views}


def as_dict(view: str, item: Any) -> dict[str, Any]:
    """A KPI row as a dict of the columns its view shows (JSON-ready apart from datetimes)."""
    hidden = HIDDEN.get(view, set())
    return {k: v for k, v in asdict(item).items() if k not in hidden}
