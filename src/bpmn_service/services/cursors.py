"""Keyset cursors for the inbox: where a page ended, as an opaque string the client sends back.

A cursor names the sort it was made for, the last row's values of the sort keys and its id;
the next page is the rows after that one in the same order (db/queries.Cursor), so a deep page
does not count off the rows before it, and rows added or removed meanwhile neither
repeat nor skip other rows. The string is URL-safe base64 of JSON; it is not signed (it only
narrows what the caller may see anyway) but every part is checked, each value against what its
sort column holds: date-times within UTC's years 1 to 9999, integers of the SQL INTEGER that
task.priority is (32 bits on PostgreSQL), text a database stores (no lone surrogate, no NUL).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from bpmn_service.db import queries
from bpmn_service.db.models import Task
from bpmn_service.errors import FieldError, InvalidRequest
from bpmn_service.timeutil import as_utc

_DATETIME_KEYS = frozenset({"created", "due", "follow_up"})
_INT_KEYS = frozenset({"priority"})
_INT32 = 2**31  # task.priority is an INTEGER: PostgreSQL refuses a wider value next to it


def encode(sort: str, task: Task) -> str:
    values = [
        v.isoformat() if isinstance(v, datetime) else v for v in queries.sort_values(task, sort)
    ]
    text = json.dumps({"sort": sort, "values": values, "id": task.id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(cursor: str, sort: str) -> queries.Cursor:
    """Where the page of `cursor` ended; InvalidRequest naming `after` when it is not a cursor
    of this listing with this sort."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        made_for, values, last_id = data["sort"], data["values"], data["id"]
        if not isinstance(values, list):
            raise ValueError
        _text(last_id)
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise _bad("is not a cursor returned by this listing (next_after)") from None
    if made_for != sort:
        raise _bad(f"was made for sort {made_for!r}; ask again with that sort or without after")
    keys = [part.strip().lstrip("-+") for part in sort.split(",") if part.strip()]
    if len(values) != len(keys):
        raise _bad("does not fit the sort")
    try:
        typed = [_typed(key, value) for key, value in zip(keys, values, strict=True)]
    except (TypeError, ValueError):
        raise _bad("holds a value of the wrong type or out of its range") from None
    return queries.Cursor(tuple(typed), last_id)


def _typed(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key in _DATETIME_KEYS:
        return as_utc(datetime.fromisoformat(value))
    if key in _INT_KEYS:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError
        if not -_INT32 <= value < _INT32:
            raise ValueError
        return value
    return _text(value)


def _text(value: Any) -> str:
    """A string a text column holds on both databases: no lone surrogate, no NUL."""
    if not isinstance(value, str):
        raise TypeError
    if "\x00" in value:
        raise ValueError
    value.encode()  # UnicodeEncodeError (a ValueError) for a lone surrogate
    return value


def _bad(message: str) -> InvalidRequest:
    return InvalidRequest([FieldError("after", f"the cursor {message}")])
