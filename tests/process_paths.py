"""Drive a shipped process along a recorded path through the HTTP API.

A path file (processes/paths/<key>.json) holds start variables per customer category and, per
path, the user tasks in the order they are completed with the form values submitted. Every task is
claimed and completed by a demo user of one of the task's candidate groups, as a user would.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the test client; bench/footprint.py drives a real server with its own
    from conftest import Api

ROOT = Path(__file__).resolve().parents[1]
PATHS = ROOT / "processes" / "paths"
PROCESSES = ROOT / "processes"

# The demo user that acts for each group (config/users.toml).
USER_FOR_GROUP = {
    "hall_clerk": "clerk",
    "yk_specialist": "specialist",
    "plan_engineer": "planner",
    "dev_planning": "devplan",
    "om_dept": "om",
    "dispatch": "dispatcher",
    "leadership": "leader",
    "inspection": "inspector",
    "metering": "meterman",
    "archive": "archivist",
    "customer_manager": "manager",
    "project_manager": "pm",
    "service_center": "service",
    "customer": "portal",
    "contractor": "contractor",
}
INITIATOR = {"yekuo_current": "clerk", "yekuo_streamlined": "manager"}


@cache
def load_paths(key: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PATHS / f"{key}.json").read_text(encoding="utf-8"))
    return data


def category_of(path_name: str) -> str:
    for category in ("HV_S", "HV_D", "RES", "LV"):
        if path_name.startswith(category):
            return category
    raise ValueError(f"path {path_name!r} does not start with a customer category")


def user_for(task: dict[str, Any]) -> str:
    for group in task["candidate_groups"]:
        if group in USER_FOR_GROUP:
            return USER_FOR_GROUP[group]
    raise AssertionError(f"no demo user for task {task['element_id']} {task['candidate_groups']}")


def pick(api: Api, open_tasks: list[dict[str, Any]], element: str, values: dict[str, Any]) -> Any:
    """The open task of `element`; for a multi-instance task, the instance whose item the values
    name (e.g. a signer), else the first one."""
    matching = [t for t in open_tasks if t["element_id"] == element]
    if not matching:
        names = sorted(t["element_id"] for t in open_tasks)
        raise AssertionError(f"expected an open {element}, open tasks are {names}")
    if len(matching) > 1:
        for task in matching:
            shown = api.get(f"/tasks/{task['id']}").json()["variables"]
            if any(k in shown and shown[k] == v for k, v in values.get("_item", {}).items()):
                return task
    return matching[0]


def start(api: Api, key: str, path_name: str, business_key: str) -> str:
    """Start an instance with the start variables of the path's customer category."""
    variables = load_paths(key)["start"][category_of(path_name)]
    response = api.start(key, business_key, variables, user=INITIATOR[key])
    assert response.status_code == 201, response.text
    instance_id: str = response.json()["id"]
    return instance_id


def send_message(api: Api, instance_id: str, element: str, values: dict[str, Any]) -> None:
    """A step `[catch_event_id, {"_message": name, **variables}]`: the customer portal (or another
    system) sends the message to the instance, by its business key."""
    business_key = api.get(f"/process-instances/{instance_id}").json()["business_key"]
    variables = {k: v for k, v in values.items() if not k.startswith("_")}
    response = api.post(
        "/messages",
        "portal",
        json={
            "message_name": values["_message"],
            "business_key": business_key,
            "variables": variables,
        },
    )
    assert response.status_code in (200, 201), (element, response.text)


def work_external(api: Api, instance_id: str, element: str, values: dict[str, Any]) -> None:
    """A step `[service_task_id, {"_external": topic, **variables}]`: a worker fetches the
    instance's task of that topic and completes it with the variables."""
    locked = api.post(
        "/external-tasks/fetch-and-lock",
        "worker",
        json={
            "worker_id": "path-worker",
            "topics": [values["_external"]],
            "lock_seconds": 60,
            "max_tasks": 100,
            "process_instance_id": instance_id,
        },
    ).json()
    mine = [
        t for t in locked if t["process_instance_id"] == instance_id and t["element_id"] == element
    ]
    assert mine, f"expected an external task {element} for the instance, got {locked}"
    variables = {k: v for k, v in values.items() if not k.startswith("_")}
    response = api.post(
        f"/external-tasks/{mine[0]['id']}/complete",
        "worker",
        json={"worker_id": "path-worker", "variables": variables},
    )
    assert response.status_code == 204, (element, response.text)


def run_steps(api: Api, instance_id: str, steps: list[list[Any]]) -> list[dict[str, Any]]:
    """Claim and complete each step's task as a user of its group, send each message step and
    work each external step; return the user tasks done."""
    done_tasks = []
    for element, values in steps:
        if "_message" in values:
            send_message(api, instance_id, element, values)
            continue
        if "_external" in values:
            work_external(api, instance_id, element, values)
            continue
        task = pick(api, api.open_tasks(instance_id), element, values)
        submitted = {k: v for k, v in values.items() if k != "_item"}
        user = user_for(task)
        claimed = api.claim(task["id"], user)
        assert claimed.status_code == 200, (element, claimed.text)
        done = api.complete(task["id"], user, submitted)
        assert done.status_code == 200, (element, done.text)
        done_tasks.append(task)
    return done_tasks


def drive(api: Api, key: str, path_name: str, business_key: str) -> dict[str, Any]:
    """Run one recorded path to its end; return the final instance."""
    instance_id = start(api, key, path_name, business_key)
    run_steps(api, instance_id, load_paths(key)["paths"][path_name])
    final: dict[str, Any] = api.get(f"/process-instances/{instance_id}").json()
    return final
