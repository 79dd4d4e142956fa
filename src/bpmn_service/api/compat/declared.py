"""The dates a process version declares, for the variables answers of /engine-rest (values.py
types them Date)."""

from __future__ import annotations

from bpmn_service.api.compat.values import DeclaredDates
from bpmn_service.context import AppContext
from bpmn_service.services import instances


def declared_dates(ctx: AppContext, definition_id: str) -> DeclaredDates:
    """The variables the version's date form fields name (cached per version) and the calendar
    zone their dates are midnights of."""
    return DeclaredDates(instances.date_variables(ctx, definition_id), ctx.calendar.timezone)
