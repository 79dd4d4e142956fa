"""Escalation events: a subprocess raises an escalation that a boundary event on it catches."""

from __future__ import annotations

from typing import Any

from conftest import DATA, Api


def _instance(api: Api, amount: int, key: str) -> dict[str, Any]:
    assert api.deploy(DATA / "escalation.bpmn").status_code in (200, 201)
    started = api.start("esc_case", key, {"amount": amount})
    assert started.status_code == 201, started.text
    return dict(api.get(f"/process-instances/{started.json()['id']}").json())


def test_an_escalation_above_the_threshold_adds_a_supervisor_task(api: Api) -> None:
    instance = _instance(api, 5000, "ESC-1")
    assert sorted(t["element_id"] for t in instance["tasks"]) == ["check", "supervise"]
    [supervise] = [t for t in instance["tasks"] if t["element_id"] == "supervise"]
    assert supervise["candidate_groups"] == ["leadership"]
    # Non-interrupting: the review goes on beside the supervisor's task, and both must finish.
    for task, user in ((supervise, "leader"), (_task(instance, "check"), "clerk")):
        api.claim(task["id"], user)
        assert api.complete(task["id"], user, {}).status_code == 200
    final = api.get(f"/process-instances/{instance['id']}").json()
    assert final["status"] == "completed"


def test_no_escalation_below_the_threshold(api: Api) -> None:
    instance = _instance(api, 500, "ESC-2")
    assert [t["element_id"] for t in instance["tasks"]] == ["check"]
    api.claim(instance["tasks"][0]["id"], "clerk")
    assert api.complete(instance["tasks"][0]["id"], "clerk", {}).status_code == 200
    assert api.get(f"/process-instances/{instance['id']}").json()["status"] == "completed"


def test_an_escalation_throw_must_name_a_declared_escalation(api: Api) -> None:
    xml = (DATA / "escalation.bpmn").read_bytes()
    refused = api.deploy_bytes(
        "escalation.bpmn",
        xml.replace(
            b'<bpmn:escalationEventDefinition escalationRef="Esc_over" /></bpmn:inter',
            b'<bpmn:escalationEventDefinition escalationRef="Esc_typo" /></bpmn:inter',
        ),
    )
    assert refused.status_code == 422, refused.text
    [problem] = [d for d in refused.json()["details"] if d["severity"] == "error"]
    assert problem["element"] == "raise" and "Esc_typo" in problem["message"]


def _task(instance: dict[str, Any], element: str) -> dict[str, Any]:
    [task] = [t for t in instance["tasks"] if t["element_id"] == element]
    return dict(task)


def test_an_escalation_starts_a_non_interrupting_event_subprocess(api: Api) -> None:
    assert api.deploy(DATA / "escalation_subprocess.bpmn").status_code == 201
    for amount, expected in ((5000, ["check", "supervise"]), (500, ["check"])):
        started = api.start("escalation_subprocess", f"ESC-SP-{amount}", {"amount": amount})
        assert started.status_code == 201, started.text
        instance = api.get(f"/process-instances/{started.json()['id']}").json()
        assert sorted(t["element_id"] for t in instance["tasks"]) == expected
        for task in instance["tasks"]:
            user = "leader" if task["element_id"] == "supervise" else "clerk"
            api.claim(task["id"], user)
            assert api.complete(task["id"], user, {}).status_code == 200
        final = api.get(f"/process-instances/{instance['id']}").json()
        assert final["status"] == "completed"
