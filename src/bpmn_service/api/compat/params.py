"""Query parameters the Camunda way: paging, sorting, comma lists, and no silently ignored filter.

Camunda 7 has dozens of filters per list; a client filtering on one this service does not know
would otherwise get an unfiltered list. Every /engine-rest route refuses query parameters it does
not declare (400, naming them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from bpmn_service.api.compat.errors import bad_request
from bpmn_service.errors import FieldError

MAX_RESULTS = 1000


async def refuse_unknown_parameters(request: Request) -> None:  # no I/O: on the event loop
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _query_names(route.dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        supported = ", ".join(sorted(known)) or "none"
        raise bad_request(
            [
                FieldError(name, f"is not supported here (supported: {supported})")
                for name in unknown
            ]
        )


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


# Camunda's query parameters that many lists share, declared once.
SortBy = Annotated[str | None, Query(alias="sortBy")]
SortOrder = Annotated[str | None, Query(alias="sortOrder", description="asc or desc")]
ProcessInstanceId = Annotated[str | None, Query(alias="processInstanceId")]
ProcessDefinitionId = Annotated[str | None, Query(alias="processDefinitionId")]
ProcessDefinitionKey = Annotated[str | None, Query(alias="processDefinitionKey")]
ProcessDefinitionKeyIn = Annotated[
    str | None, Query(alias="processDefinitionKeyIn", description="comma-separated")
]
BusinessKey = Annotated[str | None, Query(alias="processInstanceBusinessKey")]


@dataclass(frozen=True, slots=True)
class Paging:
    offset: int
    limit: int


async def paging(
    first_result: Annotated[int, Query(alias="firstResult", ge=0, le=1_000_000_000)] = 0,
    max_results: Annotated[
        int,
        Query(alias="maxResults", ge=0, le=MAX_RESULTS, description=f"at most {MAX_RESULTS}"),
    ] = MAX_RESULTS,
) -> Paging:
    return Paging(first_result, max_results)


PagingDep = Annotated[Paging, Depends(paging)]


def sort_order(
    sort_by: str | None, order: str | None, allowed: dict[str, str]
) -> tuple[str, bool] | None:
    """The service's sort key and direction for Camunda's sortBy/sortOrder pair (both or none)."""
    if sort_by is None and order is None:
        return None
    if sort_by is None or order is None:
        raise bad_request([FieldError("sortBy", "sortBy and sortOrder must be given together")])
    if sort_by not in allowed:
        raise bad_request(
            [FieldError("sortBy", f"{sort_by!r} is not one of {', '.join(sorted(allowed))}")]
        )
    if order not in ("asc", "desc"):
        raise bad_request([FieldError("sortOrder", "must be asc or desc")])
    return allowed[sort_by], order == "desc"


def comma_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def either(yes: bool, no: bool) -> bool | None:
    """One condition from Camunda's pair of flags (finished/unfinished, assigned/unassigned):
    True, False, or None when neither is given (the first wins when both are)."""
    return True if yes else (False if no else None)


def no_tenants(tenant_ids: str | None) -> bool:
    """True when a tenantIdIn filter excludes everything (the service has no tenants)."""
    return bool(comma_list(tenant_ids))


def links(request: Request, path: str) -> list[dict[str, Any]]:
    """Camunda's self link: the resource's URL under this mount (/engine-rest)."""
    root = request.scope.get("root_path", "")
    href = str(request.url.replace(path=f"{root}/{path}", query=""))
    return [{"method": "GET", "href": href, "rel": "self"}]
