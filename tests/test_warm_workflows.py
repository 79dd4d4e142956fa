"""Warm workflows (engine/warm.py) between server processes and transactions: two contexts on
one database (two server processes) take turns on one case, and a completion whose transaction
rolls back after its engine run leaves nothing that a later call would reuse."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bpmn_service.config import Settings
from bpmn_service.context import AppContext
from bpmn_service.db.models import ProcessInstance
from bpmn_service.identity import Principal
from bpmn_service.services import deployments, instances, projection, tasks
from bpmn_service.services.doctor import check_all
from conftest import DATA

ANALYST = Principal("analyst", frozenset({"analyst"}))
CLERK = Principal("clerk", frozenset({"hall_clerk"}))


def _deploy(ctx: AppContext) -> str:
    path = DATA / "rework_loop.bpmn"
    files = [deployments.BpmnFile(path.name, path.read_bytes())]
    return deployments.deploy(ctx, files, ANALYST, source="api").definitions[0].key


def _work(ctx: AppContext, task_id: str, values: dict[str, Any]) -> Any:
    tasks.claim_task(ctx, task_id, CLERK)
    return tasks.complete_task(ctx, task_id, CLERK, values)


def _state(ctx: AppContext, instance_id: str) -> str:
    with ctx.sessions() as session:
        return str(
            session.scalar(select(ProcessInstance.state).where(ProcessInstance.id == instance_id))
        )


def test_two_server_processes_taking_turns_never_reuse_a_stale_workflow(
    app_ctx: AppContext, settings: Settings, database: tuple[str, str | None, Engine]
) -> None:
    other = AppContext.create(settings, engine=database[2])
    key = _deploy(app_ctx)
    started = instances.start_instance(app_ctx, key, "WARM-1", {}, CLERK)
    task_id = started.tasks[0].id
    # Each pass is worked by the server that did not write the state before; every server
    # keeps what it wrote, which the other server then changes.
    for done in range(1, 9):
        ctx = (other, app_ctx)[done % 2]
        answer = _work(ctx, task_id, {"redo": True, "pass": done})
        assert answer.variables["pass"] == done
        (task_id,) = [t.id for t in answer.next_tasks]
    # The same server twice in a row: the second call takes its warm workflow.
    hits = app_ctx.runner.warm.hits
    answer = _work(app_ctx, task_id, {"redo": True, "pass": 9})
    (task_id,) = [t.id for t in answer.next_tasks]
    answer = _work(app_ctx, task_id, {"redo": False, "pass": 10})
    assert app_ctx.runner.warm.hits == hits + 1
    assert answer.instance_status == "completed" and answer.variables["pass"] == 10
    assert other.runner.warm.hits == 0 and other.runner.warm.misses == 4
    assert list(check_all(app_ctx)) == []


def test_a_rolled_back_completion_leaves_the_stored_state_to_the_next_call(
    app_ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _deploy(app_ctx)
    started = instances.start_instance(app_ctx, key, "WARM-2", {}, CLERK)
    instance_id, task_id = started.instance.id, started.tasks[0].id
    answer = _work(app_ctx, task_id, {"redo": True, "pass": 1})
    (task_id,) = [t.id for t in answer.next_tasks]
    stored = _state(app_ctx, instance_id)
    tasks.claim_task(app_ctx, task_id, CLERK)

    def fail(*_args: Any, **_kw: Any) -> None:
        raise RuntimeError("the database went away after the engine ran")

    with monkeypatch.context() as patched:
        patched.setattr(projection, "close_task", fail)
        with pytest.raises(RuntimeError):
            tasks.complete_task(app_ctx, task_id, CLERK, {"redo": True, "pass": 2})
    assert _state(app_ctx, instance_id) == stored  # rolled back
    misses = app_ctx.runner.warm.misses
    answer = tasks.complete_task(app_ctx, task_id, CLERK, {"redo": False, "pass": 2})
    assert app_ctx.runner.warm.misses == misses + 1  # loaded: the warm one was the failed run's
    assert answer.instance_status == "completed" and answer.variables["pass"] == 2
    assert list(check_all(app_ctx)) == []
