"""Where a case stands over HTTP: its active elements, the message waits a portal may send to,
and current variables while it runs."""

from __future__ import annotations

from datetime import timedelta

from bpmn_service.services.scheduler import run_due_timers
from conftest import DATA, ROOT, Api

TINY = ROOT / "tests" / "engine" / "bpmn"


def test_activities_show_a_message_wait_with_its_message_and_variables(api: Api) -> None:
    assert api.deploy(TINY / "message_wait.bpmn").status_code == 201
    case = api.start("message_wait", "MW-1", {}).json()
    body = api.get(f"/process-instances/{case['id']}/activities", "leader").json()
    assert body["instance_id"] == case["id"] and body["business_key"] == "MW-1"
    wait, listener = body["activities"]
    assert wait["kind"] == "message_wait" and wait["element_id"] == "wait_payment"
    assert wait["name"] == "Paid" and wait["message_name"] == "paid"
    assert wait["variables"] is None  # the catch event declares none: any
    assert wait["since"] is not None
    assert listener["message_name"] == "cancel" and listener["event_subprocess"] is True
    assert listener["name"] == "Cancel"  # the event subprocess start's name

    subs = api.get("/event-subscriptions", "portal", params={"business_key": "MW-1"}).json()
    assert subs["total"] == 2
    paid = next(s for s in subs["items"] if s["message_name"] == "paid")
    assert paid["instance_id"] == case["id"] and paid["element_name"] == "Paid"
    assert paid["process_definition_key"] == "message_wait" and paid["variables"] is None
    # Without a business key only the cases the caller sees are listed.
    assert api.get("/event-subscriptions", "portal").json()["total"] == 0
    by_name = api.get("/event-subscriptions", "admin", params={"message_name": "paid"}).json()
    assert [s["instance_id"] for s in by_name["items"]] == [case["id"]]

    sent = api.post(
        "/messages",
        "portal",
        json={"message_name": "paid", "business_key": "MW-1", "variables": {"amount": 5}},
    )
    assert sent.status_code == 200, sent.text
    done = api.get(f"/process-instances/{case['id']}/activities", "leader").json()
    assert done["status"] == "completed" and done["activities"] == []
    assert api.get("/event-subscriptions", "admin").json()["total"] == 0


def test_activities_show_a_user_task_with_assignee_and_its_timers(api: Api) -> None:
    xml = (TINY / "boundary_timer.bpmn").read_bytes().replace(b'"clerks"', b'"hall_clerk"')
    assert api.deploy_bytes("boundary_timer.bpmn", xml).status_code == 201
    case = api.start("boundary_timer", "BT-1", {}).json()
    [task] = api.open_tasks(case["id"])
    assert api.claim(task["id"], "clerk").status_code == 200
    body = api.get(f"/process-instances/{case['id']}/activities", "clerk").json()
    review, late, nudge = body["activities"]
    assert review["kind"] == "user_task" and review["task_id"] == task["id"]
    assert review["assignee"] == "clerk" and review["candidate_groups"] == ["hall_clerk"]
    assert (late["kind"], nudge["kind"]) == ("timer", "timer")
    assert late["due"] > nudge["due"]
    assert api.get(f"/process-instances/{case['id']}/activities", "portal").status_code == 404


def test_a_reminder_script_s_variable_shows_while_the_case_runs(api: Api) -> None:
    assert api.deploy(TINY / "boundary_timer.bpmn").status_code == 201
    case = api.start("boundary_timer", "BT-2", {}).json()
    run_due_timers(api.ctx, now=api.ctx.clock() + timedelta(hours=25))
    body = api.get(f"/process-instances/{case['id']}").json()
    assert body["status"] == "active" and [t["element_id"] for t in body["tasks"]] == ["review"]
    assert body["variables"]["nudged"] is True


def test_an_expired_lock_is_shown_as_no_lock(api: Api) -> None:
    """A worker's lock that ran out held nothing (any worker fetches the task again), yet the
    case page still said 'locked by w-bad until 01:54' long after."""
    assert api.deploy(DATA / "external_error.bpmn").status_code == 201
    case = api.start("registry_check", "LOCK-1", {}).json()
    fetch = {"worker_id": "w-bad", "topics": ["construction_registry"], "lock_seconds": 60}
    [task] = api.post("/external-tasks/fetch-and-lock", "worker", json=fetch).json()

    def node() -> dict[str, object]:
        body = api.get(f"/process-instances/{case['id']}/activities", "leader").json()
        [external] = [n for n in body["activities"] if n["kind"] == "external_task"]
        return external

    held = node()
    assert held["lock_owner"] == "w-bad" and held["lock_expires"] is not None
    later = api.ctx.clock() + timedelta(seconds=61)
    api.ctx.clock = lambda: later
    expired = node()
    assert expired["external_task_id"] == task["id"]
    assert expired["lock_owner"] is None and expired["lock_expires"] is None
