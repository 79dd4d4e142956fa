"""`bpmn-service doctor` compares each instance's stored engine state with the task tables."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import delete, update

from bpmn_service.db.models import ProcessInstance, Task
from bpmn_service.services.doctor import check_all
from conftest import DATA, ROOT, Api


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
