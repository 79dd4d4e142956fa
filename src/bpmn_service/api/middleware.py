"""ASGI middleware: request ids with structured access logs, and request body size limits."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("bpmn_service.access")


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Answer 413 before reading more than the limit, whether or not Content-Length is sent."""

    def __init__(self, app: ASGIApp, *, default_limit: int, upload_limit: int) -> None:
        self.app = app
        self.default_limit = default_limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        uploads = scope["path"].endswith(("/deployments", "/simulations", "/deployment/create"))
        limit = self.upload_limit if uploads else self.default_limit
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(scope, send, limit)
            return
        received = 0
        overflow = False

        async def limited_receive() -> Message:
            nonlocal received, overflow
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    overflow = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            # Frameworks turn a failed body read into their own 400; answer 413 instead.
            if not overflow:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            pass
        if overflow:
            await _too_large(scope, send, limit)


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    message = f"the request body is larger than {limit} bytes"
    await _json(scope, send, 413, "payload_too_large", message)


class RequestIdMiddleware:
    """Tag each request with an id (X-Request-Id in and out) and log one JSON line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")[:64]
        request_id = incoming if incoming.isprintable() and incoming else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def tagged_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, tagged_send)
        finally:
            state: dict[str, Any] = scope.get("state", {})
            log.info(
                json.dumps(
                    {
                        "event": "request",
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "user": state.get("user_id"),
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                    ensure_ascii=False,
                )
            )


# Set in the request's scope state by JsonValuesMiddleware when it refuses the body.
VALUES_REFUSED = "bpmn_service.values_refused"
# Set in the request's scope state when a multipart body's closing delimiter went by.
MULTIPART_CLOSED = "bpmn_service.multipart_closed"


def _closing_delimiter(content_type: bytes) -> bytes | None:
    """`--boundary--` of a multipart Content-Type, None for other bodies."""
    if not content_type.lower().startswith(b"multipart/"):
        return None
    for param in content_type.split(b";")[1:]:
        name, _, value = param.strip().partition(b"=")
        if name.strip().lower() == b"boundary" and value.strip():
            return b"--" + value.strip().strip(b'"') + b"--"
    return None


def multipart_unterminated(scope: Scope) -> bool:
    """Whether the request had a multipart body that never reached its closing delimiter
    (cut off, or not multipart at all)."""
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
    if _closing_delimiter(content_type) is None:
        return False
    return not scope.get("state", {}).get(MULTIPART_CLOSED, False)


class GuardMiddleware:
    """Answer 422 for NUL characters (PostgreSQL cannot store them in text), and 500 for any
    unexpected error without re-raising it, so the connection stays usable."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if (
            "\x00" in scope["path"]
            or b"%00" in scope.get("query_string", b"")
            or b"\x00" in (scope.get("query_string", b""))
        ):
            await _json(
                scope, send, 422, "invalid_request", "NUL characters are not allowed in the URL"
            )
            return
        bad_body = False
        started = False
        # Uploads are binary (a UTF-16 file has NUL bytes); the BPMN checks refuse those with
        # their own, more precise message. JSON bodies are scanned.
        content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
        scan = not content_type.startswith(b"multipart/")
        closing = _closing_delimiter(content_type)
        tail = b""

        async def checked_receive() -> Message:
            nonlocal bad_body, tail
            message = await receive()
            chunk = message.get("body", b"") if message["type"] == "http.request" else b""
            if scan and (b"\x00" in chunk or b"\\u0000" in chunk):
                bad_body = True
            if closing is not None and message["type"] == "http.request":
                # A multipart body must end with its closing delimiter; the parser drops a part
                # cut off before it, and the handler would only see that `files` is missing.
                seen = tail + chunk
                if closing in seen:
                    scope.setdefault("state", {})[MULTIPART_CLOSED] = True
                tail = seen[-len(closing) :]
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            # JsonValuesMiddleware's refusal names the field that holds the NUL: it goes out
            # instead of the generic answer below. Nothing else a handler answered does.
            if bad_body and not scope.get("state", {}).get(VALUES_REFUSED):
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, checked_receive, guarded_send)
        except Exception:
            if not bad_body:
                log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
                if not started:
                    await _json(
                        scope, send, 500, "internal_error", "internal server error; see the log"
                    )
                return
        if bad_body and not started:
            await _json(
                scope, send, 422, "invalid_request", "NUL characters are not allowed in values"
            )


# Camunda's error shape and status under /engine-rest (api/compat/errors.py).
CAMUNDA_TYPES = {
    400: "InvalidRequestException",
    413: "InvalidRequestException",
    422: "InvalidRequestException",
    500: "ProcessEngineException",
}


async def _json(scope: Scope, send: Send, status: int, code: str, message: str) -> None:
    await error_response(scope, send, status, code, message, None)


async def error_response(
    scope: Scope, send: Send, status: int, code: str, message: str, details: Any
) -> None:
    """An error answer in the service's shape (Camunda's under /engine-rest)."""
    payload: dict[str, Any] = {"code": code, "message": message, "details": details}
    if scope["path"].startswith("/engine-rest/"):
        payload = {"type": CAMUNDA_TYPES[status], "message": message}
        status = 400 if status == 422 else status
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
