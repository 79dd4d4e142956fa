"""complaint_fast_track (投诉快速通道, seed 004 §4.2): the recorded paths with the customer-visible
tracking log (问题追踪), the working-day escalations and the unconfirmed auto-close on an injected
clock, a complaint linked to a case that does not wait for it, and the portal following its own
complaint. No test sleeps."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from bpmn_service.services.scheduler import run_due_timers
from clock import Clock, local
from conftest import Api
from process_paths import PROCESSES, load_paths, run_steps

KEY = "complaint_fast_track"
PATHS = load_paths(KEY)
PATH_NAMES = sorted(PATHS["paths"])

# The tracking-log action each step appends (the escalations are internal and append none).
ACTION = {
    "CF-UT1": "首次联系客户",
    "CF-UT2": "分派责任部门",
    "CF-UT3": "核查处理",
    "CF-UT4": "答复客户",
    "CF-RT1": "客户确认",
    "CF-UT5": "回访满意度",
    "CF-UT6": "升级处理",
}


def z(moment: datetime) -> str:
    """How the API writes a UTC instant."""
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def clock(api: Api) -> Clock:
    # Monday 2025-11-10 09:00 Beijing time: an ordinary working week with no holiday near.
    clock = Clock(local("2025-11-10T09:00:00"))
    api.ctx.clock = clock
    response = api.deploy(PROCESSES / f"{KEY}.bpmn")
    assert response.status_code == 201, response.text
    return clock


def file_complaint(api: Api, complaint_id: str, start: str, via: str) -> str:
    """File a complaint with the named start variables: as the customer portal's
    `complaint_filed` message, or over REST by the service centre. Returns the instance id."""
    variables = PATHS["start"][start]
    if via == "message":
        response = api.post(
            "/messages",
            "portal",
            json={
                "message_name": "complaint_filed",
                "business_key": complaint_id,
                "variables": variables,
            },
        )
        assert response.status_code in (200, 201), response.text
        assert response.json()["status"] == "started"
        return str(response.json()["process_instance_id"])
    response = api.start(KEY, complaint_id, variables, user="service")
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def find(api: Api, complaint_id: str, user: str = "admin") -> dict[str, Any]:
    """The complaint's instance as a portal finds it: by process key and complaint id."""
    listed = api.get(
        "/process-instances", user, params={"key": KEY, "business_key": complaint_id}
    ).json()
    assert listed["total"] == 1, listed
    detail: dict[str, Any] = api.get(f"/process-instances/{listed['items'][0]['id']}", user).json()
    return detail


def tracking(api: Api, complaint_id: str, user: str = "admin") -> list[dict[str, Any]]:
    log: list[dict[str, Any]] = find(api, complaint_id, user)["variables"]["trackingLog"]
    return log


def history(api: Api, instance_id: str) -> list[dict[str, Any]]:
    return list(api.get(f"/process-instances/{instance_id}").json()["history"])


def open_elements(api: Api, instance_id: str) -> list[str]:
    return sorted(t["element_id"] for t in api.open_tasks(instance_id))


@pytest.mark.parametrize("path_name", PATH_NAMES)
def test_complaint_runs_with_one_tracking_entry_per_step(
    api: Api, clock: Clock, path_name: str
) -> None:
    complaint_id = f"TS-2025-{path_name}"
    how = PATHS["path_start"][path_name]
    instance_id = file_complaint(api, complaint_id, how["start"], how["via"])
    viewer = "portal" if how["via"] == "message" else "service"
    log = tracking(api, complaint_id, viewer)
    assert [e["action"] for e in log] == ["登记"]
    assert log[0]["at"] == clock.now.isoformat(timespec="seconds")

    steps = PATHS["paths"][path_name]
    for index, step in enumerate(steps):
        clock.now += timedelta(hours=1)
        run_steps(api, instance_id, [step])
        before, log = log, tracking(api, complaint_id)
        assert log[: len(before)] == before, "the log only grows"
        added = [e["action"] for e in log[len(before) :]]
        expected = [ACTION[step[0]]] + (["闭环归档"] if index == len(steps) - 1 else [])
        assert added == expected, (step[0], added)
        assert all(e["at"] == clock.now.isoformat(timespec="seconds") for e in log[len(before) :])

    final = find(api, complaint_id)
    assert final["status"] == "completed" and final["tasks"] == []
    done = [e["element_id"] for e in final["history"] if e["type"] == "task_completed"]
    assert done == [s[0] for s in steps if "_message" not in s[1]]
    variables = final["variables"]
    rounds = sum(1 for s in steps if s[0] == "CF-UT2")
    assert variables["complaintId"] == complaint_id
    assert variables["reopenCount"] == rounds - 1
    assert variables["complaintStatus"] == "CLOSED"
    assert variables["complaintSatisfied"] is ("CF-UT6" not in done)
    assert len(log) == 1 + len(steps) + 1
    # The department chosen at each 分派 did the 核查处理 and is its actor in the log.
    groups = [s[1]["responsibleGroup"] for s in steps if s[0] == "CF-UT2"]
    created = [e for e in final["history"] if e["type"] == "task_created"]
    assert [e["details"]["candidate_groups"] for e in created if e["element_id"] == "CF-UT3"] == [
        [g] for g in groups
    ]
    if "CF-UT6" in done:
        [escalation] = [e for e in created if e["element_id"] == "CF-UT6"]
        assert escalation["details"]["candidate_groups"] == ["leadership"]
        assert [e["action"] for e in log][-3:] == ["回访满意度", "升级处理", "闭环归档"]
    # Nothing was linked: no message thrown to a case.
    assert not [e for e in final["history"] if e["type"].startswith("message_thrown")]


@pytest.mark.usefixtures("clock")
def test_reopened_complaint_goes_back_to_assignment_with_the_customers_comment(api: Api) -> None:
    steps = PATHS["paths"]["reopened_once_then_satisfied"]
    instance_id = file_complaint(api, "TS-2025-REOPEN", "hotline_fees", "rest")
    first_callback = [s[0] for s in steps].index("CF-UT5")
    run_steps(api, instance_id, steps[: first_callback + 1])
    [again] = api.open_tasks(instance_id)
    assert again["element_id"] == "CF-UT2"
    shown = api.get(f"/tasks/{again['id']}", "service").json()["variables"]
    assert shown["reopenCount"] == 1
    assert shown["customerComment"] == "居民新装表箱应由供电公司出资"
    log = tracking(api, "TS-2025-REOPEN")
    assert log[-1]["action"] == "回访满意度" and "重新处理（第 1 次）" in log[-1]["note"]
    run_steps(api, instance_id, steps[first_callback + 1 :])
    final = find(api, "TS-2025-REOPEN")
    assert final["status"] == "completed"
    assert final["variables"]["complaintResolution"] == "收费不当，已全额退还 800 元"
    assert final["variables"]["complaintSatisfied"] is True


def test_first_contact_escalates_one_working_day_later_across_a_weekend(
    api: Api, clock: Clock
) -> None:
    # Filed on Friday 2025-11-14 16:30. One working day after Friday is Monday 11-17 (the weekend
    # does not count), so the first-contact limit ends at Tuesday 11-18 00:00 Beijing time.
    clock.now = local("2025-11-14T16:30:00")
    instance_id = file_complaint(api, "TS-2025-WEEKEND", "app_attitude", "message")
    due = local("2025-11-18T00:00:00")
    [contact] = api.open_tasks(instance_id)
    assert contact["element_id"] == "CF-UT1" and contact["due_at"] == z(due)
    variables = find(api, "TS-2025-WEEKEND")["variables"]
    assert datetime.fromisoformat(variables["firstContactDue"]) == due
    # Resolution: five working days after Friday are 11-17 … 11-21, ending 11-22 00:00.
    assert datetime.fromisoformat(variables["resolutionDue"]) == local("2025-11-22T00:00:00")

    for moment in ("2025-11-15T12:00:00", "2025-11-16T23:00:00", "2025-11-17T19:11:00"):
        clock.now = local(moment)
        assert run_due_timers(api.ctx) == 0
    # The reminder at 80 % of the working day: Monday 19:12; nobody is assigned anything.
    clock.now = local("2025-11-17T23:59:00")
    assert run_due_timers(api.ctx) == 1
    assert [e["type"] for e in history(api, instance_id) if e["type"].startswith("time_")] == [
        "time_limit_started",
        "time_limit_warned",
    ]
    assert api.tasks("leader", process_instance_id=instance_id).json()["total"] == 0

    clock.now = local("2025-11-18T00:00:30")
    assert run_due_timers(api.ctx) == 1
    assert run_due_timers(api.ctx) == 0
    [escalation] = api.tasks("leader", process_instance_id=instance_id).json()["items"]
    assert escalation["element_id"] == "CF-UT9"
    # Non-interrupting: the service centre still has the first contact to make.
    assert open_elements(api, instance_id) == ["CF-UT1", "CF-UT9"]
    fired = [e for e in history(api, instance_id) if e["type"] == "timers_fired"]
    assert len(fired) == 2
    breached = [e for e in history(api, instance_id) if e["type"] == "time_limit_breached"]
    assert [e["details"]["limit_id"] for e in breached] == ["CF-T-CONTACT"]
    assert breached[0]["details"]["due_at"] == due.isoformat()

    run_steps(api, instance_id, [["CF-UT9", {"superviseNote": "请客服中心立即联系客户"}]])
    run_steps(api, instance_id, PATHS["paths"]["happy_confirmed"][:1])
    log = tracking(api, "TS-2025-WEEKEND")
    # 督办 is internal: the customer's log shows the late contact, not the supervision.
    assert [e["action"] for e in log] == ["登记", "首次联系客户"]
    run_steps(api, instance_id, PATHS["paths"]["happy_confirmed"][1:])
    final = find(api, "TS-2025-WEEKEND")
    assert final["status"] == "completed"
    assert final["variables"]["complaintStatus"] == "CLOSED"
    assert len(final["variables"]["trackingLog"]) == 8
    supervised = [e for e in final["history"] if e["type"] == "task_completed"]
    assert [e["element_id"] for e in supervised][:2] == ["CF-UT9", "CF-UT1"]


def test_handling_escalates_to_the_department_head_three_working_days_after_assignment(
    api: Api, clock: Clock
) -> None:
    # Assigned on Tuesday 2025-09-30, the last working day before the 国庆 holiday (10-01 to
    # 10-08). Three working days after it are 10-09, 10-10 and the make-up Saturday 10-11, so the
    # handling limit ends at 10-12 00:00 Beijing time.
    clock.now = local("2025-09-30T09:00:00")
    instance_id = file_complaint(api, "TS-2025-HOLIDAY", "hotline_fees", "rest")
    steps = PATHS["paths"]["happy_confirmed"]
    clock.now = local("2025-09-30T10:00:00")
    run_steps(api, instance_id, steps[:2])
    [handling] = api.open_tasks(instance_id)
    assert handling["element_id"] == "CF-UT3" and handling["candidate_groups"] == [
        "customer_manager"
    ]
    assert handling["due_at"] == z(local("2025-10-12T00:00:00"))

    # The reminder at 80 % (2.4 working days: 10-11 09:36) assigns nobody anything.
    clock.now = local("2025-10-11T09:35:00")
    assert run_due_timers(api.ctx) == 0
    clock.now = local("2025-10-11T23:59:00")
    assert run_due_timers(api.ctx) == 1
    assert api.tasks("leader", process_instance_id=instance_id).json()["total"] == 0
    clock.now = local("2025-10-12T00:00:01")
    assert run_due_timers(api.ctx) == 1
    assert open_elements(api, instance_id) == ["CF-UT3", "CF-UT9"]
    [head] = api.tasks("leader", process_instance_id=instance_id).json()["items"]
    assert head["element_id"] == "CF-UT9"
    shown = api.get(f"/tasks/{head['id']}", "leader").json()["variables"]
    assert shown["responsibleDept"] == "客户经理"
    assert shown["timeLimitName"] == "投诉核查处理"

    # The department finishes first: the handling clock stops and the supervision task, not
    # done yet, is withdrawn; the complaint runs on.
    run_steps(api, instance_id, steps[2:3])
    assert open_elements(api, instance_id) == ["CF-UT4"]
    run_steps(api, instance_id, steps[3:])
    final = find(api, "TS-2025-HOLIDAY")
    assert final["status"] == "completed" and final["tasks"] == []
    cancelled = [e for e in final["history"] if e["type"] == "task_cancelled"]
    assert [e["element_id"] for e in cancelled] == ["CF-UT9"]
    variables = final["variables"]
    assert variables["complaintStatus"] == "CLOSED"
    assert [e["action"] for e in variables["trackingLog"]][-2:] == ["回访满意度", "闭环归档"]
    # Replied on Sunday 10-12: 3 working days (10-09, 10-10, 10-11) after the complaint.
    assert variables["replyWorkingDays"] == 3.0 and variables["replyInTime"] is True


def test_unconfirmed_reply_is_closed_three_working_days_later(api: Api, clock: Clock) -> None:
    clock.now = local("2025-11-17T09:00:00")
    instance_id = file_complaint(api, "TS-2025-SILENT", "app_attitude", "message")
    steps = PATHS["paths"]["happy_confirmed"]
    run_steps(api, instance_id, steps[:3])
    # Replied on Thursday 2025-11-20 15:00: three working days are 11-21, 11-24 and 11-25.
    clock.now = local("2025-11-20T15:00:00")
    run_steps(api, instance_id, steps[3:4])
    assert open_elements(api, instance_id) == []
    variables = find(api, "TS-2025-SILENT")["variables"]
    assert datetime.fromisoformat(variables["confirmDue"]) == local("2025-11-26T00:00:00")
    assert variables["replyInTime"] is True

    clock.now = local("2025-11-25T23:59:00")
    assert run_due_timers(api.ctx) == 0
    assert find(api, "TS-2025-SILENT")["status"] == "active"
    clock.now = local("2025-11-26T00:00:01")
    assert run_due_timers(api.ctx) == 1

    final = find(api, "TS-2025-SILENT")
    assert final["status"] == "completed"
    variables = final["variables"]
    assert variables["customerSatisfied"] is None and variables["complaintSatisfied"] is None
    assert variables["complaintStatus"] == "CLOSED"
    assert [e["action"] for e in variables["trackingLog"]][-2:] == ["未回复自动结案", "闭环归档"]
    assert variables["trackingLog"][-1]["note"] == "客户未回复，按未回复结案"
    done = [e["element_id"] for e in final["history"] if e["type"] == "task_completed"]
    assert "CF-UT5" not in done
    # A confirmation after the auto-close finds no complaint to deliver to.
    late = api.post(
        "/messages",
        "portal",
        json={
            "message_name": "complaint_confirmed",
            "business_key": "TS-2025-SILENT",
            "variables": {"customerSatisfied": True},
        },
    )
    assert late.status_code == 404


@pytest.mark.usefixtures("clock")
def test_linked_complaint_runs_when_no_case_waits_for_it(api: Api) -> None:
    instance_id = file_complaint(api, "TS-2025-LINKED", "nea_overdue_linked", "rest")
    events = history(api, instance_id)
    [thrown] = [e for e in events if e["type"] == "message_thrown"]
    assert thrown["element_id"] == "CF-IT1"
    assert thrown["details"] == {"message": "complaint_linked", "business_key": "YK-2025-000321"}
    [undeliverable] = [e for e in events if e["type"] == "message_undeliverable"]
    assert undeliverable["element_id"] == "CF-IT1"
    assert undeliverable["details"]["message"] == "complaint_linked"
    # The complaint carries on.
    assert open_elements(api, instance_id) == ["CF-UT1"]
    log = tracking(api, "TS-2025-LINKED")
    assert "关联业扩申请 YK-2025-000321" in log[0]["note"]

    run_steps(api, instance_id, PATHS["paths"]["happy_confirmed"])
    final = find(api, "TS-2025-LINKED")
    assert final["status"] == "completed"
    thrown_all = [e for e in final["history"] if e["type"] == "message_thrown"]
    assert [(e["element_id"], e["details"]["message"]) for e in thrown_all] == [
        ("CF-IT1", "complaint_linked"),
        ("CF-IT2", "complaint_closed"),
    ]
    undeliverable_all = [e for e in final["history"] if e["type"] == "message_undeliverable"]
    assert [e["element_id"] for e in undeliverable_all] == ["CF-IT1", "CF-IT2"]


@pytest.mark.usefixtures("clock")
def test_portal_follows_the_complaint_it_filed_and_only_that(api: Api) -> None:
    file_complaint(api, "TS-2025-MINE", "app_attitude", "message")
    other = file_complaint(api, "TS-2025-HOTLINE", "hotline_fees", "rest")

    listed = api.get("/process-instances", "portal", params={"key": KEY}).json()
    assert [i["business_key"] for i in listed["items"]] == ["TS-2025-MINE"]
    mine = find(api, "TS-2025-MINE", "portal")
    assert mine["started_by"] == "portal"
    assert mine["variables"]["initiator"] == "portal"
    assert [e["action"] for e in mine["variables"]["trackingLog"]] == ["登记"]
    # Someone else's complaint (filed at the 95598 hotline) is not visible to this portal user.
    assert api.get(f"/process-instances/{other}", "portal").status_code == 404
    hidden = api.get(
        "/process-instances", "portal", params={"key": KEY, "business_key": "TS-2025-HOTLINE"}
    ).json()
    assert hidden["total"] == 0

    instance_id = mine["id"]
    # The customer cannot see or work the utility's tasks.
    assert api.tasks("portal", process_instance_id=instance_id).json()["total"] == 0
    steps = PATHS["paths"]["happy_confirmed"]
    run_steps(api, instance_id, steps[:4])
    # The portal sees the reply in the log and confirms it as the customer.
    log = tracking(api, "TS-2025-MINE", "portal")
    assert log[-1]["action"] == "答复客户"
    assert log[-1]["note"] == steps[3][1]["complaintResolution"]
    run_steps(api, instance_id, steps[4:])
    final = find(api, "TS-2025-MINE", "portal")
    assert final["status"] == "completed"
    assert [e["action"] for e in final["variables"]["trackingLog"]] == [
        "登记",
        "首次联系客户",
        "分派责任部门",
        "核查处理",
        "答复客户",
        "客户确认",
        "回访满意度",
        "闭环归档",
    ]


def test_tracking_log_is_current_while_an_escalation_is_open(api: Api, clock: Clock) -> None:
    clock.now = local("2025-11-14T16:30:00")
    instance_id = file_complaint(api, "TS-2025-STALE", "app_attitude", "message")
    clock.now = local("2025-11-18T00:00:30")
    assert run_due_timers(api.ctx) == 1
    run_steps(api, instance_id, PATHS["paths"]["happy_confirmed"][:2])
    variables = find(api, "TS-2025-STALE")["variables"]
    assert [e["action"] for e in variables["trackingLog"]] == [
        "登记",
        "首次联系客户",
        "分派责任部门",
    ]
    assert variables["complaintStatus"] == "ASSIGNED"
