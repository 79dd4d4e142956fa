"""KPIs from the history: per process, step, lane and time limit (docs/analytics.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from bpmn_service.api.deps import ContextDep, PrincipalDep
from bpmn_service.api.errors import ERROR_RESPONSES
from bpmn_service.api.schemas import (
    LaneReportRead,
    ProcessReportRead,
    StepReportRead,
    TimeLimitReportRead,
)
from bpmn_service.services import analytics
from bpmn_service.services.analytics import ReportParams

router = APIRouter(prefix="/analytics", tags=["analytics"])

MOMENT = (
    "a date (YYYY-MM-DD, Beijing local midnight) or an ISO 8601 date-time with offset "
    "(encode '+' as %2B)"
)


def report_params(
    key: Annotated[str | None, Query(description="process definition key")] = None,
    version: Annotated[int | None, Query(ge=1, description="process version (needs key)")] = None,
    category: Annotated[str | None, Query(description="customer category, e.g. HV_S")] = None,
    started_from: Annotated[
        str | None, Query(alias="from", description=f"instances started at or after: {MOMENT}")
    ] = None,
    started_to: Annotated[
        str | None, Query(alias="to", description=f"instances started before: {MOMENT}")
    ] = None,
) -> ReportParams:
    return ReportParams(key, version, category, started_from, started_to)


def process_report_params(
    params: Annotated[ReportParams, Depends(report_params)],
    satisfaction_variable: Annotated[
        str, Query(description="numeric instance variable averaged as satisfaction")
    ] = analytics.DEFAULT_SATISFACTION_VARIABLE,
) -> ReportParams:
    return ReportParams(
        params.key,
        params.version,
        params.category,
        params.started_from,
        params.started_to,
        satisfaction_variable,
    )


ParamsDep = Annotated[ReportParams, Depends(report_params)]
ProcessParamsDep = Annotated[ReportParams, Depends(process_report_params)]


@router.get("/processes", response_model=ProcessReportRead, responses=ERROR_RESPONSES)
def process_kpis(
    ctx: ContextDep, principal: PrincipalDep, params: ProcessParamsDep
) -> ProcessReportRead:
    """Per process key, version and customer category: volumes, cycle times in calendar and
    working days, utility-controlled time, procedures, hall visits, hand-offs, rework loops and
    satisfaction. Analyst, supervisor or admin."""
    report = analytics.process_report(ctx, principal, params)
    return ProcessReportRead.model_validate(report, from_attributes=True)


@router.get("/steps", response_model=StepReportRead, responses=ERROR_RESPONSES)
def step_kpis(ctx: ContextDep, principal: PrincipalDep, params: ParamsDep) -> StepReportRead:
    """Per BPMN element: completions, waiting and working hours, rework rounds and due-date
    compliance. Analyst, supervisor or admin."""
    report = analytics.step_report(ctx, principal, params)
    return StepReportRead.model_validate(report, from_attributes=True)


@router.get("/lanes", response_model=LaneReportRead, responses=ERROR_RESPONSES)
def lane_kpis(ctx: ContextDep, principal: PrincipalDep, params: ParamsDep) -> LaneReportRead:
    """The step figures per lane. Analyst, supervisor or admin."""
    report = analytics.lane_report(ctx, principal, params)
    return LaneReportRead.model_validate(report, from_attributes=True)


@router.get("/time-limits", response_model=TimeLimitReportRead, responses=ERROR_RESPONSES)
def time_limit_kpis(
    ctx: ContextDep, principal: PrincipalDep, params: ParamsDep
) -> TimeLimitReportRead:
    """Per element with due dates: completed on time and late, compliance, open and overdue.
    Analyst, supervisor or admin."""
    report = analytics.time_limit_report(ctx, principal, params)
    return TimeLimitReportRead.model_validate(report, from_attributes=True)
