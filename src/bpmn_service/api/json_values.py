"""Refuse JSON request bodies with values no database stores faithfully, before any handler runs.

Python's JSON reader accepts what strict JSON does not: lone surrogates (`"\\ud800"`, not Unicode
text: SQLite stores them and every later read of the row fails, PostgreSQL refuses the write) and
`NaN`, `Infinity` and numbers beyond a double (`1e400`; PostgreSQL's JSONB cannot hold them). Such
a body is answered 422 naming each field, and the handler never sees it, so nothing is written.
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .middleware import error_response

_MAX_FINDINGS = 20


class _NonFinite:
    def __init__(self, token: str) -> None:
        self.token = token


class JsonValuesMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        # Bodies are small (BodyLimitMiddleware, outside this one, stops a large one with 413).
        messages: list[Message] = []
        body = bytearray()
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        findings = bad_values(bytes(body))
        if findings:
            text = "; ".join(f"{field}: {problem}" for field, problem in findings)
            await error_response(
                scope,
                send,
                422,
                "invalid_request",
                f"the request body has values that are not stored faithfully: {text}",
                [{"field": field, "message": problem} for field, problem in findings],
            )
            return
        replay = iter(messages)

        async def replayed() -> Message:
            try:
                return next(replay)
            except StopIteration:
                return await receive()

        await self.app(scope, replayed, send)


def _is_json(scope: Scope) -> bool:
    if scope.get("method") not in ("POST", "PUT", "PATCH"):
        return False
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"").lower()
    media = content_type.split(b";")[0].strip()
    return bool(media == b"application/json" or media.endswith(b"+json"))


def bad_values(body: bytes) -> list[tuple[str, str]]:
    """(field, problem) for every lone surrogate and non-finite number in a JSON body; empty
    when the body is fine or is not JSON at all (the handler answers that)."""
    if not body:
        return []
    try:
        value = json.loads(body, parse_constant=_NonFinite, parse_float=_number)
    except (ValueError, RecursionError):
        return []
    findings: list[tuple[str, str]] = []
    stack: list[tuple[str, Any]] = [("", value)]
    while stack and len(findings) < _MAX_FINDINGS:
        path, item = stack.pop()
        if isinstance(item, str):
            if not _is_text(item):
                findings.append((path or "body", "contains a lone surrogate, which is not text"))
        elif isinstance(item, _NonFinite):
            findings.append((path or "body", f"{item.token} is not a number JSON allows"))
        elif isinstance(item, float) and not math.isfinite(item):
            findings.append((path or "body", "the number is too large for a double"))
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                field = f"{path}.{key}" if path else str(key)
                if not _is_text(key):
                    findings.append((path or "body", "a key contains a lone surrogate"))
                    continue
                stack.append((field, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in reversed(list(enumerate(item))))
    return findings


def _number(text: str) -> float:
    return float(text)


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
