"""Camunda 7's typed variables and date format, translated to and from the service's plain values.

A Camunda variable is ``{"value": ..., "type": "Long", "valueInfo": {}}``. Inside the service
variables are plain JSON values, so a typed value is checked against its type and unwrapped; on the
way out each value gets the type Camunda would give it. Lists and objects travel as ``Json``
(serialized text, as Camunda's Spin JSON values do) and ``Object`` values serialized as
application/json are read; binary types (Bytes, File) and Java serialization are refused.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from bpmn_service.api.compat.errors import bad_request
from bpmn_service.api.json_values import json_text_problems
from bpmn_service.errors import FieldError, InvalidVariables, NotFound
from bpmn_service.timeutil import as_utc

INT_RANGE = {"Short": 2**15, "Integer": 2**31, "Long": 2**63}
SUPPORTED = ("Boolean", "Short", "Integer", "Long", "Double", "Date", "String", "Null", "Json")
JSON_FORMAT = "application/json"


def camunda_date(moment: datetime | None) -> str | None:
    """Camunda's `yyyy-MM-dd'T'HH:mm:ss.SSSZ`, in UTC (e.g. 2025-03-01T08:00:00.000+0000)."""
    if moment is None:
        return None
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def optional_date(text: str | None, name: str) -> datetime | None:
    """parse_date of a date parameter that may be absent (or empty)."""
    return parse_date(text, name) if text else None


def parse_date(text: str, name: str) -> datetime:
    """A date parameter in Camunda's format or any ISO 8601 form, in UTC; without an offset, UTC.
    400 naming the parameter when it is no date or beyond the years 1 to 9999 in UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        problem = f"{text!r} is not a date like 2025-03-01T08:00:00.000+0800"
        if _DECODED_PLUS.search(text):  # "+0800" sent unescaped arrives as " 0800"
            problem += "; send the '+' of the offset as %2B (a '+' in a URL means a space)"
        raise bad_request([FieldError(name, problem)]) from None
    try:
        return as_utc(moment)
    except ValueError as exc:
        raise bad_request([FieldError(name, str(exc))]) from None


_DECODED_PLUS = re.compile(r"\d \d{2}:?\d{2}$")


def from_typed(
    variables: dict[str, Any] | None, *, zone: tzinfo, where: str = "variables"
) -> dict[str, Any]:
    """Plain values from Camunda typed variables; every bad one is named in one InvalidVariables.
    `zone` is the service's calendar zone, whose midnights are calendar dates (see _date)."""
    plain: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, typed in (variables or {}).items():
        try:
            plain[name] = _unwrap(typed, zone)
        except ValueError as exc:
            errors.append(FieldError(f"{where}.{name}", str(exc)))
    if errors:
        raise InvalidVariables(errors)
    return plain


def _unwrap(typed: Any, zone: tzinfo) -> Any:
    if not isinstance(typed, dict):
        raise ValueError('must be an object like {"value": 5, "type": "Long"}')
    kind = typed.get("type")
    value = typed.get("value")
    if kind is None:
        return _inferred(value)
    if not isinstance(kind, str):
        raise ValueError("type must be a string")
    kind = kind[:1].upper() + kind[1:]
    if kind in ("Bytes", "File"):
        raise ValueError(
            f"type {kind} is not supported: keep documents elsewhere, send a reference"
        )
    if kind == "Object":
        return _object(value, typed.get("valueInfo") or {})
    if kind not in SUPPORTED:
        raise ValueError(f"type {kind!r} is not supported (use {', '.join(SUPPORTED)})")
    if value is None or kind == "Null":
        return None
    if kind == "String":
        if not isinstance(value, str):
            raise ValueError("a String value must be a string")
        return value
    if kind == "Boolean":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise ValueError("a Boolean value must be true or false")
        return value
    if kind in INT_RANGE:
        return _integer(value, kind)
    if kind == "Double":
        return _double(value)
    if kind == "Date":
        return _date(value, zone)
    return _json(value)  # Json


def _inferred(value: Any) -> Any:
    """A value without a type is taken as it is (Camunda infers the type from the JSON value)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


# What a number written as text may look like: ASCII digits only. Python's int() and float()
# also read "1_000" and other scripts' digits ("١٢"), which no client means as a number.
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_DECIMAL_TEXT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)


def _integer(value: Any, kind: str) -> int:
    if isinstance(value, str):
        if not _INTEGER_TEXT.fullmatch(value.strip()):
            raise ValueError(f"a {kind} value must be an integer in ASCII digits, not {value!r}")
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"a {kind} value must be an integer")
    bound = INT_RANGE[kind]
    if not -bound <= value < bound:
        raise ValueError(f"{value} is out of the {kind} range")
    return value


def _double(value: Any) -> float:
    if isinstance(value, str):
        if not _DECIMAL_TEXT.fullmatch(value.strip()):
            raise ValueError(f"a Double value must be a number in ASCII digits, not {value!r}")
        value = float(value.strip())
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("a Double value must be a number")
    if not math.isfinite(value):
        raise ValueError("a Double value must be a finite number")
    return float(value)


def _date(value: Any, zone: tzinfo) -> str:
    """A calendar date (YYYY-MM-DD, what date form fields hold) when the moment is a midnight in
    its own offset, as Java clients send a date, or a midnight of the service's calendar zone
    written in another offset (a client in UTC sending back the date field it read as Beijing
    midnight); otherwise the ISO 8601 date-time."""
    if not isinstance(value, str):
        raise ValueError("a Date value must be a string like 2025-03-01T08:00:00.000+0800")
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a date like 2025-03-01T08:00:00.000+0800") from None
    utc = as_utc(moment)  # ValueError beyond the years 1 to 9999 in UTC, as for a stored date
    if len(text) == 10 or moment.time() == time(0):
        return moment.date().isoformat()
    try:
        local = utc.astimezone(zone)
    except OverflowError:  # after 9999-12-31 in the zone: not one of its midnights
        local = None
    if local is not None and local.time() == time(0):
        return local.date().isoformat()
    return (moment if moment.tzinfo is not None else utc).isoformat()


def _json(value: Any) -> Any:
    """A Json value given as text is read with the checks a request body gets (a JSON value in
    place of the text was checked with the body)."""
    if not isinstance(value, str):
        return value
    problems = json_text_problems(value)
    if problems is None:
        raise ValueError("a Json value must be JSON text")
    if problems:
        raise ValueError(
            "; ".join(
                f"a Json value at {where or 'its top'}: {problem}" for where, problem in problems
            )
        )
    return json.loads(value)


def _object(value: Any, info: Any) -> Any:
    data_format = info.get("serializationDataFormat") if isinstance(info, dict) else None
    if data_format not in (None, JSON_FORMAT):
        raise ValueError(
            f"Object values serialized as {data_format} are not supported; "
            f"use {JSON_FORMAT} (or type Json)"
        )
    return _json(value)


def to_typed(value: Any) -> dict[str, Any]:
    """The Camunda typed form of a plain value."""
    if value is None:
        return {"type": "Null", "value": None, "valueInfo": {}}
    if isinstance(value, bool):
        return {"type": "Boolean", "value": value, "valueInfo": {}}
    if isinstance(value, int):
        if not -INT_RANGE["Long"] <= value < INT_RANGE["Long"]:
            # a script's result beyond Java's long (10 ** 30): its exact digits as Json, which a
            # client reads as a big integer, instead of a Long no client can hold
            return {"type": "Json", "value": str(value), "valueInfo": {}}
        kind = "Integer" if -(2**31) <= value < 2**31 else "Long"
        return {"type": kind, "value": value, "valueInfo": {}}
    if isinstance(value, float):
        return {"type": "Double", "value": value, "valueInfo": {}}
    if isinstance(value, str):
        return {"type": "String", "value": value, "valueInfo": {}}
    text = json.dumps(value, ensure_ascii=False, default=str)
    return {"type": "Json", "value": text, "valueInfo": {}}


@dataclass(frozen=True, slots=True)
class DeclaredDates:
    """The variables a process version declares dates (date form fields) and the service's
    calendar zone, whose midnight a calendar date is."""

    names: frozenset[str]
    zone: tzinfo


def typed_value(name: str, value: Any, dates: DeclaredDates | None) -> dict[str, Any]:
    """The typed form of a variable: a Date when the process declares it a date and its text is
    one a Date round-trips to (declared_date), else to_typed's."""
    if dates is not None and name in dates.names and isinstance(value, str):
        text = declared_date(value, dates.zone)
        if text is not None:
            return {"type": "Date", "value": text, "valueInfo": {}}
    return to_typed(value)


def declared_date(value: str, zone: tzinfo) -> str | None:
    """Camunda's `yyyy-MM-dd'T'HH:mm:ss.SSSZ` text of a stored date (YYYY-MM-DD: its midnight in
    `zone`) or date-time (in its own offset); None when `value` is neither, or when a client that
    sends the text back as a Date would store other text (_date) than `value` (a date-time
    without an offset, with microseconds, with `Z`, or a midnight, which _date makes a date)."""
    try:
        if _CALENDAR_DATE.fullmatch(value):
            moment = datetime.combine(date.fromisoformat(value), time(0), zone)
        else:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                return None
        # Camunda's Z is ±HHmm: an offset with seconds (a zone's local mean time before 1901)
        # is cut to its minutes, as Java writes it; a date still reads back as its midnight.
        offset = moment.strftime("%z")[:5]
        text = moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + offset
        return text if _date(text, zone) == value else None
    except (ValueError, OverflowError):
        return None


_CALENDAR_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def typed_one(
    variables: dict[str, Any], name: str, owner: str, dates: DeclaredDates | None = None
) -> dict[str, Any]:
    """One variable in typed form; 404 as Camunda answers for a name the owner does not have."""
    if name not in variables:
        raise NotFound(f"{owner} variable with name {name} does not exist")
    return typed_value(name, variables[name], dates)


def typed_all(
    variables: dict[str, Any],
    names: list[str] | None = None,
    dates: DeclaredDates | None = None,
) -> dict[str, Any]:
    """Every variable (or the named ones that exist) in typed form; `dates`: those declared
    dates answer as Date (typed_value)."""
    chosen = variables if names is None else {n: variables[n] for n in names if n in variables}
    return {name: typed_value(name, value, dates) for name, value in chosen.items()}


# The Camunda type of each form field type (an enum's value is a String).
FORM_NULL_TYPES = {
    "string": "String",
    "enum": "String",
    "long": "Long",
    "double": "Double",
    "boolean": "Boolean",
    "date": "Date",
}


def typed_form_value(field_type: str, value: Any, zone: tzinfo) -> dict[str, Any]:
    """A form field's value typed as Camunda types the field (a date field's date is a Date at
    midnight of the service's calendar zone; the variables answers type it the same way)."""
    if value is None:  # an empty field: Camunda types it as the field is typed (Long null, ...)
        kind = FORM_NULL_TYPES.get(field_type, "Null")
        return {"type": kind, "value": None, "valueInfo": {}}
    if field_type == "date" and isinstance(value, str):
        text = declared_date(value, zone)
        return {"type": "Date", "value": text, "valueInfo": {}} if text else to_typed(value)
    if field_type == "long" and isinstance(value, int) and not isinstance(value, bool):
        return {"type": "Long", "value": value, "valueInfo": {}}
    if field_type == "double" and isinstance(value, int | float) and not isinstance(value, bool):
        return {"type": "Double", "value": float(value), "valueInfo": {}}
    return to_typed(value)
