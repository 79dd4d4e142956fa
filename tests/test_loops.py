"""A rework loop over the API: every pass is recorded in the history while the stored engine state
stays the same size (engine/compaction.py), and the doctor finds the task tables consistent."""

from __future__ import annotations

from sqlalchemy import select

from bpmn_service.db.models import ProcessInstance
from bpmn_service.services.doctor import check_all
from conftest import DATA, Api


def _stored_state(api: Api, instance_id: str) -> str:
    with api.ctx.sessions() as session:
        return str(
            session.scalars(
                select(ProcessInstance.state).where(ProcessInstance.id == instance_id)
            ).one()
        )


def test_a_rework_loop_keeps_its_history_and_a_bounded_state(api: Api) -> None:
    assert api.deploy(DATA / "rework_loop.bpmn").status_code == 201
    started = api.start("rework_loop", "LOOP-1", {}).json()
    instance_id = started["id"]
    task_id = started["tasks"][0]["id"]
    sizes = []
    seen = {task_id}
    for done in range(1, 41):
        assert api.claim(task_id, "clerk").status_code == 200
        answer = api.complete(task_id, "clerk", {"redo": True, "pass": done})
        assert answer.status_code == 200, answer.text
        (task,) = api.open_tasks(instance_id)
        task_id = task["id"]
        assert task_id not in seen
        seen.add(task_id)
        sizes.append(len(_stored_state(api, instance_id)))
    assert max(sizes[5:]) < 1.1 * sizes[4]
    detail = api.get(f"/process-instances/{instance_id}").json()
    assert detail["variables"]["pass"] == 40
    completed = [e for e in detail["history"] if e.get("element_id") == "work"]
    assert len([e for e in completed if e["type"] == "task_completed"]) == 40
    assert list(check_all(api.ctx)) == []

    api.claim(task_id, "clerk")
    answer = api.complete(task_id, "clerk", {"redo": False, "pass": 41})
    assert answer.status_code == 200
    assert api.get(f"/process-instances/{instance_id}").json()["status"] == "completed"
