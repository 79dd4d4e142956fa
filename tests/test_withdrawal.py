"""An interrupting event subprocess: when its message arrives, the rest of the case stops."""

from __future__ import annotations

from typing import Any

from conftest import DATA, Api


def _case(api: Api, key: str) -> dict[str, Any]:
    found = api.get("/process-instances", params={"business_key": key}).json()["items"][0]
    return dict(api.get(f"/process-instances/{found['id']}").json())


def test_a_withdrawal_stops_the_work_and_closes_the_case(api: Api) -> None:
    assert api.deploy(DATA / "withdrawable.bpmn").status_code == 201
    started = api.start("withdrawable", "WD-1", {})
    assert [t["element_id"] for t in started.json()["tasks"]] == ["survey"]
    sent = api.post(
        "/messages",
        "portal",
        json={
            "message_name": "demo_application_withdrawn",
            "business_key": "WD-1",
            "variables": {"withdrawReason": "moved elsewhere"},
        },
    )
    assert sent.status_code == 200, sent.text
    case = _case(api, "WD-1")
    # The survey (and its reminder timer) stopped; only the withdrawal's own work is open.
    assert [t["element_id"] for t in case["tasks"]] == ["close"]
    assert case["variables"]["withdrawReason"] == "moved elsewhere"
    assert api.tasks("clerk").json()["total"] == 1
    [close] = case["tasks"]
    api.claim(close["id"], "clerk")
    done = api.complete(close["id"], "clerk", {})
    assert done.status_code == 200, done.text
    assert done.json()["instance_status"] == "completed"


def test_without_a_withdrawal_the_case_runs_its_course(api: Api) -> None:
    assert api.deploy(DATA / "withdrawable.bpmn").status_code == 201
    started = api.start("withdrawable", "WD-2", {}).json()
    for element in ("survey", "reply"):
        [task] = [t for t in _case(api, "WD-2")["tasks"] if t["element_id"] == element]
        api.claim(task["id"], "clerk")
        assert api.complete(task["id"], "clerk", {}).status_code == 200
    assert api.get(f"/process-instances/{started['id']}").json()["status"] == "completed"
