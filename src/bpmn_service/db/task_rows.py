"""PostgreSQL: a step's new task rows and their candidate rows in one statement.

A completion that creates tasks wrote them with two executemany INSERTs (the tasks, then their
candidates), each a round trip and a pass through SQLAlchemy's execution. Here both go as one
statement with two JSON parameters: the task rows are inserted in a data-modifying CTE and the
candidate rows join it, so that a candidate is only inserted with its task (and the foreign key
is satisfied in the statement). The column list and types come from the table definitions, so
a new column is not forgotten.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import TextClause, text

from .json_records import json_value, record_type
from .models import Task, TaskCandidate

_task = Task.metadata.tables[Task.__tablename__]
_candidate = TaskCandidate.metadata.tables[TaskCandidate.__tablename__]
TASK_COLUMNS = tuple(_task.c.keys())


def _statement() -> TextClause:
    columns = ", ".join(TASK_COLUMNS)
    return text(
        f"""
        WITH new_task AS (
            INSERT INTO {_task.name} ({columns})
            SELECT {columns}
            FROM jsonb_to_recordset(CAST(:tasks AS jsonb)) AS t({record_type(_task)})
            RETURNING id
        )
        INSERT INTO {_candidate.name} (task_id, kind, ref)
        SELECT c.task_id, c.kind, c.ref
        FROM jsonb_to_recordset(CAST(:candidates AS jsonb)) AS c({record_type(_candidate)})
        JOIN new_task ON new_task.id = c.task_id
        """
    )


INSERT_TASKS_AND_CANDIDATES = _statement()


def parameters(tasks: list[dict[str, Any]], candidates: list[dict[str, str]]) -> dict[str, str]:
    """The statement's parameters: the task rows (every column of TASK_COLUMNS) and the
    candidate rows as JSON arrays of objects."""
    # json.dumps as SQLAlchemy binds a JSON column: the same text, the same refusals.
    rows = [{column: json_value(row[column]) for column in TASK_COLUMNS} for row in tasks]
    return {"tasks": json.dumps(rows), "candidates": json.dumps(candidates)}
