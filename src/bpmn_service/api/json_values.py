"""Refuse JSON request bodies with values no database stores faithfully, before any handler runs.

Python's JSON reader accepts what strict JSON does not: lone surrogates (`"\\ud800"`, not Unicode
text: SQLite stores them and every later read of the row fails, PostgreSQL refuses the write) and
`NaN`, `Infinity` and numbers beyond a double (`1e400`; PostgreSQL's JSONB cannot hold them).
Nor does it stop at what the service can answer: values nested hundreds of levels deep are stored
but no answer showing them can be written, and integers beyond 64 bits are no Long to a Camunda
client (nor an integer to a form). Such a body is answered 422 naming each field, and the handler
never sees it, so nothing is written. Camunda's Json-typed variables are JSON text inside the body;
`json_text_problems` checks them the same way.
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .middleware import VALUES_REFUSED, error_response

_MAX_FINDINGS = 20
# Far deeper than any form or message holds, and well short of the 255 levels beyond which
# pydantic cannot write an answer (the variables are answered inside an object or two).
MAX_DEPTH = 64
_TOO_DEEP = f"is nested deeper than {MAX_DEPTH} levels"
_INT64 = 2**63
_NUL = "contains a NUL character, which no database stores in text"


class _NonFinite:
    def __init__(self, token: str) -> None:
        self.token = token


class _BigInteger:
    """An integer literal beyond 64 bits (kept as a marker: Python would read 5,000 digits)."""


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
        unreadable = not_utf8_json(scope, bytes(body))
        if unreadable:
            await error_response(scope, send, 400, "invalid_request", unreadable, None)
            return
        findings = bad_values(bytes(body))
        if findings:
            scope.setdefault("state", {})[VALUES_REFUSED] = True
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


def not_utf8_json(scope: Scope, body: bytes) -> str | None:
    """Why a JSON body is not JSON in UTF-8 when its bytes say so before it is read: compressed
    (Content-Encoding, or NUL bytes) or UTF-16/32 text (NUL bytes: JSON's own characters are
    ASCII). Python's JSON reader takes UTF-16 and UTF-32 too, so the handler would run on it."""
    encoding = dict(scope.get("headers") or []).get(b"content-encoding", b"identity")
    if encoding.strip().lower() not in (b"", b"identity"):
        name = encoding.decode("latin-1").strip()
        return (
            f"the request body cannot be read: it is not JSON in UTF-8 (Content-Encoding "
            f"{name!r} is not accepted: send the JSON uncompressed)"
        )
    if b"\x00" in body:
        return (
            "the request body cannot be read: it is not JSON in UTF-8 (it holds NUL bytes: "
            "UTF-16 or UTF-32 text, or compressed data)"
        )
    return None


def bad_values(body: bytes) -> list[tuple[str, str]]:
    """(field, problem) for every lone surrogate, non-finite number, integer beyond 64 bits and
    value nested too deeply in a JSON body; empty when the body is fine or is not JSON at all (the
    handler answers that)."""
    if not body:
        return []
    try:
        value = _read(body)
    except RecursionError:  # deeper than the interpreter's stack: far beyond MAX_DEPTH
        return [("body", _TOO_DEEP)]
    except ValueError:
        return []
    return _problems(value)


def json_text_problems(text: str) -> list[tuple[str, str]] | None:
    """The same check for JSON text inside a value (a Camunda Json variable), with fields relative
    to it ("" for the value itself); None when the text is not JSON."""
    try:
        value = _read(text)
    except RecursionError:
        return [("", _TOO_DEEP)]
    except ValueError:
        return None
    return _problems(value, root="")


def _read(text: str | bytes) -> Any:
    return json.loads(text, parse_constant=_NonFinite, parse_float=_number, parse_int=_integer)


def _problems(value: Any, root: str = "body") -> list[tuple[str, str]]:
    findings: list[tuple[str, str]] = []
    stack: list[tuple[str, Any, int]] = [("", value, 0)]
    while stack and len(findings) < _MAX_FINDINGS:
        path, item, depth = stack.pop()
        where = path or root
        if isinstance(item, str):
            if not _is_text(item):
                findings.append((where, "contains a lone surrogate, which is not text"))
            elif "\x00" in item:
                findings.append((where, _NUL))
        elif isinstance(item, _NonFinite):
            findings.append((where, f"{item.token} is not a number JSON allows"))
        elif isinstance(item, _BigInteger):
            findings.append((where, "the integer is out of the 64-bit range"))
        elif isinstance(item, float) and not math.isfinite(item):
            findings.append((where, "the number is too large for a double"))
        elif isinstance(item, dict | list) and depth >= MAX_DEPTH:
            findings.append((where, _TOO_DEEP))
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                field = f"{path}.{key}" if path else str(key)
                if not _is_text(key):
                    findings.append((where, "a key contains a lone surrogate"))
                    continue
                if "\x00" in key:
                    findings.append((where, f"a key {_NUL.removeprefix('contains ')}"))
                    continue
                stack.append((field, child, depth + 1))
        elif isinstance(item, list):
            stack.extend(
                (f"{path}[{i}]", child, depth + 1) for i, child in reversed(list(enumerate(item)))
            )
    return findings


def _number(text: str) -> float:
    return float(text)


def _integer(text: str) -> int | _BigInteger:
    # Longer than any 64-bit integer: not read at all (int() of 5,000 digits raises).
    if len(text.lstrip("-")) > 19:
        return _BigInteger()
    number = int(text)
    return number if -_INT64 <= number < _INT64 else _BigInteger()


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
