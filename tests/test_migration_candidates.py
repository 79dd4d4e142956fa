"""After a migration every open user task is offered as a new task of its target element would be:
element, name, lane, candidate groups and users, priority; a claim stays only with a user who is
still a candidate, and the history notes the change. The doctor finds a task whose candidates
disagree with its element's (cases migrated before this was so)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, insert

from bpmn_service.cli import main
from bpmn_service.db.models import TaskCandidate
from bpmn_service.engine import layout_bpmn
from bpmn_service.services.doctor import check_all
from conftest import ROOT, Api


def _model(groups: str, name: str = "Accept", element: str = "accept", priority: int = 50) -> bytes:
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_offer"
  targetNamespace="http://bpmn-service.example/test">
  <bpmn:process id="offer" name="Offer" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="{element}" name="{name}" camunda:candidateGroups="{groups}"
      camunda:priority="{priority}">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="{element}"/>
    <bpmn:sequenceFlow id="f2" sourceRef="{element}" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""
    return layout_bpmn(xml.encode(), "offer.bpmn")


def _deploy(api: Api, content: bytes) -> None:
    answer = api.deploy_bytes("offer.bpmn", content)
    assert answer.status_code == 201, answer.text


def _migrate(api: Api, mapping: dict[str, str] | None = None) -> dict[str, Any]:
    body = {
        "source": {"key": "offer", "version": 1},
        "target": {"key": "offer", "version": 2},
        "reason": "version 2 offers the step to the right group",
        "dry_run": False,
        **({"mapping": mapping} if mapping else {}),
    }
    answer = api.post("/migrations", "leader", json=body)
    assert answer.status_code == 200, answer.text
    [result] = answer.json()["results"]
    assert result["migrated"], result
    return dict(result)


def _task(api: Api, instance_id: str) -> dict[str, Any]:
    [task] = api.open_tasks(instance_id)
    return task


def test_a_typo_in_the_candidate_group_is_fixed_by_migrating(api: Api) -> None:
    _deploy(api, _model("custmer_manager"))
    case = api.start("offer", "OFR-1", {}).json()
    _deploy(api, _model("customer_manager", name="Accept the application", priority=70))
    _migrate(api)
    task = _task(api, case["id"])
    assert task["candidate_groups"] == ["customer_manager"]
    assert task["name"] == "Accept the application" and task["priority"] == 70
    assert [t["id"] for t in api.tasks("manager").json()["items"]] == [task["id"]]
    history = api.get(f"/process-instances/{case['id']}").json()["history"]
    [changed] = [e for e in history if e["type"] == "task_reassigned_by_migration"]
    assert {c["field"]: (c["old"], c["new"]) for c in changed["details"]["changes"]} == {
        "candidate_groups": (["custmer_manager"], ["customer_manager"]),
        "name": ("Accept", "Accept the application"),
        "priority": (50, 70),
    }
    assert list(check_all(api.ctx)) == []


def test_a_claim_of_someone_no_longer_a_candidate_is_withdrawn(api: Api) -> None:
    _deploy(api, _model("customer", element="intake_r", name="Customer intake"))
    case = api.start("offer", "OFR-2", {}).json()
    task_id = _task(api, case["id"])["id"]
    assert api.claim(task_id, "portal").status_code == 200
    _deploy(api, _model("customer_manager", element="intake", name="One-stop acceptance"))
    _migrate(api, {"intake_r": "intake"})
    task = _task(api, case["id"])
    assert (task["element_id"], task["name"]) == ("intake", "One-stop acceptance")
    assert task["candidate_groups"] == ["customer_manager"] and task["assignee"] is None
    # The customer portal can no longer complete the utility's step.
    done = api.complete(task_id, "portal", {})
    assert done.status_code in (403, 404, 409), done.text
    assert api.claim(task_id, "manager").status_code == 200


def test_a_claim_of_a_user_still_a_candidate_stays(api: Api) -> None:
    _deploy(api, _model("hall_clerk"))
    case = api.start("offer", "OFR-3", {}).json()
    task_id = _task(api, case["id"])["id"]
    assert api.claim(task_id, "clerk").status_code == 200
    _deploy(api, _model("hall_clerk,customer_manager"))
    _migrate(api)
    task = _task(api, case["id"])
    assert task["assignee"] == "clerk"
    assert sorted(task["candidate_groups"]) == ["customer_manager", "hall_clerk"]


def test_the_doctor_finds_a_task_whose_candidates_disagree_with_its_element(api: Api) -> None:
    _deploy(api, _model("hall_clerk"))
    case = api.start("offer", "OFR-4", {}).json()
    task_id = _task(api, case["id"])["id"]
    with api.ctx.sessions.begin() as session:  # as a migration before this fix left it
        session.execute(delete(TaskCandidate).where(TaskCandidate.task_id == task_id))
        session.execute(insert(TaskCandidate).values(task_id=task_id, kind="group", ref="custmer"))
    problems = [str(f) for f in check_all(api.ctx)]
    assert len(problems) == 1 and "OFR-4" in problems[0] and "candidate" in problems[0], problems


def test_the_dry_run_lists_each_reassignment_the_real_run_makes(
    api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _deploy(api, _model("customer", element="intake_r", name="Customer intake", priority=50))
    case = api.start("offer", "OFR-5", {}).json()
    task_id = _task(api, case["id"])["id"]
    assert api.claim(task_id, "portal").status_code == 200
    _deploy(api, _model("customer_manager", element="intake", name="One-stop acceptance"))
    body = {
        "source": {"key": "offer", "version": 1},
        "target": {"key": "offer", "version": 2},
        "reason": "version 2 offers the step to the customer managers",
        "mapping": {"intake_r": "intake"},
    }
    [dry] = api.post("/migrations", "leader", json={**body, "dry_run": True}).json()["results"]
    expected = [
        {"field": "element_id", "old": "intake_r", "new": "intake"},
        {"field": "name", "old": "Customer intake", "new": "One-stop acceptance"},
        {"field": "candidate_groups", "old": ["customer"], "new": ["customer_manager"]},
        {"field": "assignee", "old": "portal", "new": None},
    ]
    assert dry["reassigned"] == [
        {"task_id": task_id, "element_id": "intake_r", "changes": expected}
    ]
    settings = api.ctx.settings
    monkeypatch.setenv("BPMN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BPMN_DATABASE_SCHEMA", settings.database_schema or "")
    monkeypatch.chdir(ROOT)
    args = ["migrate-instances", "--from", "offer:1", "--to", "offer:2", "--map", "intake_r=intake",
            "--reason", "version 2 offers the step to the customer managers"]  # fmt: skip
    assert main(args) == 0
    assert (
        f"  reassigns task {task_id} at intake_r: element_id intake_r -> intake; name Customer "
        "intake -> One-stop acceptance; candidate_groups customer -> customer_manager; claim by "
        "portal withdrawn"
    ) in capsys.readouterr().out
    assert _task(api, case["id"])["assignee"] == "portal"  # the dry runs changed nothing
    real = _migrate(api, {"intake_r": "intake"})
    assert real["reassigned"] == dry["reassigned"]
    history = api.get(f"/process-instances/{case['id']}").json()["history"]
    [changed] = [e for e in history if e["type"] == "task_reassigned_by_migration"]
    assert changed["details"]["changes"] == expected
