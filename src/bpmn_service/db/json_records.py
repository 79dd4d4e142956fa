"""JSON records for PostgreSQL statements that take many rows in one parameter
(jsonb_to_recordset): the record's column definitions from a table, and a value as a record
holds it. Used by task_rows.py and history_with_state.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.dialects import postgresql


def record_type(table: Any, names: tuple[str, ...] | None = None) -> str:
    """The column definitions of a record of `table`'s columns (all, or `names`) for
    jsonb_to_recordset. Strings as text: the table's own columns check the lengths (an over-long
    value is refused, as by a plain INSERT, where a cast to varchar(n) would cut it)."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    columns = table.columns if names is None else [table.c[name] for name in names]
    return ", ".join(
        f"{c.name} {'text' if isinstance(c.type, String) else c.type.compile(dialect=dialect)}"
        for c in columns
    )


def json_value(value: Any) -> Any:
    """A column value as a JSON record holds it (a time as ISO 8601 text with its offset)."""
    if isinstance(value, datetime):  # as UtcDateTime binds it: an offset-less time is UTC
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    return value
