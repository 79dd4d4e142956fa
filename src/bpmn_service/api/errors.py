"""The one place where domain errors become HTTP responses."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from bpmn_service import errors
from bpmn_service.api.compat import errors as camunda_errors
from bpmn_service.api.middleware import multipart_unterminated

log = logging.getLogger("bpmn_service.api")
ENGINE_REST = "/engine-rest"

STATUS_BY_ERROR: dict[type[errors.ServiceError], int] = {
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.Invalid: 422,
    errors.Busy: 503,
}


class ErrorBody(BaseModel):
    code: str
    message: str
    details: object | None = None


def status_for(exc: errors.ServiceError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


async def service_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.ServiceError)
    status = status_for(exc)
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if status == 503 or isinstance(exc, errors.StaleVersion):
        headers["Retry-After"] = "1"
    body = ErrorBody(code=exc.code, message=exc.message, details=exc.details)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _message(err: Any) -> str:
    message = str(err.get("msg", "invalid"))
    if "Expected UploadFile" in message:  # a multipart text part where a file belongs
        part = next((str(p) for p in err.get("loc", ()) if p not in ("body",)), "files")
        return f"is text, not a file: upload the file itself (curl: -F {part}=@path/to/file.bpmn)"
    return message


def _field(err: Any) -> str:
    if err.get("type") == "json_invalid":
        return "body"  # its loc is ("body", offset): a place in the text, not a field
    return ".".join(str(p) for p in err.get("loc", ()) if p != "body")


def _located_message(err: Any) -> str:
    if err.get("type") == "json_invalid":
        offset = next((p for p in err.get("loc", ())[1:] if isinstance(p, int)), None)
        reason = (err.get("ctx") or {}).get("error") or "invalid JSON"
        at = f" at character {offset}" if offset is not None else ""
        return f"is not valid JSON{at}: {reason}"
    return _message(err)


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if multipart_unterminated(request.scope):
        # What the parser could not read is missing: the body is at fault, not a field.
        message = _unreadable("multipart/") + "; it ends before its closing boundary"
        body = ErrorBody(code="invalid_request", message=message, details=None)
        return JSONResponse(body.model_dump(), status_code=400)
    details = [{"field": _field(err), "message": _located_message(err)} for err in exc.errors()]
    text = "; ".join(f"{d['field'] or 'body'}: {d['message']}" for d in details)
    body = ErrorBody(
        code="invalid_request", message=f"the request is invalid: {text}", details=details
    )
    return JSONResponse(body.model_dump(), status_code=422)


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Framework-level refusals (an unreadable body, a wrong method) in the service's shape."""
    assert isinstance(exc, StarletteHTTPException)
    if request.url.path.startswith(f"{ENGINE_REST}/"):
        # A path under /engine-rest the mount cannot take (a newline in an id): Camunda's shape.
        return await camunda_errors.http_error_handler(request, exc)
    code = "invalid_request" if exc.status_code == 400 else "http_error"
    message = str(exc.detail)
    if exc.status_code == 400 and message == _UNREADABLE_BODY:
        message = _unreadable(request.headers.get("content-type", ""))
    body = ErrorBody(code=code, message=message, details=None)
    return JSONResponse(
        body.model_dump(), status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


# FastAPI's words for a body it could not decode (JSON that is not UTF-8, a broken multipart body);
# the answer says which of them it was.
_UNREADABLE_BODY = "There was an error parsing the body"


def _unreadable(content_type: str) -> str:
    if content_type.lower().startswith("multipart/"):
        return (
            "the request body cannot be read: it is not well-formed multipart/form-data (each "
            "part must start with the boundary of the Content-Type header)"
        )
    return "the request body cannot be read: it is not JSON in UTF-8"


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.ServiceError, service_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)


# List offsets beyond this are refused (422) rather than overflowing the database's integers.
MAX_OFFSET = 1_000_000_000

ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "the request body cannot be read (bad JSON or form)"},
    401: {"model": ErrorBody, "description": "missing or invalid bearer token"},
    403: {"model": ErrorBody, "description": "the caller lacks the required group"},
    404: {"model": ErrorBody, "description": "not found, or not visible to the caller"},
    409: {"model": ErrorBody, "description": "conflicting state (claimed, duplicate, stale)"},
    413: {"model": ErrorBody, "description": "the request body or an upload is too large"},
    422: {"model": ErrorBody, "description": "invalid input; details list every problem"},
    503: {
        "model": ErrorBody,
        "description": "database busy or connection lost; retry after Retry-After seconds",
    },
}
