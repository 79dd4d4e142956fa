"""`bpmn-service doctor` compares each instance's stored engine state with the task tables."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import delete, update

from bpmn_service.db.models import ProcessInstance, Task
from bpmn_service.services.doctor import check_all
from clock import Clock, local
from conftest import DATA, ROOT, Api
from limits_demo import demo_time_limits


def test_consistent_instances_have_no_findings_and_tampering_is_found(api: Api) -> None:
    assert api.deploy(DATA / "approval.bpmn", DATA / "sla_demo.bpmn").status_code == 201
    first = api.start("approval", "DOC-1", {"amount": 3}).json()
    done = api.start("approval", "DOC-2", {"amount": 4}).json()
    task = done["tasks"][0]["id"]
    api.claim(task, "admin")
    api.complete(task, "admin", {"decision": "APPROVE"})
    api.start("sla_demo", "DOC-3", {"category": "LV"})
    assert list(check_all(api.ctx)) == []

    with api.ctx.sessions.begin() as session:
        session.execute(delete(Task).where(Task.instance_id == first["id"]))
        session.execute(
            update(ProcessInstance)
            .where(ProcessInstance.business_key == "DOC-3")
            .values(next_timer_at=None)
        )
    problems = [str(f) for f in check_all(api.ctx)]
    assert len(problems) == 2, problems
    assert any("DOC-1" in p and "missing from the table" in p for p in problems)
    assert any("DOC-3" in p and "next timer" in p for p in problems)


def test_doctor_command_exit_status(api: Api) -> None:
    settings = api.ctx.settings
    assert api.deploy(DATA / "approval.bpmn").status_code == 201
    api.start("approval", "DOC-4", {"amount": 3})
    env = {
        **os.environ,
        "BPMN_DATABASE_URL": settings.database_url,
        "BPMN_DATABASE_SCHEMA": settings.database_schema or "",
    }
    command = [sys.executable, "-m", "bpmn_service.cli", "doctor"]
    ok = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "0 inconsistencies" in ok.stdout
    with api.ctx.sessions.begin() as session:
        session.execute(delete(Task))
    bad = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    assert "DOC-4" in bad.stderr


def test_a_running_time_limit_is_part_of_the_next_timer(api: Api) -> None:
    """The table's next timer is the earliest of the engine's timers and the case's running
    time-limit clocks (the reminder, the end): a case whose limit runs is consistent, and a next
    timer that is neither is still found."""
    api.ctx.clock = Clock(local("2025-09-30T10:00:00"))
    api.ctx.time_limits = demo_time_limits()
    assert api.deploy(DATA / "declared_limit.bpmn").status_code == 201
    started = api.start("declared_limit_demo", "DOC-5", {"customerCategory": "LV"}).json()
    [accept] = started["tasks"]
    api.claim(accept["id"], "clerk")
    assert api.complete(accept["id"], "clerk", {}).status_code == 200
    [clock] = api.get(f"/process-instances/{started['id']}/time-limits").json()
    assert clock["status"] == "running"
    with api.ctx.sessions.begin() as session:
        instance = session.get(ProcessInstance, started["id"])
        assert instance is not None and instance.next_timer_at is not None
        assert instance.next_timer_at.isoformat() == clock["warn_at"].replace("Z", "+00:00")
    assert list(check_all(api.ctx)) == []

    with api.ctx.sessions.begin() as session:
        session.execute(
            update(ProcessInstance)
            .where(ProcessInstance.business_key == "DOC-5")
            .values(next_timer_at=None)
        )
    [problem] = [str(f) for f in check_all(api.ctx)]
    assert "DOC-5" in problem and "with its time-limit clocks" in problem and "None" in problem


def test_a_timer_parked_by_its_open_incident_is_no_inconsistency(api: Api) -> None:
    """A timer whose run failed is parked until a repair (docs/reliability.md): the doctor accepts
    it while the instance has an open timer incident, and reports it once that is closed."""
    from datetime import timedelta

    from bpmn_service.db.models import RunIncident
    from bpmn_service.services.scheduler import run_due_timers

    timed = (ROOT / "tests" / "engine" / "bpmn" / "timed_share.bpmn").read_bytes()
    assert api.deploy_bytes("timed_share.bpmn", timed).status_code == 201
    case = api.start("timed_share", "DOC-PARK", {"total": 10, "parts": 0}).json()
    later = api.ctx.clock() + timedelta(hours=2)
    api.ctx.clock = lambda: later  # the timer is due; its run divides by zero
    run_due_timers(api.ctx)
    [incident] = api.get("/incidents", "leader").json()["items"]
    assert incident["kind"] == "timer" and incident["instance_id"] == case["id"]
    assert list(check_all(api.ctx)) == []

    with api.ctx.sessions.begin() as session:  # closed by hand, the timer still parked
        session.execute(update(RunIncident).values(resolved_at=later, resolved_by="someone"))
    problems = [str(f) for f in check_all(api.ctx)]
    assert len(problems) == 1 and "DOC-PARK" in problems[0] and "next timer" in problems[0]
