"""PostgreSQL: a transaction's history rows and its instance's new state in one statement.

A call that runs the engine ends with two writes: the history rows it noted (one INSERT) and the
instance's new state, which the ORM flushes at commit (an UPDATE checking the row version). Here
both go as one statement: the UPDATE in a data-modifying CTE, with the same row-version check,
and the history rows inserted from a JSON array in the order they were noted. The instance's
attributes are then marked as written, so the commit's flush has nothing left to write for it.
A row version that changed meanwhile raises StaleDataError, as the ORM's flush does.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import TextClause, bindparam, inspect, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from .json_records import json_value, record_type
from .models import HistoryEvent, ProcessInstance

_instance = ProcessInstance.metadata.tables[ProcessInstance.__tablename__]
_history = HistoryEvent.metadata.tables[HistoryEvent.__tablename__]
_HISTORY_COLUMNS = tuple(c.name for c in _history.columns if c.name != "id")
_VERSION = "row_version"
# Built once per set of changed columns (a handful: state, variables, status, ...).
_statements: dict[tuple[str, ...], TextClause] = {}


def _statement(columns: tuple[str, ...]) -> TextClause:
    found = _statements.get(columns)
    if found is not None:
        return found
    assignments = ", ".join(f"{name} = :{name}" for name in columns)
    history = ", ".join(_HISTORY_COLUMNS)
    statement = text(
        f"""
        WITH updated AS (
            UPDATE {_instance.name} SET {assignments}, {_VERSION} = :new_version
            WHERE id = :instance_id AND {_VERSION} = :old_version
            RETURNING id
        ), noted AS (
            INSERT INTO {_history.name} ({history})
            SELECT {history}
            FROM ROWS FROM (
                jsonb_to_recordset(CAST(:history AS jsonb))
                AS ({record_type(_history, _HISTORY_COLUMNS)})
            ) WITH ORDINALITY AS h({history}, noted)
            ORDER BY noted
        )
        SELECT count(*) FROM updated
        """
    ).bindparams(*(bindparam(name, type_=_instance.c[name].type) for name in columns))
    _statements[columns] = statement
    return statement


def write(session: Session, rows: list[dict[str, Any]]) -> bool:
    """Write the history `rows` with the new state of the one instance this transaction
    changes, in one statement; False (nothing written) unless exactly one loaded instance has
    changed columns."""
    dirty = [obj for obj in session.dirty if type(obj) is ProcessInstance]
    if len(dirty) != 1:
        return False
    instance = dirty[0]
    state = inspect(instance)
    changed: dict[str, Any] = {}
    for attribute in state.mapper.column_attrs:
        history = state.attrs[attribute.key].history
        if history.added and not history.unchanged and attribute.key != _VERSION:
            changed[attribute.key] = history.added[0]
    if not changed:
        return False
    columns = tuple(sorted(changed))
    old_version = instance.row_version
    params = {
        **changed,
        "instance_id": instance.id,
        "old_version": old_version,
        "new_version": old_version + 1,
        "history": json.dumps(
            [{name: json_value(row.get(name)) for name in _HISTORY_COLUMNS} for row in rows]
        ),
    }
    updated = session.connection().execute(_statement(columns), params).scalar_one()
    if updated != 1:
        raise StaleDataError(
            f"UPDATE statement on table '{_instance.name}' expected to update 1 row(s); "
            f"{updated} were matched."
        )
    for key, value in changed.items():
        set_committed_value(instance, key, value)
    set_committed_value(instance, _VERSION, old_version + 1)
    return True
