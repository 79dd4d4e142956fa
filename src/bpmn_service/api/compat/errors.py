"""Domain errors as Camunda 7 answers them: `{"type": ..., "message": ...}` and its status codes.

Two deliberate differences from Camunda 7 (docs/camunda.md): conflicts (a claim race, a stale
instance, a duplicate business key) are 409, not 500; and invalid input is 400 like Camunda's own
`InvalidRequestException`, never a 500.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from bpmn_service import errors

PARSE_PREFIX = "ENGINE-09005 Could not parse BPMN process. Errors: "

# Looked up along the error's MRO: the most specific class decides.
CAMUNDA_ERRORS: dict[type[errors.ServiceError], tuple[int, str]] = {
    errors.Unauthenticated: (401, "AuthenticationException"),
    errors.Forbidden: (403, "AuthorizationException"),
    errors.NotFound: (404, "InvalidRequestException"),
    errors.TaskAlreadyClaimed: (409, "TaskAlreadyClaimedException"),
    errors.StaleVersion: (409, "OptimisticLockingException"),
    errors.Conflict: (409, "ProcessEngineException"),
    errors.PayloadTooLarge: (413, "InvalidRequestException"),
    errors.InvalidBpmn: (400, "ParseException"),
    errors.WorkflowFailed: (400, "ProcessEngineException"),
    errors.Invalid: (400, "InvalidRequestException"),
    errors.Busy: (503, "ProcessEngineException"),
}


class CamundaError(BaseModel):
    type: str
    message: str
    details: Any = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": CamundaError, "description": "invalid request (BPMN: ParseException)"},
    401: {"model": CamundaError, "description": "missing or invalid credentials"},
    403: {"model": CamundaError, "description": "the caller lacks the required group"},
    404: {"model": CamundaError, "description": "not found, or not visible to the caller"},
    409: {"model": CamundaError, "description": "conflict (claimed, stale, duplicate)"},
    413: {"model": CamundaError, "description": "the request body or an upload is too large"},
    503: {
        "model": CamundaError,
        "description": "database busy or connection lost; retry after Retry-After",
    },
}


def bad_request(problems: list[errors.FieldError]) -> errors.Invalid:
    """A request Camunda would refuse with InvalidRequestException (400), naming every problem."""
    text = "; ".join(f"{p.field}: {p.message}" for p in problems)
    return errors.Invalid(
        f"the request is invalid: {text}",
        details=[{"field": p.field, "message": p.message} for p in problems],
    )


def camunda_error(exc: errors.ServiceError) -> tuple[int, CamundaError]:
    status, kind = 500, "ProcessEngineException"
    for cls in type(exc).__mro__:
        if cls in CAMUNDA_ERRORS:
            status, kind = CAMUNDA_ERRORS[cls]
            break
    if isinstance(exc, errors.InvalidBpmn):
        return status, CamundaError(
            type=kind,
            message=parse_message(exc.problems),
            details=parse_details(exc.problems, exc.warnings),
        )
    return status, CamundaError(type=kind, message=exc.message, details=exc.details)


def parse_message(problems: list[errors.BpmnProblem]) -> str:
    """The message Camunda Modeler recognises as a parse error, one problem per line, each with
    what to do about it (the Modeler's log shows only this message)."""
    lines = []
    for p in problems:
        where = [f"resource {p.file}"]
        if p.line:
            where.append(f"line {p.line}")
        if p.element:
            where.append(f"element {p.element}")
        todo = f" ({p.hint})" if p.hint else ""
        lines.append(f"* {p.message}{todo} | {' | '.join(where)}")
    return PARSE_PREFIX + "\n" + "\n".join(lines)


def parse_details(
    problems: list[errors.BpmnProblem],
    warnings: Sequence[errors.BpmnProblem] = (),
) -> dict[str, Any]:
    """Camunda's ParseException details: errors and warnings per resource, with line and
    element ids."""
    details: dict[str, Any] = {}
    for kind, found in (("errors", problems), ("warnings", warnings)):
        for p in found:
            entry = details.setdefault(p.file, {"errors": [], "warnings": []})
            entry[kind].append(
                {
                    "message": p.message,
                    "line": p.line or 0,
                    "column": 0,
                    "mainElementId": p.element,
                    "elementIds": [p.element] if p.element else [],
                }
            )
    return details


def _response(status: int, body: CamundaError) -> JSONResponse:
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="bpmn-service", Bearer'
    if status == 503 or body.type == "OptimisticLockingException":
        headers["Retry-After"] = "1"
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


async def service_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.ServiceError)
    return _response(*camunda_error(exc))


def _validation_message(err: Any) -> str:
    """What is wrong with one field; a field the service only takes empty (a Camunda feature it
    does not have, such as tenants) says so in words, not pydantic's "Input should be None"."""
    if err.get("type") == "none_required":
        return "is not supported here (leave it out or send null)"
    return str(err.get("msg", "invalid"))


async def validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        f"{'.'.join(str(p) for p in err.get('loc', ()) if p != 'body') or 'body'}: "
        f"{_validation_message(err)}"
        for err in exc.errors()
    ]
    body = CamundaError(
        type="InvalidRequestException", message="Invalid request: " + "; ".join(problems)
    )
    return _response(400, body)


async def http_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    kind = {404: "NotFoundException", 405: "NotAllowedException"}.get(
        exc.status_code, "InvalidRequestException" if exc.status_code < 500 else "RestException"
    )
    return _response(exc.status_code, CamundaError(type=kind, message=str(exc.detail)))


async def unexpected_error_handler(_request: Request, _exc: Exception) -> JSONResponse:
    # The mounted app's own ServerErrorMiddleware answers with this and re-raises, so the
    # service's GuardMiddleware still logs the error once; Camunda clients read JSON only.
    body = CamundaError(type="ProcessEngineException", message="internal server error; see the log")
    return _response(500, body)


def install(app: FastAPI) -> None:
    app.add_exception_handler(Exception, unexpected_error_handler)
    app.add_exception_handler(errors.ServiceError, service_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
