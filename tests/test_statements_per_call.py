"""Claim and complete over HTTP: one transaction each (a claim on PostgreSQL: one statement that
commits by itself), the statements they run, and answers that match what is stored (the
candidates are answered without being read back)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select

from bpmn_service.db.models import Task
from conftest import DATA, Api


class Counted:
    def __init__(self) -> None:
        self.statements: list[str] = []
        self.commits = 0

    def reset(self) -> None:
        self.statements.clear()
        self.commits = 0


@pytest.fixture
def counted(api: Api) -> Iterator[Counted]:
    seen = Counted()
    engine = api.ctx.engine

    def statement(_conn: Any, _cursor: Any, text: str, *_args: Any) -> None:
        seen.statements.append(text.split(None, 1)[0].upper())

    def commit(_conn: Any) -> None:
        seen.commits += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    yield seen
    event.remove(engine, "before_cursor_execute", statement)
    event.remove(engine, "commit", commit)


def test_claim_is_one_transaction_and_answers_the_stored_task(api: Api, counted: Counted) -> None:
    assert api.deploy(DATA / "parallel_candidates.bpmn").status_code == 201
    started = api.start("parallel_candidates", "PC-1", {}).json()
    task = started["tasks"][0]
    assert task["candidate_groups"] == ["hall_clerk", "yk_specialist"]

    version = _row_version(api, task["id"])
    counted.reset()
    claimed = api.claim(task["id"], "clerk")
    assert claimed.status_code == 200, claimed.text
    if api.ctx.engine.dialect.name == "postgresql":
        # One statement: the task as the caller sees it with its candidates, the conditional
        # UPDATE and the history row, in writing CTEs, committing by itself (autocommit; the
        # statements' modes are in test_autocommit.py).
        assert counted.statements == ["WITH"]
        assert counted.commits == 0
    else:
        # The task joined to its candidates, the conditional UPDATE, the history row; one
        # commit, and nothing read again after it.
        assert counted.statements == ["SELECT", "UPDATE", "INSERT"]
        assert counted.commits == 1
    assert _row_version(api, task["id"]) == version + 1
    body = claimed.json()
    assert body["assignee"] == "clerk" and body["claimed_at"] is not None
    assert body["candidate_groups"] == ["hall_clerk", "yk_specialist"]
    stored = api.get(f"/tasks/{task['id']}", "clerk").json()
    for key in ("assignee", "claimed_at", "candidate_groups", "candidate_users", "form"):
        assert body[key] == stored[key], key

    # Claiming one's own task again changes nothing and writes nothing.
    counted.reset()
    assert api.claim(task["id"], "clerk").json()["claimed_at"] == body["claimed_at"]
    assert (
        counted.commits == 0
        and "UPDATE" not in counted.statements
        and "INSERT" not in (counted.statements)
    )
    # Someone else gets 409 naming the holder.
    refused = api.claim(task["id"], "clerk2")
    assert refused.status_code == 409
    assert "clerk" in refused.text

    history = api.get(f"/process-instances/{started['id']}", "admin").json()["history"]
    claims = [h for h in history if h["type"] == "task_claimed"]
    assert len(claims) == 1
    assert claims[0]["actor"] == "clerk" and claims[0]["task_id"] == task["id"]
    assert claims[0]["element_id"] == task["element_id"] and claims[0]["details"] == {}
    assert claims[0]["occurred_at"] == body["claimed_at"]


def _row_version(api: Api, task_id: str) -> int:
    with api.ctx.engine.connect() as conn:
        return int(conn.execute(select(Task.row_version).where(Task.id == task_id)).scalar_one())


def test_start_writes_each_table_once(api: Api, counted: Counted) -> None:
    assert api.deploy(DATA / "parallel_candidates.bpmn").status_code == 201
    # The first start of a version reads its spec and BPMN text once for the process's caches.
    assert api.start("parallel_candidates", "PC-4", {}).status_code == 201
    counted.reset()
    started = api.start("parallel_candidates", "PC-3", {})
    assert started.status_code == 201, started.text
    # The latest version, the business key's uniqueness; the instance row (as the run left it:
    # no UPDATE follows), its first task and candidates (one statement on PostgreSQL); the
    # history rows in one statement. Nothing of a new instance is read back.
    new_tasks = ["WITH"] if api.ctx.engine.dialect.name == "postgresql" else ["INSERT", "INSERT"]
    assert counted.statements == ["SELECT", "SELECT", "INSERT", *new_tasks, "INSERT"]
    assert counted.commits == 1
    history = api.get(f"/process-instances/{started.json()['id']}", "admin").json()["history"]
    assert [h["type"] for h in history] == ["instance_started", "engine_step", "task_created"]


def test_complete_answers_the_candidates_that_were_stored(api: Api, counted: Counted) -> None:
    assert api.deploy(DATA / "parallel_candidates.bpmn").status_code == 201
    started = api.start("parallel_candidates", "PC-2", {}).json()
    task = started["tasks"][0]
    api.claim(task["id"], "clerk")

    counted.reset()
    done = api.complete(task["id"], "clerk", {"ok": True})
    assert done.status_code == 200, done.text
    assert counted.commits == 1
    # The task with its instance, locked; the task closed: its candidates (deleted, their groups
    # kept for its history), its history row, its inbox row, then what the instance has open
    # (one statement on PostgreSQL); the two new tasks and their candidates (one statement
    # each, one for both on PostgreSQL); the history rows and the instance's new state (one
    # statement on PostgreSQL).
    if api.ctx.engine.dialect.name == "postgresql":
        close, new_tasks, written = ["WITH"], ["WITH"], ["WITH"]
    else:
        close = ["DELETE", "INSERT", "DELETE", "SELECT"]
        new_tasks, written = ["INSERT", "INSERT"], ["INSERT", "UPDATE"]
    assert counted.statements == ["SELECT", *close, *new_tasks, *written]
    next_tasks = {t["element_id"]: t for t in done.json()["next_tasks"]}
    assert set(next_tasks) == {"survey", "plan"}
    assert next_tasks["survey"]["candidate_groups"] == ["hall_clerk", "yk_specialist"]
    assert next_tasks["survey"]["candidate_users"] == ["clerk2", "planner"]
    assert next_tasks["plan"]["candidate_groups"] == []
    assert next_tasks["plan"]["candidate_users"] == ["planner"]
    for answered in next_tasks.values():
        stored = api.get(f"/tasks/{answered['id']}", "admin").json()
        assert answered["candidate_groups"] == stored["candidate_groups"]
        assert answered["candidate_users"] == stored["candidate_users"]

    # The completed task is history with its candidate groups; the parallel tasks finish it.
    for element, user in (("survey", "clerk2"), ("plan", "planner")):
        api.claim(next_tasks[element]["id"], user)
        counted.reset()
        result = api.complete(next_tasks[element]["id"], user, {}).json()
    assert result["instance_status"] == "completed"
    # The completion that ends the case closes its incidents in one statement more, which
    # leaves the history rows and the instance's new state in their one statement.
    if api.ctx.engine.dialect.name == "postgresql":
        assert counted.statements == ["SELECT", "WITH", "UPDATE", "WITH"]
    else:
        assert counted.statements[-3:] == ["UPDATE", "INSERT", "UPDATE"]
    instance = api.get(f"/process-instances/{started['id']}", "admin").json()
    assert instance["tasks"] == []
    types = [h["type"] for h in instance["history"]]
    assert types.count("task_completed") == 3 and types[-1] == "instance_completed"
    # History in the order it happened: each completion before the tasks it created.
    assert types[:8] == [
        "instance_started",
        "engine_step",
        "task_created",
        "task_claimed",
        "task_completed",
        "engine_step",
        "task_created",
        "task_created",
    ]
