"""Repairing and migrating running cases over HTTP: the stranded-case story (a faulty version,
a case failing at its gateway, the fix deployed, a dry run, the migration, the case completing
with its full history), variable corrections, moves, and who may do them."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from bpmn_service.cli import _cli_actor, main
from bpmn_service.services.doctor import check_all
from conftest import DATA, ROOT, Api

TINY = ROOT / "tests" / "engine" / "bpmn"
FAULTY = (TINY / "intake_faulty.bpmn").read_bytes()
FIXED = (TINY / "intake_fixed.bpmn").read_bytes()


def _stranded(api: Api, business_key: str = "IN-1") -> tuple[str, str]:
    """A case on the faulty version 2 whose completion fails at the gateway: (instance, task)."""
    v1 = FIXED.replace(b'name="Intake"', b'name="Intake (first)"')
    assert api.deploy_bytes("intake.bpmn", v1).status_code == 201
    deployed = api.deploy_bytes("intake.bpmn", FAULTY)
    assert deployed.status_code == 201, deployed.text
    case = api.start("intake", business_key, {}).json()
    assert case["version"] == 2
    [task] = case["tasks"]
    assert api.claim(task["id"], "clerk").status_code == 200
    failed = api.complete(task["id"], "clerk", {"verdict": "yes"})
    assert failed.status_code == 422, failed.text
    assert failed.json()["code"] == "workflow_failed" and "decide" in failed.json()["message"]
    return case["id"], task["id"]


def _migration(dry_run: bool, **extra: Any) -> dict[str, Any]:
    return {
        "source": {"key": "intake", "version": 2},
        "target": {"key": "intake", "version": 3},
        "dry_run": dry_run,
        "reason": "v2's gateway reads a variable the form no longer writes",
        **extra,
    }


def test_a_stranded_case_is_migrated_to_the_fix_and_completes_with_its_history(api: Api) -> None:
    instance_id, task_id = _stranded(api)
    assert api.deploy_bytes("intake.bpmn", FIXED).json()["definitions"][0]["version"] == 3

    dry = api.post("/migrations", "leader", json=_migration(True))
    assert dry.status_code == 200, dry.text
    [plan] = dry.json()["results"]
    assert plan == {
        "instance_id": instance_id,
        "business_key": "IN-1",
        "ok": True,
        "migrated": False,
        "mapped": [{"element_id": "enter", "target_element_id": "enter", "kind": "user_task"}],
        "problems": [],
        "started": [],
        "dropped": [],
        "reassigned": [],
        "warnings": [],
    }
    assert api.get(f"/process-instances/{instance_id}").json()["version"] == 2  # nothing changed

    run = api.post("/migrations", "leader", json=_migration(False))
    assert run.status_code == 200, run.text
    assert run.json()["results"][0]["migrated"] is True
    case = api.get(f"/process-instances/{instance_id}").json()
    assert case["version"] == 3
    [task] = case["tasks"]
    assert task["id"] == task_id and task["assignee"] == "clerk"  # the same task, still claimed
    done = api.complete(task_id, "clerk", {"verdict": "yes"})
    assert done.status_code == 200, done.text
    [approve] = (
        done.json()["next_tasks"] if "next_tasks" in done.json() else api.open_tasks(instance_id)
    )
    assert approve["element_id"] == "approve"
    api.claim(approve["id"], "clerk")
    assert api.complete(approve["id"], "clerk", {}).json()["instance_status"] == "completed"
    history = api.get(f"/process-instances/{instance_id}").json()["history"]
    types = [e["type"] for e in history]
    assert types.index("instance_started") < types.index("instance_migrated")
    assert types.index("instance_migrated") < types.index("task_completed")
    assert types[-1] == "instance_completed"
    [migrated] = [e for e in history if e["type"] == "instance_migrated"]
    assert migrated["actor"] == "leader"
    assert migrated["details"]["from_version"] == 2 and migrated["details"]["to_version"] == 3
    assert migrated["details"]["reason"].startswith("v2's gateway")
    # A second run finds the case no longer on version 2.
    again = api.post("/migrations", "leader", json=_migration(False, instance_ids=[instance_id]))
    [result] = again.json()["results"]
    assert not result["ok"] and "completed" in result["problems"][0]["message"]


def test_what_cannot_migrate_is_reported_and_that_case_stays(api: Api) -> None:
    instance_id, task_id = _stranded(api)
    # Version 3 without the step: start leads straight to the gateway.
    root = etree.fromstring(FIXED)
    for gone in root.xpath(
        "//*[@id='enter' or @id='f2' or @bpmnElement='enter' or @bpmnElement='f2']"
    ):
        gone.getparent().remove(gone)
    [first] = root.xpath("//*[@id='f1']")
    first.set("targetRef", "decide")
    without_enter = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    assert api.deploy_bytes("intake.bpmn", without_enter).status_code == 201
    unknown = api.post("/migrations", "leader", json=_migration(False, mapping={"enter": "gone"}))
    assert unknown.status_code == 422 and unknown.json()["details"] == [
        {"field": "mapping.enter", "message": "gone is not an element of version 3"}
    ]
    assert unknown.json()["code"] == "invalid_mapping"
    assert unknown.json()["message"].startswith("the mapping is invalid: mapping.enter:")
    [result] = api.post("/migrations", "leader", json=_migration(False)).json()["results"]
    assert result["ok"] is False and result["migrated"] is False
    assert result["problems"][0]["element_id"] == "enter"
    assert "no element enter" in result["problems"][0]["message"]
    case = api.get(f"/process-instances/{instance_id}").json()
    assert case["version"] == 2 and [t["id"] for t in case["tasks"]] == [task_id]
    assert "instance_migrated" not in [e["type"] for e in case["history"]]


def test_a_supervisor_corrects_a_variable_and_the_case_moves_on(api: Api) -> None:
    instance_id, task_id = _stranded(api)
    repaired = api.client.patch(
        f"/api/v1/process-instances/{instance_id}/variables",
        headers=api.headers("leader"),
        json={"variables": {"decision": "yes"}, "reason": "the gateway reads decision"},
    )
    assert repaired.status_code == 200, repaired.text
    assert repaired.json()["variables"]["decision"] == "yes"
    assert repaired.json()["details"]["changes"] == [
        {"name": "decision", "old": None, "new": "yes"}
    ]
    assert api.complete(task_id, "clerk", {"verdict": "yes"}).status_code == 200
    assert [t["element_id"] for t in api.open_tasks(instance_id)] == ["approve"]
    history = api.get(f"/process-instances/{instance_id}").json()["history"]
    [event] = [e for e in history if e["type"] == "variables_repaired"]
    assert event["actor"] == "leader" and event["details"]["reason"] == "the gateway reads decision"


def test_a_supervisor_moves_a_case_past_its_failing_gateway(api: Api) -> None:
    instance_id, task_id = _stranded(api)
    moved = api.post(
        f"/process-instances/{instance_id}/modification",
        "leader",
        json={
            "reason": "approved by phone; the form cannot pass the gateway",
            "instructions": [
                {"type": "cancel", "element_id": "enter"},
                {"type": "start_before", "element_id": "approve"},
            ],
        },
    )
    assert moved.status_code == 200, moved.text
    [approve] = api.open_tasks(instance_id)
    assert approve["element_id"] == "approve"
    history = api.get(f"/process-instances/{instance_id}").json()["history"]
    [cancelled] = [e for e in history if e["type"] == "task_cancelled"]
    assert cancelled["task_id"] == task_id
    # Cancelled by the supervisor, for the modification's reason (not "withdrawn by the engine").
    assert cancelled["actor"] == "leader"
    assert cancelled["details"] == {"reason": "approved by phone; the form cannot pass the gateway"}
    [event] = [e for e in history if e["type"] == "instance_modified"]
    assert event["details"]["instructions"][1] == {"type": "start_before", "element_id": "approve"}
    # The clerk's task is gone: completing it now is a conflict, not a silent success.
    late = api.complete(task_id, "clerk", {"verdict": "yes"})
    assert late.status_code == 409, late.text


def test_repairs_are_refused_to_non_supervisors_and_need_a_reason(api: Api) -> None:
    instance_id, _ = _stranded(api)
    assert api.deploy_bytes("intake.bpmn", FIXED).status_code == 201
    move = {
        "reason": "x",
        "instructions": [{"type": "cancel", "element_id": "enter"}],
    }
    for user in ("clerk", "analyst", "portal"):
        assert (
            api.client.patch(
                f"/api/v1/process-instances/{instance_id}/variables",
                headers=api.headers(user),
                json={"variables": {"decision": "yes"}, "reason": "x"},
            ).status_code
            == 403
        )
        assert (
            api.post(f"/process-instances/{instance_id}/modification", user, json=move).status_code
            == 403
        )
        assert (
            api.post(
                f"/process-instances/{instance_id}/retry", user, json={"reason": "x"}
            ).status_code
            == 403
        )
        assert api.post("/migrations", user, json=_migration(True)).status_code == 403
    no_reason = api.post(
        f"/process-instances/{instance_id}/modification",
        "leader",
        json={"instructions": move["instructions"]},
    )
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    blank = api.post(
        f"/process-instances/{instance_id}/modification", "leader", json={**move, "reason": "  "}
    )
    assert blank.status_code == 422
    assert blank.json()["code"] == "invalid_request"  # as when the body has no reason at all
    assert blank.json()["message"].startswith("the reason is missing")
    assert blank.json()["details"][0]["field"] == "reason"
    invisible = api.post(
        f"/process-instances/{instance_id}/modification",
        "leader",
        json={**move, "reason": "\u200b\u200b"},  # zero-width spaces show nothing either
    )
    assert invisible.status_code == 422
    assert invisible.json()["message"].startswith("the reason is missing")
    unknown = api.post(
        f"/process-instances/{instance_id}/modification",
        "leader",
        json={"reason": "x", "instructions": [{"type": "cancel", "element_id": "approve"}]},
    )
    assert unknown.status_code == 409 and "approve" in unknown.json()["message"]
    nothing = api.post(f"/process-instances/{instance_id}/retry", "leader", json={"reason": "x"})
    assert nothing.status_code == 409
    history = api.get(f"/process-instances/{instance_id}").json()["history"]
    assert not {"variables_repaired", "instance_modified", "instance_migrated"} & {
        e["type"] for e in history
    }


def test_a_failed_completion_is_an_incident_until_the_case_moves_on(api: Api) -> None:
    instance_id, task_id = _stranded(api)
    [incident] = api.get("/incidents", "leader").json()["items"]
    assert incident["kind"] == "step" and incident["instance_id"] == instance_id
    assert incident["element_id"] == "decide" and incident["element_name"] == "Approved?"
    assert "decision" in incident["message"] and incident["task_id"] == task_id
    assert incident["actions"] == ["set_variables", "modification", "migration"]
    assert api.get("/incidents", "clerk").status_code == 403
    body = api.get(f"/process-instances/{instance_id}/activities", "leader").json()
    failed = [a for a in body["activities"] if a["kind"] == "failed"]
    assert failed == [
        {
            **failed[0],
            "element_id": "decide",
            "incident_id": incident["id"],
            "error": incident["message"],
        }
    ]
    api.client.patch(
        f"/api/v1/process-instances/{instance_id}/variables",
        headers=api.headers("leader"),
        json={"variables": {"decision": "yes"}, "reason": "the gateway reads decision"},
    )
    assert api.get("/incidents", "leader").json()["total"] == 0


def test_a_condition_that_raises_names_its_cause_to_the_clerk_and_in_the_incident(
    api: Api,
) -> None:
    """The clerk's 422, the `step` incident and the history's step_failed said only "Error
    evaluating expression '…'", hiding the ValueError and the value it could not read."""
    assert api.deploy(TINY / "failing_condition.bpmn").status_code == 201
    case = api.start("failing_condition", "FC-1", {}).json()
    [task] = case["tasks"]
    assert api.claim(task["id"], "clerk").status_code == 200
    values = {"idVerified": True, "eContractRef": "HT2026-201", "amount": 5}
    failed = api.complete(task["id"], "clerk", values)
    assert failed.status_code == 422, failed.text
    cause = "ValueError: invalid literal for int() with base 10: '026-201'"
    assert cause in failed.json()["message"]
    [incident] = api.get("/incidents", "leader").json()["items"]
    assert incident["kind"] == "step" and cause in incident["message"]
    history = api.get(f"/process-instances/{case['id']}", "leader").json()["history"]
    [step] = [e for e in history if e["type"] == "step_failed"]
    assert cause in step["details"]["error"]


TIMED = (TINY / "timed_share.bpmn").read_bytes()


def test_a_failed_timer_is_an_incident_and_retry_runs_it_again(api: Api) -> None:
    from datetime import timedelta

    from bpmn_service.services.scheduler import run_due_timers

    assert api.deploy_bytes("timed_share.bpmn", TIMED).status_code == 201
    case = api.start("timed_share", "TS-1", {"total": 10, "parts": 0}).json()
    later = api.ctx.clock() + timedelta(hours=2)
    api.ctx.clock = lambda: later  # the timer is due
    run_due_timers(api.ctx)
    [incident] = api.get("/incidents", "leader").json()["items"]
    assert incident["kind"] == "timer" and incident["instance_id"] == case["id"]
    assert "divide" in incident["message"] and incident["actions"][0] == "retry"
    fixed = api.client.patch(
        f"/api/v1/process-instances/{case['id']}/variables",
        headers=api.headers("leader"),
        json={"variables": {"parts": 2}, "reason": "two instalments were agreed"},
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["details"]["changes"] == [{"name": "parts", "old": 0, "new": 2}]
    retried = api.post(
        f"/process-instances/{case['id']}/retry", "leader", json={"reason": "parts fixed"}
    )
    assert retried.status_code == 200, retried.text
    [pay] = api.open_tasks(case["id"])
    assert pay["element_id"] == "pay"
    assert api.get(f"/process-instances/{case['id']}").json()["variables"]["share"] == 5
    assert api.get("/incidents", "leader").json()["total"] == 0


def test_a_retry_that_fails_again_counts_on_the_incident(api: Api) -> None:
    """It answered 422 and left no trace: the incident still said one occurrence."""
    from datetime import timedelta

    from bpmn_service.services.scheduler import run_due_timers

    assert api.deploy_bytes("timed_share.bpmn", TIMED).status_code in (200, 201)
    case = api.start("timed_share", "TS-2", {"total": 10, "parts": 0}).json()
    later = api.ctx.clock() + timedelta(hours=2)
    api.ctx.clock = lambda: later  # the timer is due
    run_due_timers(api.ctx)
    params = {"process_instance_id": case["id"]}
    [before] = api.get("/incidents", "leader", params=params).json()["items"]
    assert before["occurrences"] == 1
    again = api.post(
        f"/process-instances/{case['id']}/retry", "leader", json={"reason": "once more"}
    )
    assert again.status_code == 422, again.text
    [after] = api.get("/incidents", "leader", params=params).json()["items"]
    assert (after["id"], after["occurrences"]) == (before["id"], 2)
    assert after["last_at"] is not None


def test_the_cli_migrates_instances_after_a_dry_run(
    api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    instance_id, task_id = _stranded(api)
    assert api.deploy_bytes("intake.bpmn", FIXED).status_code == 201
    settings = api.ctx.settings
    monkeypatch.setenv("BPMN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BPMN_DATABASE_SCHEMA", settings.database_schema or "")
    monkeypatch.chdir(ROOT)
    args = ["migrate-instances", "--from", "intake:2", "--to", "intake:3",
            "--reason", "v2's gateway is broken"]  # fmt: skip
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert f"{instance_id} IN-1: can migrate (maps enter)" in out and "nothing changed" in err
    assert api.get(f"/process-instances/{instance_id}").json()["version"] == 2
    assert main([*args, "--execute", "--map", "enter=enter", "--by", "leader"]) == 0
    assert f"{instance_id} IN-1: migrated (mapped enter)" in capsys.readouterr().out
    case = api.get(f"/process-instances/{instance_id}").json()
    assert case["version"] == 3 and [t["id"] for t in case["tasks"]] == [task_id]
    [event] = [e for e in case["history"] if e["type"] == "instance_migrated"]
    # The history names the supervisor given (it said only "cli"); else the login running it.
    assert event["actor"] == "leader" and event["details"]["mapping"] == {"enter": "enter"}
    assert _cli_actor().startswith("cli")
    assert main([*args, "--execute", "--instance", instance_id]) == 1  # on version 3 now
    assert "not an active instance of intake version 2" in capsys.readouterr().err


def test_a_migration_to_the_same_version_is_refused(
    api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    instance_id, _ = _stranded(api)
    same = {"target": {"key": "intake", "version": 2}}
    for dry_run in (True, False):
        refused = api.post("/migrations", "leader", json=_migration(dry_run, **same))
        assert refused.status_code == 422, refused.text
        assert refused.json()["message"] == (
            "source and target are the same version (intake version 2): a migration moves "
            "cases to another version of their process"
        )
    case = api.get(f"/process-instances/{instance_id}").json()
    assert "instance_migrated" not in [e["type"] for e in case["history"]]
    [incident] = api.get("/incidents", "leader").json()["items"]  # the failed completion
    assert incident["instance_id"] == instance_id
    settings = api.ctx.settings
    monkeypatch.setenv("BPMN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BPMN_DATABASE_SCHEMA", settings.database_schema or "")
    monkeypatch.chdir(ROOT)
    args = ["migrate-instances", "--from", "intake:2", "--to", "intake:2"]
    assert main([*args, "--reason", "fix", "--execute"]) == 1
    assert "same version (intake version 2)" in capsys.readouterr().err
    assert main([*args, "--reason", " "]) == 1
    assert "error: the reason is missing" in capsys.readouterr().err


def test_a_cli_line_says_which_elements_map_and_which_cannot(
    api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    instance_id, _ = _stranded(api)
    renamed = FIXED.replace(b'"enter"', b'"enter_v3"')
    assert api.deploy_bytes("intake.bpmn", renamed).status_code == 201
    settings = api.ctx.settings
    monkeypatch.setenv("BPMN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BPMN_DATABASE_SCHEMA", settings.database_schema or "")
    monkeypatch.chdir(ROOT)
    args = ["migrate-instances", "--from", "intake:2", "--to", "intake:3", "--reason", "fix"]
    assert main([*args, "--map", "enter=approve"]) == 0  # a user task either way: maps
    assert f"{instance_id} IN-1: can migrate (maps enter->approve)" in capsys.readouterr().out
    assert main([*args, "--map", "enter=decide"]) == 1
    out, err = capsys.readouterr()
    assert f"{instance_id} IN-1: cannot migrate (cannot map enter)" in out
    assert "enter is a user task in the source and decide an exclusive gateway" in err


def test_cancelling_every_token_is_refused_rather_than_recorded_as_a_completion(api: Api) -> None:
    """A modification that only cancels, leaving the case nothing to do, ended it as
    `completed` (history, metrics and the KPIs then count a case nobody finished). Camunda
    terminates such an instance; here the supervisor is told to end it explicitly."""
    assert api.deploy_bytes("intake.bpmn", FIXED).status_code == 201
    case = api.start("intake", "IN-9", {}).json()
    [task] = case["tasks"]
    move = {
        "reason": "customer withdrew",
        "instructions": [{"type": "cancel", "element_id": "enter"}],
    }
    refused = api.post(f"/process-instances/{case['id']}/modification", "leader", json=move)
    assert refused.status_code == 422, refused.text
    assert "end event" in refused.json()["message"] and "/cancel" in refused.json()["message"]
    after = api.get(f"/process-instances/{case['id']}").json()
    assert after["status"] == "active"
    assert [t["id"] for t in after["tasks"]] == [task["id"]]
    assert "instance_modified" not in {e["type"] for e in after["history"]}
    # Ending it at an end event is a modification that completes it, as before.
    ended = api.post(
        f"/process-instances/{case['id']}/modification",
        "leader",
        json={
            **move,
            "instructions": [
                *move["instructions"],
                {"type": "start_before", "element_id": "done"},
            ],
        },
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "completed"


def test_an_end_reached_beside_the_last_task_does_not_let_its_cancel_empty_the_case(
    api: Api,
) -> None:
    """A start_before of the end event while the task is still open ends that branch only; a
    later cancel of the task then left the case active with nothing in it (and a stuck
    incident) where the same cancel alone is refused."""
    assert api.deploy_bytes("intake.bpmn", FIXED).status_code in (200, 201)
    case = api.start("intake", "IN-10", {}).json()
    [task] = case["tasks"]
    path = f"/process-instances/{case['id']}/modification"

    def modify(kind: str, element: str) -> Any:
        body = {"reason": "r", "instructions": [{"type": kind, "element_id": element}]}
        return api.post(path, "leader", json=body)

    assert modify("start_before", "done").status_code == 200
    refused = modify("cancel", "enter")
    assert refused.status_code == 422, refused.text
    assert "end event" in refused.json()["message"] and "/cancel" in refused.json()["message"]
    after = api.get(f"/process-instances/{case['id']}").json()
    assert after["status"] == "active" and [t["id"] for t in after["tasks"]] == [task["id"]]
    assert (
        api.get("/incidents", "leader", params={"process_instance_id": case["id"]}).json()["items"]
        == []
    )


def test_ending_a_case_closes_its_open_incidents(api: Api) -> None:
    """A cancelled case's stuck incident stayed open, listed with repairs that all answer 409."""
    assert api.deploy(TINY / "parallel_join.bpmn").status_code in (200, 201)
    case = api.start("parallel_join", "STUCK-2", {}).json()
    body = {
        "reason": "survey not needed",
        "instructions": [{"type": "cancel", "element_id": "survey"}],
    }
    path = f"/process-instances/{case['id']}/modification"
    assert api.post(path, "leader", json=body).status_code == 200
    incidents = "/incidents"
    params = {"process_instance_id": case["id"]}
    assert [i["kind"] for i in api.get(incidents, "leader", params=params).json()["items"]] == [
        "stuck"
    ]
    cancelled = api.post(f"/process-instances/{case['id']}/cancel", "admin", json={"reason": "x"})
    assert cancelled.status_code == 200, cancelled.text
    assert api.get(incidents, "leader", params=params).json()["items"] == []
    assert list(check_all(api.ctx)) == []


def _reviewing(api: Api, business_key: str) -> str:
    """An escalation case waiting at `check` inside its subprocess `review`, whose escalation
    boundary event `escalated` waits beside it."""
    assert api.deploy(DATA / "escalation.bpmn").status_code in (200, 201)
    started = api.start("esc_case", business_key, {"amount": 5})
    assert started.status_code == 201, started.text
    assert [t["element_id"] for t in started.json()["tasks"]] == ["check"]
    return str(started.json()["id"])


def _kinds(api: Api, instance_id: str) -> list[tuple[str, str]]:
    def walk(nodes: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [p for n in nodes for p in [(n["element_id"], n["kind"]), *walk(n["children"])]]

    return walk(api.get(f"/process-instances/{instance_id}/activities").json()["activities"])


def test_cancelling_the_last_element_of_a_subprocess_cancels_the_subprocess(api: Api) -> None:
    """Cancelling `check` left `review` empty but alive, with its boundary event waiting: after
    `supervise` the case stayed active for good with nothing to do, and no incident said so.
    As in Camunda, the emptied subprocess is cancelled with its boundary events."""
    instance_id = _reviewing(api, "ESC-M1")
    move = {
        "reason": "the supervisor takes this one over",
        "instructions": [
            {"type": "cancel", "element_id": "check"},
            {"type": "start_before", "element_id": "supervise"},
        ],
    }
    moved = api.post(f"/process-instances/{instance_id}/modification", "leader", json=move)
    assert moved.status_code == 200, moved.text
    assert _kinds(api, instance_id) == [("supervise", "user_task")]
    assert list(check_all(api.ctx)) == []
    [task] = api.get(f"/process-instances/{instance_id}").json()["tasks"]
    assert task["element_id"] == "supervise"
    assert api.claim(task["id"], "leader").status_code == 200
    assert api.complete(task["id"], "leader", {}).status_code == 200
    assert api.get(f"/process-instances/{instance_id}").json()["status"] == "completed"
    assert list(check_all(api.ctx)) == []


def test_a_move_inside_a_subprocess_keeps_it_and_emptying_the_case_is_still_refused(
    api: Api,
) -> None:
    instance_id = _reviewing(api, "ESC-M2")
    # Cancelling the only element of the only subprocess cancels the subprocess too, which
    # leaves the case nothing: refused as before, nothing changed.
    refused = api.post(
        f"/process-instances/{instance_id}/modification",
        "leader",
        json={"reason": "x", "instructions": [{"type": "cancel", "element_id": "check"}]},
    )
    assert refused.status_code == 422, refused.text
    assert "end event" in refused.json()["message"]
    assert _kinds(api, instance_id) == [
        ("review", "subprocess"),
        ("check", "user_task"),
        ("escalated", "waiting"),
    ]
    # A start_before in the same subprocess keeps it (and its boundary event) running.
    again = api.post(
        f"/process-instances/{instance_id}/modification",
        "leader",
        json={
            "reason": "check again",
            "instructions": [
                {"type": "cancel", "element_id": "check"},
                {"type": "start_before", "element_id": "check"},
            ],
        },
    )
    assert again.status_code == 200, again.text
    assert _kinds(api, instance_id) == [
        ("review", "subprocess"),
        ("check", "user_task"),
        ("escalated", "waiting"),
    ]
    [task] = api.get(f"/process-instances/{instance_id}").json()["tasks"]
    assert api.claim(task["id"], "clerk").status_code == 200
    assert api.complete(task["id"], "clerk", {}).status_code == 200
    assert api.get(f"/process-instances/{instance_id}").json()["status"] == "completed"
    assert list(check_all(api.ctx)) == []


SCOPES = (TINY / "event_scopes.bpmn").read_bytes()


def _renamed(xml: bytes, old: str, new: str) -> bytes:
    for attribute in (b"id", b"sourceRef", b"targetRef", b"bpmnElement"):
        xml = xml.replace(
            b'%s="%s"' % (attribute, old.encode()), b'%s="%s"' % (attribute, new.encode())
        )
    return xml


def test_elements_inside_an_event_subprocess_are_started_before_and_migrated(api: Api) -> None:
    """A start_before of `answer`, inside the message event subprocess `query` that no message
    had started, was 422 'not part of this process version'; it starts a run of `query` around
    it, as Camunda does. The case then migrates to a version that renamed both, and finishes."""
    assert api.deploy_bytes("event_scopes.bpmn", SCOPES).status_code == 201
    started = api.start("event_scopes", "ES-1", {"applicant": "A"})
    assert started.status_code == 201, started.text
    instance_id = started.json()["id"]
    moved = api.post(
        f"/process-instances/{instance_id}/modification",
        "leader",
        json={
            "reason": "the customer's query came by phone",
            "instructions": [{"type": "start_before", "element_id": "answer"}],
        },
    )
    assert moved.status_code == 200, moved.text
    tasks = {t["element_id"]: t["id"] for t in api.open_tasks(instance_id)}
    assert sorted(tasks) == ["answer", "work"]
    assert list(check_all(api.ctx)) == []

    v2 = _renamed(_renamed(SCOPES, "query", "query_v2"), "answer", "answer_v2")
    assert api.deploy_bytes("event_scopes.bpmn", v2).json()["definitions"][0]["version"] == 2
    run = api.post(
        "/migrations",
        "leader",
        json={
            "source": {"key": "event_scopes", "version": 1},
            "target": {"key": "event_scopes", "version": 2},
            "mapping": {"query": "query_v2", "answer": "answer_v2"},
            "reason": "version 2 names the query steps",
            "dry_run": False,
        },
    )
    assert run.status_code == 200, run.text
    [result] = run.json()["results"]
    assert result["migrated"] is True, result
    assert {"element_id": "answer", "target_element_id": "answer_v2", "kind": "user_task"} in (
        result["mapped"]
    )
    after = {t["element_id"]: t["id"] for t in api.open_tasks(instance_id)}
    assert after == {"answer_v2": tasks["answer"], "work": tasks["work"]}
    # The target's event subprocess listens for the message under the new name.
    message = {"message_name": "query", "business_key": "ES-1", "variables": {"asked": "why"}}
    delivered = api.post("/messages", "portal", json=message)
    assert delivered.status_code in (200, 202), delivered.text
    assert delivered.json()["status"] == "delivered"
    for _ in range(6):
        open_tasks = api.open_tasks(instance_id)
        if not open_tasks:
            break
        task = open_tasks[0]
        assert api.claim(task["id"], "clerk").status_code == 200
        assert api.complete(task["id"], "clerk", {}).status_code == 200
    assert api.get(f"/process-instances/{instance_id}").json()["status"] == "completed"
    assert list(check_all(api.ctx)) == []


def test_a_cancelled_message_catch_no_longer_holds_a_subscription(api: Api) -> None:
    assert api.deploy(TINY / "message_wait.bpmn").status_code == 201
    case = api.start("message_wait", "MW-CANCEL", {}).json()
    moved = api.post(
        f"/process-instances/{case['id']}/modification",
        "leader",
        json={
            "reason": "paid at the counter",
            "instructions": [
                {"type": "cancel", "element_id": "wait_payment"},
                {"type": "start_before", "element_id": "refund"},
            ],
        },
    )
    assert moved.status_code == 200, moved.text
    subs = api.get("/event-subscriptions", "admin", params={"business_key": "MW-CANCEL"}).json()
    assert [s["message_name"] for s in subs["items"]] == ["cancel"]
    sent = api.post(
        "/messages", "portal", json={"message_name": "paid", "business_key": "MW-CANCEL"}
    )
    # Nothing waits for it now: it is kept for a later wait, not delivered to the removed token.
    assert sent.status_code == 202 and sent.json()["status"] == "buffered", sent.text
    assert [t["element_id"] for t in api.open_tasks(case["id"])] == ["refund"]
    assert list(check_all(api.ctx)) == []


def test_a_case_left_waiting_at_a_join_with_nothing_to_come_opens_a_stuck_incident(
    api: Api,
) -> None:
    """Cancelling one branch before a parallel join (or migrating past an added branch) leaves
    the join waiting for good; nothing fails, so the run says so with a `stuck` incident, which
    starting the missing branch closes."""
    assert api.deploy(TINY / "parallel_join.bpmn").status_code == 201
    case = api.start("parallel_join", "STUCK-1", {}).json()

    def modify(reason: str, *instructions: dict[str, str]) -> None:
        body = {"reason": reason, "instructions": list(instructions)}
        answer = api.post(f"/process-instances/{case['id']}/modification", "leader", json=body)
        assert answer.status_code == 200, answer.text

    modify("survey not needed", {"type": "cancel", "element_id": "survey"})
    [stuck] = api.get("/incidents", "leader", params={"process_instance_id": case["id"]}).json()[
        "items"
    ]
    assert (stuck["kind"], stuck["element_id"]) == ("stuck", "join")
    assert "waits at join (for survey)" in stuck["message"]
    assert "start_before" in stuck["message"] and "modification" in stuck["actions"]
    # Where the case stands says the same: the join waits for the survey's branch.
    standing = api.get(f"/process-instances/{case['id']}/activities", "leader").json()
    [join] = [a for a in standing["activities"] if a["kind"] == "join"]
    assert (join["element_id"], join["waiting_for"]) == ("join", ["survey"])
    assert any("nothing can advance" in f.problem for f in check_all(api.ctx))

    modify("the survey is needed after all", {"type": "start_before", "element_id": "survey"})
    assert (
        api.get("/incidents", "leader", params={"process_instance_id": case["id"]}).json()["items"]
        == []
    )
    [survey] = api.open_tasks(case["id"])
    assert api.claim(survey["id"], "admin").status_code == 200
    assert api.complete(survey["id"], "admin", {}).json()["instance_status"] == "completed"


def test_a_join_lists_only_unarrived_branches_and_refuses_a_second_token_from_an_arrived_one(
    api: Api,
) -> None:
    """Two of three branches arrived at a parallel join: it waits for the third alone, and a
    start_before of an arrived branch (which would let the join fire twice) is refused naming the
    join and the branch, unless the same modification cancels the join."""
    assert api.deploy(TINY / "parallel_rework.bpmn").status_code == 201
    case = api.start("parallel_rework", "JOIN-1", {"redo": False}).json()
    for element in ("survey", "design"):
        [task] = [t for t in api.open_tasks(case["id"]) if t["element_id"] == element]
        assert api.claim(task["id"], "admin").status_code == 200
        assert api.complete(task["id"], "admin", {}).status_code == 200
    standing = api.get(f"/process-instances/{case['id']}/activities", "leader").json()
    [join] = [a for a in standing["activities"] if a["kind"] == "join"]
    assert (join["waiting_for"], join["arrived"]) == (["quote"], ["survey", "design"])

    def modify(*instructions: dict[str, str]) -> Any:
        body = {"reason": "redo the survey", "instructions": list(instructions)}
        return api.post(f"/process-instances/{case['id']}/modification", "leader", json=body)

    refused = modify({"type": "start_before", "element_id": "survey"})
    assert refused.status_code == 422, refused.text
    assert "join join a second token from branch survey" in refused.text
    assert [t["element_id"] for t in api.open_tasks(case["id"])] == ["quote"]
    moved = modify(
        {"type": "cancel", "element_id": "join"}, {"type": "start_before", "element_id": "survey"}
    )
    assert moved.status_code == 200, moved.text
    assert sorted(t["element_id"] for t in api.open_tasks(case["id"])) == ["quote", "survey"]
    assert list(check_all(api.ctx)) == []
