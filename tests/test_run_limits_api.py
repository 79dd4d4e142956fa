"""Over HTTP on both databases: a start whose run would leave variables too large to store, a
multi-instance over the task limit or a script value that is no JSON value is answered 422
naming the element, and nothing of it is stored (each was a 500, a 200 MB row or a killed
server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bpmn_service.db.models import ProcessInstance
from bpmn_service.engine import RunBudget
from bpmn_service.services import run_incidents
from bpmn_service.services.scheduler import run_due_timers
from conftest import DATA, ROOT, Api

ENGINE_BPMN = ROOT / "tests" / "engine" / "bpmn"


def _instances(api: Api, key: str) -> int:
    with api.ctx.sessions() as session:
        return (
            session.scalar(select(func.count()).where(ProcessInstance.definition_key == key)) or 0
        )


def test_runs_over_the_case_limits_are_answered_422_and_nothing_is_stored(api: Api) -> None:
    copies, cardinality = ENGINE_BPMN / "copies_by_name.bpmn", ENGINE_BPMN / "mi_cardinality.bpmn"
    script = (
        (ENGINE_BPMN / "endless_loop.bpmn")
        .read_text()
        .replace("n = n + 1", "v = {1: 'a', '1': 'b'}")
    )
    assert api.deploy(copies, cardinality).status_code == 201
    assert api.deploy_bytes("endless_loop.bpmn", script.encode()).status_code == 201

    answer = api.start("copies_by_name", "C-1", {"size": 99_999})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "variables_too_large" and body["details"]["element"] == "copy"
    assert body["details"]["variables"][0] == {"name": "v1", "bytes": 1_900_039}
    assert len(answer.content) < 5_000  # the answer names the variables, it does not hold them
    assert _instances(api, "copies_by_name") == 0
    assert api.start("copies_by_name", "C-2", {"size": 999}).status_code == 201

    answer = api.start("mi_cardinality", "M-1", {"n": 10_000_000})
    assert answer.status_code == 422, answer.text
    assert answer.json()["details"] == {"element": "sign"}
    assert "10000000 instances" in answer.json()["message"]
    assert _instances(api, "mi_cardinality") == 0

    answer = api.start("endless_loop", "S-1", {"n": 0, "limit": 0})
    assert answer.status_code == 422, answer.text
    assert answer.json()["details"] == {"element": "count"}
    assert "v has a key that is not text (1)" in answer.json()["message"]
    assert _instances(api, "endless_loop") == 0


def test_a_timer_whose_run_leaves_the_case_too_large_becomes_a_budget_incident(api: Api) -> None:
    assert api.deploy(DATA / "timer_once.bpmn").status_code == 201
    api.ctx.clock = lambda: datetime.now(UTC) - timedelta(days=1)
    instance = api.start("timer_once", "T-1", {}).json()["id"]
    api.ctx.clock = lambda: datetime.now(UTC)
    # A limit the case's stored state is over four times (its variables are tiny).
    api.ctx.runner.budget = RunBudget(max_variables_bytes=200)

    assert run_due_timers(api.ctx) == 1

    with api.ctx.sessions() as session:
        [incident] = run_incidents.open_for(session, instance_id=instance)
        stored = session.get(ProcessInstance, instance)
        assert stored is not None and stored.next_timer_at is None  # parked, not fired
    assert incident.kind == "budget" and "more than the 200 a case may store" in incident.message
    assert run_due_timers(api.ctx) == 0
