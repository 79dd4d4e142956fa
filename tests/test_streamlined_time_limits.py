"""yekuo_streamlined time limits (TOBE_TARGET), the co-sign's per-signer timers, the evaluation that
closes itself and a complaint linked to a running case, on an injected clock. No test sleeps.

Working days follow config/calendar.toml: in 2025 the National Day holiday runs 10-01 to 10-08,
Sunday 09-28 and Saturday 10-11 are make-up working days. A limit of N working days ends at
midnight (Beijing time) after the Nth working day after the day the clock starts.
"""

from __future__ import annotations

from typing import Any

import pytest

from bpmn_service.services.scheduler import run_due_timers
from clock import Clock, api_time, local
from conftest import Api
from process_paths import PROCESSES, load_paths, run_steps, start

KEY = "yekuo_streamlined"


@pytest.fixture
def clock(api: Api) -> Clock:
    clock = Clock(local("2025-09-26T10:00:00"))
    api.ctx.clock = clock
    assert api.deploy(PROCESSES / f"{KEY}.bpmn").status_code == 201
    return clock


def steps_of(path: str) -> list[list[Any]]:
    return list(load_paths(KEY)["paths"][path])


def until(steps: list[list[Any]], element: str, occurrence: int = 1) -> int:
    """Index of the `occurrence`th step of `element`."""
    seen = 0
    for index, (step, _values) in enumerate(steps):
        if step == element:
            seen += 1
            if seen == occurrence:
                return index
    raise AssertionError(f"{element} not in the path")


def instance(api: Api, instance_id: str) -> dict[str, Any]:
    body: dict[str, Any] = api.get(f"/process-instances/{instance_id}").json()
    return body


def engine_steps(api: Api, instance_id: str) -> list[str]:
    return [
        e["element_id"] for e in instance(api, instance_id)["history"] if e["type"] == "engine_step"
    ]


def open_tasks(api: Api, instance_id: str, element: str | None = None) -> list[dict[str, Any]]:
    tasks = api.open_tasks(instance_id)
    return [t for t in tasks if element is None or t["element_id"] == element]


def inbox(api: Api, user: str, instance_id: str) -> list[str]:
    items = api.tasks(user, process_instance_id=instance_id).json()["items"]
    return sorted(t["element_id"] for t in items)


def complete(api: Api, task: dict[str, Any], user: str, values: dict[str, Any]) -> None:
    assert api.claim(task["id"], user).status_code == 200
    response = api.complete(task["id"], user, values)
    assert response.status_code == 200, response.text


# ------------------------------------------------------------------------------------------------
# B-T-PLAN (HV_S: 10 working days) on the survey / plan stage B-UT04 … B-UT07
# ------------------------------------------------------------------------------------------------


def clock_events(api: Api, instance_id: str) -> list[tuple[str, str]]:
    return [
        (e["type"], e["details"]["limit_id"])
        for e in instance(api, instance_id)["history"]
        if e["type"].startswith("time_limit_")
    ]


def time_limits(api: Api, instance_id: str) -> dict[str, dict[str, Any]]:
    """The latest clock of each limit."""
    body = api.get(f"/process-instances/{instance_id}/time-limits").json()
    return {c["limit_id"]: c for c in body}


def test_plan_reminder_and_escalation_at_working_day_instants(api: Api, clock: Clock) -> None:
    steps = steps_of("HV_S_ordinary")
    instance_id = start(api, KEY, "HV_S_ordinary", "YK-TL-PLAN-1")
    # Accepted on Friday 2025-09-26 10:00: the clock starts when the documents pass (B-GW03).
    run_steps(api, instance_id, steps[: until(steps, "B-UT01") + 1])
    [survey] = open_tasks(api, instance_id)
    assert survey["element_id"] == "B-UT04"
    # Working days after 09-26: 09-28 (Sun, make-up) 1, 09-29 2, 09-30 3, [10-01..10-08 holiday],
    # 10-09 4, 10-10 5, 10-11 (Sat, make-up) 6, [10-12 Sun], 10-13 7, 10-14 8, 10-15 9, 10-16 10.
    # Limit: end of 10-16; 80 % = 8 working days: end of 10-14.
    assert survey["due_at"] == api_time("2025-10-17T00:00:00")
    plan = time_limits(api, instance_id)["B-T-PLAN"]
    assert plan["warn_at"] == api_time("2025-10-15T00:00:00")
    assert {"B-UT04", "B-UT05", "B-UT06", "B-UT07", "B-UT02"} <= set(plan["element_ids"])

    clock.now = local("2025-10-14T23:59:00")
    assert run_due_timers(api.ctx) == 0
    assert clock_events(api, instance_id) == [("time_limit_started", "B-T-PLAN")]

    clock.now = local("2025-10-15T00:01:00")
    assert run_due_timers(api.ctx) == 1
    assert clock_events(api, instance_id)[-1] == ("time_limit_warned", "B-T-PLAN")
    assert run_due_timers(api.ctx) == 0
    assert inbox(api, "service", instance_id) == []

    clock.now = local("2025-10-16T23:59:00")
    assert run_due_timers(api.ctx) == 0
    assert inbox(api, "service", instance_id) == []

    clock.now = local("2025-10-17T00:01:00")
    assert run_due_timers(api.ctx) == 1
    assert inbox(api, "service", instance_id) == ["B-UT19"]
    # The overdue survey is still open for the customer manager; the escalation runs beside it.
    assert inbox(api, "manager", instance_id) == ["B-UT04"]

    # The stage goes on late: the later steps of the stage do not remind or escalate again.
    run_steps(api, instance_id, steps[until(steps, "B-UT04") : until(steps, "B-UT05")])
    assert sorted(t["element_id"] for t in open_tasks(api, instance_id)) == ["B-UT05", "B-UT19"]
    clock.now = local("2025-10-24T00:00:00")
    assert run_due_timers(api.ctx) == 0
    assert [t for t, _ in clock_events(api, instance_id)].count("time_limit_warned") == 1
    assert inbox(api, "service", instance_id) == ["B-UT19"]

    [escalation] = open_tasks(api, instance_id, "B-UT19")
    shown = api.get(f"/tasks/{escalation['id']}", "service").json()["variables"]
    assert shown["timeLimitName"] == "勘查答复"
    assert shown["timeLimitDue"].startswith("2025-10-16T16:00:00")
    complete(api, escalation, "service", {"escalationAction": "已协调方案组当日出方案"})
    assert inbox(api, "service", instance_id) == []


def test_plan_replied_in_time_neither_reminds_nor_escalates(api: Api, clock: Clock) -> None:
    steps = steps_of("HV_S_ordinary")
    instance_id = start(api, KEY, "HV_S_ordinary", "YK-TL-PLAN-2")
    run_steps(api, instance_id, steps[: until(steps, "B-UT01") + 1])
    # Survey, plan, review and the one-time reply on Monday 10-13, before the 80 % instant.
    clock.now = local("2025-10-13T16:00:00")
    run_steps(api, instance_id, steps[until(steps, "B-UT04") : until(steps, "C-UT12")])
    assert [t["element_id"] for t in open_tasks(api, instance_id)] == ["C-UT12"]
    assert time_limits(api, instance_id)["B-T-PLAN"]["status"] == "met"
    clock.now = local("2025-12-31T00:00:00")
    assert run_due_timers(api.ctx) == 0
    assert clock_events(api, instance_id) == [
        ("time_limit_started", "B-T-PLAN"),
        ("time_limit_stopped", "B-T-PLAN"),
    ]
    assert api.tasks("service", process_instance_id=instance_id).json()["total"] == 0


# ------------------------------------------------------------------------------------------------
# The co-sign B-UT10: each round's signers (B-T-SIGN: reminded after 1 WD, escalated to the
# leader after 2) and B-T-COSIGN for the whole acceptance (escalated to the service centre)
# ------------------------------------------------------------------------------------------------


def test_cosign_reminder_escalation_and_whole_limit(api: Api, clock: Clock) -> None:
    steps = steps_of("HV_S_ordinary")
    instance_id = start(api, KEY, "HV_S_ordinary", "YK-TL-COSIGN-1")
    # Everything up to the completion report happens on Friday 2025-10-17.
    clock.now = local("2025-10-17T09:00:00")
    run_steps(api, instance_id, steps[: until(steps, "C-UT14") + 1])
    clock.now = local("2025-10-17T10:00:00")
    # The appointment opens the co-sign; the meter goes in the same morning (parallel branch).
    run_steps(api, instance_id, steps[until(steps, "B-UT10a") : until(steps, "B-UT10")])
    signers = open_tasks(api, instance_id, "B-UT10")
    assert sorted(t["candidate_groups"][0] for t in signers) == [
        "dispatch",
        "inspection",
        "metering",
        "om_dept",
    ]
    # B-T-SIGN = 2 WD from the round's start: Mon 10-20, Tue 10-21; the signers are due then
    # (B-T-COSIGN, 3 WD from the completion report, ends a day later).
    assert {t["due_at"] for t in signers} == {api_time("2025-10-22T00:00:00")}
    limits = time_limits(api, instance_id)
    assert limits["B-T-COSIGN"]["due_at"] == api_time("2025-10-23T00:00:00")
    assert limits["B-T-SIGN"]["warn_at"] == api_time("2025-10-21T00:00:00")

    # Two signers sign on Monday.
    clock.now = local("2025-10-20T15:00:00")
    for step in steps[until(steps, "B-UT10") : until(steps, "B-UT10") + 2]:
        run_steps(api, instance_id, [step])
    assert len(open_tasks(api, instance_id, "B-UT10")) == 2

    # 1 working day after Friday is the end of Monday (the weekend does not count).
    clock.now = local("2025-10-20T23:59:00")
    assert run_due_timers(api.ctx) == 0
    clock.now = local("2025-10-21T00:01:00")
    assert run_due_timers(api.ctx) == 1
    assert clock_events(api, instance_id)[-1] == ("time_limit_warned", "B-T-SIGN")
    assert api.tasks("leader", process_instance_id=instance_id).json()["total"] == 0

    clock.now = local("2025-10-21T23:59:00")
    assert run_due_timers(api.ctx) == 0
    clock.now = local("2025-10-22T00:01:00")
    assert run_due_timers(api.ctx) == 1
    assert inbox(api, "leader", instance_id) == ["B-UT19"]
    assert len(open_tasks(api, instance_id, "B-UT10")) == 2  # still open for the late signers
    assert inbox(api, "service", instance_id) == []

    # The whole co-sign limit: reminded at 80 % (10-22 09:36), over at the end of Wednesday.
    clock.now = local("2025-10-22T23:59:00")
    assert run_due_timers(api.ctx) == 1
    assert clock_events(api, instance_id)[-1] == ("time_limit_warned", "B-T-COSIGN")
    clock.now = local("2025-10-23T00:01:00")
    assert run_due_timers(api.ctx) == 1
    assert inbox(api, "service", instance_id) == ["B-UT19"]
    assert [t for t, _ in clock_events(api, instance_id)].count("time_limit_warned") == 2

    # The late signers sign: both clocks stop and both open escalations are withdrawn.
    clock.now = local("2025-10-23T09:00:00")
    rest = steps[until(steps, "B-UT10") + 2 :]
    run_steps(api, instance_id, rest[:2])
    assert open_tasks(api, instance_id, "B-UT19") == []
    withdrawn = [
        e
        for e in instance(api, instance_id)["history"]
        if e["type"] == "task_cancelled" and e["element_id"] == "B-UT19"
    ]
    assert len(withdrawn) == 2
    limits = time_limits(api, instance_id)
    assert limits["B-T-SIGN"]["status"] == limits["B-T-COSIGN"]["status"] == "breached"
    run_steps(api, instance_id, rest[2:])
    final = instance(api, instance_id)
    assert final["status"] == "completed", [t["element_id"] for t in final["tasks"]]
    assert engine_steps(api, instance_id).count("B-EE1") == 1
    assert time_limits(api, instance_id)["B-T-ENERGISE"]["status"] == "met"


# ------------------------------------------------------------------------------------------------
# B-UT15: the evaluation closes itself after 5 working days and the instance completes
# ------------------------------------------------------------------------------------------------


def test_evaluation_closes_after_five_working_days(api: Api, clock: Clock) -> None:
    steps = steps_of("RES_happy")
    clock.now = local("2025-09-25T10:00:00")  # Thursday
    instance_id = start(api, KEY, "RES_happy", "YK-TL-EVAL-1")
    run_steps(api, instance_id, steps[: until(steps, "B-UT15")])
    [evaluation] = open_tasks(api, instance_id)
    assert evaluation["element_id"] == "B-UT15"
    # 09-26 1, 09-28 (Sun, make-up) 2, 09-29 3, 09-30 4, [10-01..10-08], 10-09 5.
    assert evaluation["due_at"] == api_time("2025-10-10T00:00:00")

    clock.now = local("2025-10-09T23:59:00")
    assert run_due_timers(api.ctx) == 0
    assert instance(api, instance_id)["status"] == "active"

    clock.now = local("2025-10-10T00:01:00")
    assert run_due_timers(api.ctx) == 1
    final = instance(api, instance_id)
    assert final["status"] == "completed"
    assert final["tasks"] == []
    assert final["variables"]["evaluated"] is False
    assert "B-ST15c" in engine_steps(api, instance_id)
    cancelled = [e for e in final["history"] if e["type"] == "task_cancelled"]
    assert [e["element_id"] for e in cancelled] == ["B-UT15"]


def test_evaluation_given_in_time_is_recorded(api: Api, clock: Clock) -> None:
    clock.now = local("2025-09-25T10:00:00")
    instance_id = start(api, KEY, "RES_happy", "YK-TL-EVAL-2")
    run_steps(api, instance_id, steps_of("RES_happy"))
    final = instance(api, instance_id)
    assert final["status"] == "completed"
    assert final["variables"]["evaluated"] is True
    assert "B-ST15c" not in engine_steps(api, instance_id)


# ------------------------------------------------------------------------------------------------
# A complaint linked to the running case (message event subprocess, non-interrupting)
# ------------------------------------------------------------------------------------------------


def send(api: Api, name: str, business_key: str, variables: dict[str, Any]) -> None:
    response = api.post(
        "/messages",
        "portal",
        json={"message_name": name, "business_key": business_key, "variables": variables},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "delivered"


@pytest.mark.usefixtures("clock")
def test_linked_complaint_is_recorded_and_the_case_runs_on(api: Api) -> None:
    steps = steps_of("HV_S_ordinary")
    business_key = "YK-TL-COMPLAINT-1"
    instance_id = start(api, KEY, "HV_S_ordinary", business_key)
    at_construction = until(steps, "K-T10")
    run_steps(api, instance_id, steps[:at_construction])
    waiting = instance(api, instance_id)
    assert waiting["tasks"] == []  # waiting for the construction unit's message

    send(
        api,
        "complaint_linked",
        business_key,
        {
            "complaintId": "TS-2025-0001",
            "complaintCategory": "OVERDUE",
            "complaintDescription": "方案答复后迟迟未安排施工对接",
            "complaintChannel": "95598",
        },
    )
    body = instance(api, instance_id)
    [record] = body["variables"]["linkedComplaints"]
    assert record["complaintId"] == "TS-2025-0001" and record["status"] == "OPEN"
    assert record["category"] == "OVERDUE" and record["channel"] == "95598"
    assert body["variables"]["complaintPriority"] == "HIGH"
    assert inbox(api, "leader", instance_id) == ["B-ES-UT1"]
    assert body["status"] == "active"

    send(
        api,
        "complaint_linked",
        business_key,
        {
            "complaintId": "TS-2025-0002",
            "complaintCategory": "ATTITUDE",
            "complaintDescription": "电话沟通态度生硬",
            "complaintChannel": "APP",
        },
    )
    linked = instance(api, instance_id)["variables"]["linkedComplaints"]
    assert [c["complaintId"] for c in linked] == ["TS-2025-0001", "TS-2025-0002"]
    assert inbox(api, "leader", instance_id) == ["B-ES-UT1"]  # only the overdue one is expedited

    send(
        api,
        "complaint_closed",
        business_key,
        {
            "complaintId": "TS-2025-0001",
            "complaintResolution": "已安排施工对接并致歉",
            "complaintSatisfied": True,
        },
    )
    body = instance(api, instance_id)
    linked = body["variables"]["linkedComplaints"]
    assert [(c["complaintId"], c["status"]) for c in linked] == [
        ("TS-2025-0001", "CLOSED"),
        ("TS-2025-0002", "OPEN"),
    ]
    assert linked[0]["satisfied"] is True
    assert body["variables"]["complaintPriority"] == "NORMAL"

    # The main flow did not notice: it still waits for the construction unit and goes on.
    run_steps(api, instance_id, steps[at_construction:])
    assert instance(api, instance_id)["status"] == "active"  # the expedite task is still open
    [expedite] = open_tasks(api, instance_id, "B-ES-UT1")
    complete(api, expedite, "leader", {})
    final = instance(api, instance_id)
    assert final["status"] == "completed"
    assert "B-EE1" in engine_steps(api, instance_id)
    assert [c["complaintId"] for c in final["variables"]["linkedComplaints"]] == [
        "TS-2025-0001",
        "TS-2025-0002",
    ]


def test_the_power_on_clock_stands_still_while_the_customer_supplies_documents(
    api: Api, clock: Clock
) -> None:
    """Power-on waits for the customer's 补资料 (B-UT01s, the property proof the 承诺书 path
    deferred). That wait is the customer's: B-T-ENERGISE breached and escalated to the service
    centre although the utility was ready; it pauses while B-UT01s is open."""
    steps = steps_of("LV_no_external_works")
    instance_id = start(api, KEY, "LV_no_external_works", "YK-TL-PAUSE-1")
    run_steps(api, instance_id, steps[: until(steps, "B-UT01s")])
    energise = time_limits(api, instance_id)["B-T-ENERGISE"]
    assert energise["status"] == "paused", energise
    # A week later, long past the one working day, the customer brings the proof.
    clock.now = local("2025-10-17T10:00:00")
    assert run_due_timers(api.ctx) == 0
    assert ("time_limit_breached", "B-T-ENERGISE") not in clock_events(api, instance_id)
    run_steps(api, instance_id, steps[until(steps, "B-UT01s") :])
    assert instance(api, instance_id)["status"] == "completed"
    events = clock_events(api, instance_id)
    assert ("time_limit_paused", "B-T-ENERGISE") in events
    assert ("time_limit_resumed", "B-T-ENERGISE") in events
    assert ("time_limit_breached", "B-T-ENERGISE") not in events
    assert time_limits(api, instance_id)["B-T-ENERGISE"]["status"] == "met"
