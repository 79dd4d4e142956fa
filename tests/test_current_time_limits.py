"""yekuo_current (现行业扩报装): time limits (时限制约), plan validity and customer messages,
through the API on an injected clock. No test sleeps; timers fire through run_due_timers.

The expected instants are worked out by hand from config/calendar.toml (2025): 09-27 (Sat) off,
09-28 (Sun) a make-up working day, 10-01 to 10-08 the National Day / Mid-Autumn holiday, 10-11 (Sat)
a make-up working day. A limit of N working days for something received on day D ends at midnight
(Beijing time) after the Nth working day after D.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bpmn_service.services.scheduler import run_due_timers
from clock import Clock, api_time, local
from conftest import Api
from process_paths import PROCESSES, load_paths, run_steps, start

KEY = "yekuo_current"

# HV_S plan reply (A-T-SCHEME, SERC2009: 20 working days), accepted Fri 2025-09-26 10:00 Beijing.
# Working days after 09-26: 09-28 (make-up Sun) 1, 09-29 2, 09-30 3, [10-01..10-08 holiday],
# 10-09 4, 10-10 5, 10-11 (make-up Sat) 6, 10-13..10-17 7-11, 10-20..10-24 12-16,
# 10-27..10-30 17-20.
HV_ACCEPTED = "2025-09-26T10:00:00"
HV_REMIND = "2025-10-25T00:00:00"  # 80 % = 16 working days: the end of Fri 10-24
HV_DUE = "2025-10-31T00:00:00"  # 100 % = 20 working days: the end of Thu 10-30


def iso_utc(text: str) -> str:
    """A Beijing wall-clock reading as the model's functions write it (UTC, '+00:00')."""
    return local(text).isoformat()


@pytest.fixture
def clock(api: Api) -> Clock:
    clock = Clock(local("2025-09-26T09:30:00"))
    api.ctx.clock = clock
    response = api.deploy(PROCESSES / f"{KEY}.bpmn")
    assert response.status_code == 201, response.text
    return clock


def steps_of(path: str) -> list[list[Any]]:
    return [list(s) for s in load_paths(KEY)["paths"][path]]


def split_at(path: str, element: str) -> tuple[list[list[Any]], list[list[Any]]]:
    """The path's steps before the first step of `element`, and the rest."""
    steps = steps_of(path)
    at = [s[0] for s in steps].index(element)
    return steps[:at], steps[at:]


def instance(api: Api, instance_id: str) -> dict[str, Any]:
    body: dict[str, Any] = api.get(f"/process-instances/{instance_id}").json()
    return body


def engine_steps(api: Api, instance_id: str) -> list[str]:
    return [
        e["element_id"] for e in instance(api, instance_id)["history"] if e["type"] == "engine_step"
    ]


def open_elements(api: Api, instance_id: str) -> list[str]:
    return sorted(t["element_id"] for t in api.open_tasks(instance_id))


def leader_tasks(api: Api, instance_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.tasks("leader", process_instance_id=instance_id).json()[
        "items"
    ]
    return items


def test_late_plan_reply_is_reminded_at_80_and_escalated_at_100_percent(
    api: Api, clock: Clock
) -> None:
    hv = start(api, KEY, "HV_S_happy_concealed_works", "YK-SLA-HV-LATE")
    plan_stage, rest = split_at("HV_S_happy_concealed_works", "A-UT05b")
    clock.now = local(HV_ACCEPTED)
    run_steps(api, hv, plan_stage[:1])  # A-UT01: documents complete, the application is accepted
    clock.now = local("2025-10-09T15:00:00")
    run_steps(api, hv, plan_stage[1:])  # survey, plan, development-planning review
    assert open_elements(api, hv) == ["A-UT05b"]

    # 80 %: nothing one second before the end of Fri 10-24, the reminder one second after.
    clock.now = local(HV_REMIND) - timedelta(seconds=1)
    assert run_due_timers(api.ctx) == 0
    assert "A-ST11" not in engine_steps(api, hv)
    clock.now = local(HV_REMIND) + timedelta(seconds=1)
    assert run_due_timers(api.ctx) == 1
    fired = engine_steps(api, hv)
    assert fired.count("A-T-SCHEME-80") == 1 and fired.count("A-ST11") == 1
    assert leader_tasks(api, hv) == []
    assert open_elements(api, hv) == ["A-UT05b"]  # the reminder interrupts nothing

    # 100 %: nothing one second before the end of Thu 10-30 (across the weekend of 10-25/26).
    clock.now = local(HV_DUE) - timedelta(seconds=1)
    assert run_due_timers(api.ctx) == 0
    assert leader_tasks(api, hv) == []
    clock.now = local(HV_DUE) + timedelta(seconds=1)
    assert run_due_timers(api.ctx) == 1
    [escalation] = leader_tasks(api, hv)
    assert escalation["element_id"] == "A-UT19a"
    assert escalation["name"] == "方案答复超时督办"
    assert escalation["candidate_groups"] == ["leadership"]
    assert escalation["lane"] == "营销部主任/分管领导"
    assert escalation["due_at"] == api_time(HV_DUE)
    assert open_elements(api, hv) == ["A-UT05b", "A-UT19a"]  # the late review is still open
    assert engine_steps(api, hv).count("A-ST12") == 1
    assert instance(api, hv)["variables"]["slaBreach"]["A-T-SCHEME"]["due"] == iso_utc(HV_DUE)
    assert run_due_timers(api.ctx) == 0  # each timer fires once

    detail = api.get(f"/tasks/{escalation['id']}", "leader").json()
    assert detail["variables"]["schemeDue"] == iso_utc(HV_DUE)
    assert detail["variables"]["schemeStart"] == iso_utc(HV_ACCEPTED)
    assert api.claim(escalation["id"], "leader").status_code == 200
    done = api.complete(
        escalation["id"], "leader", {"schemeEscalationAction": "责成运检部当日审核"}
    )
    assert done.status_code == 200, done.text

    # The case then runs to power-on; the record keeps the reminder and the breach.
    clock.now = local("2025-11-03T10:00:00")
    run_steps(api, hv, rest)
    final = instance(api, hv)
    assert final["status"] == "completed" and final["tasks"] == []
    variables = final["variables"]
    assert variables["slaLog"] == {
        "A-T-SCHEME": {
            "level": "80%",
            "limitDays": 20,
            "clockStart": iso_utc(HV_ACCEPTED),
            "remindAt": iso_utc(HV_REMIND),
            "due": iso_utc(HV_DUE),
            "recordedAt": (local(HV_REMIND) + timedelta(seconds=1)).isoformat(),
        }
    }
    assert variables["slaBreach"] == {
        "A-T-SCHEME": {
            "limitDays": 20,
            "clockStart": iso_utc(HV_ACCEPTED),
            "due": iso_utc(HV_DUE),
            "detectedAt": (local(HV_DUE) + timedelta(seconds=1)).isoformat(),
            "escalatedTo": "leadership",
        }
    }
    assert variables["schemeEscalationAction"] == "责成运检部当日审核"
    # Values set after the escalation was created are not overwritten by its branch.
    assert variables["approvalDecision"] == "APPROVE"
    assert variables["omReviewDecision"] == "APPROVE"


def test_plan_reply_in_time_gets_neither_and_plan_tasks_are_due_at_the_scheme_deadline(
    api: Api, clock: Clock
) -> None:
    hv = start(api, KEY, "HV_S_happy_concealed_works", "YK-SLA-HV-INTIME")
    plan_stage, _ = split_at("HV_S_happy_concealed_works", "C-UT02")
    clock.now = local(HV_ACCEPTED)
    run_steps(api, hv, plan_stage[:1])
    clock.now = local("2025-10-24T17:00:00")  # the last working day before the reminder
    due_dates = {}
    for step in plan_stage[1:]:
        [task] = api.open_tasks(hv)
        assert task["element_id"] == step[0]
        due_dates[task["element_id"]] = task["due_at"]
        run_steps(api, hv, [step])
    # Every plan-stage task, from the survey to the reply, is due when A-T-SCHEME ends.
    plan_tasks = ["A-UT02", "A-UT03", "A-UT04", "A-UT05a", "A-UT05b", "A-UT05c", "A-UT06"]
    assert list(due_dates) == [*plan_tasks, "A-UT07"]
    assert set(due_dates.values()) == {api_time(HV_DUE)}
    assert open_elements(api, hv) == ["C-UT02"]
    assert "A-EE10" in engine_steps(api, hv)  # the scheme clock stopped at the reply

    # Long after both instants (but within the plan's one-year validity): nothing fires.
    clock.now = local("2026-03-31T12:00:00")
    assert run_due_timers(api.ctx) == 0
    fired = engine_steps(api, hv)
    assert not {"A-T-SCHEME-80", "A-T-SCHEME-100", "A-ST11", "A-ST12"} & set(fired)
    assert leader_tasks(api, hv) == []
    body = instance(api, hv)
    assert body["status"] == "active" and "slaBreach" not in body["variables"]


def test_escalation_closes_itself_when_the_late_reply_is_made(api: Api, clock: Clock) -> None:
    lv = start(api, KEY, "LV_happy_no_concealed_works", "YK-SLA-LV-CLOSE")
    plan_stage, _ = split_at("LV_happy_no_concealed_works", "C-UT02")
    clock.now = local("2025-09-30T10:00:00")
    run_steps(api, lv, plan_stage[:2])  # accepted; A-UT02 done, the survey A-UT03 is open
    # LV: 8 working days after 09-30 are 10-09, 10-10, 10-11 (make-up), 10-13..10-17: the
    # limit ends at 10-18 00:00.
    clock.now = local("2025-10-18T00:00:01")
    assert run_due_timers(api.ctx) == 1  # the 80 % and 100 % timers: one instance, one run
    assert {"A-ST11", "A-ST12"} <= set(engine_steps(api, lv))
    [escalation] = leader_tasks(api, lv)
    assert escalation["due_at"] == api_time("2025-10-18T00:00:00")
    run_steps(api, lv, plan_stage[2:])
    assert leader_tasks(api, lv) == []
    cancelled = [
        e
        for e in instance(api, lv)["history"]
        if e["type"] == "task_cancelled" and e["element_id"] == "A-UT19a"
    ]
    assert len(cancelled) == 1
    assert open_elements(api, lv) == ["C-UT02"]


def test_plan_validity_closes_an_abandoned_lv_application_after_three_months(
    api: Api, clock: Clock
) -> None:
    lv = start(api, KEY, "LV_happy_no_concealed_works", "YK-SLA-LV-EXPIRE")
    plan_stage, _ = split_at("LV_happy_no_concealed_works", "C-UT02")
    # The reply is made and accepted on Tue 2025-09-30 10:00 Beijing; the LV plan is valid for
    # three calendar months: until Tue 2025-12-30 10:00 Beijing.
    clock.now = local("2025-09-30T10:00:00")
    run_steps(api, lv, plan_stage)
    assert open_elements(api, lv) == ["C-UT02"]

    clock.now = local("2025-12-30T09:59:00")
    assert run_due_timers(api.ctx) == 0
    body = instance(api, lv)
    assert body["status"] == "active"
    assert [t["element_id"] for t in body["tasks"]] == ["C-UT02"]

    clock.now = local("2025-12-30T10:01:00")
    assert run_due_timers(api.ctx) == 1
    body = instance(api, lv)
    assert body["status"] == "completed"
    assert body["tasks"] == []
    assert api.tasks("portal", process_instance_id=lv).json()["total"] == 0
    fired = engine_steps(api, lv)
    assert "A-T-VALID" in fired and "A-EE-EXPIRED" in fired and "A-EE1" not in fired
    assert any(
        e["type"] == "task_cancelled" and e["element_id"] == "C-UT02" for e in body["history"]
    )


def test_documents_supplemented_before_the_instance_waits_is_delivered_when_it_does(
    api: Api, clock: Clock
) -> None:
    lv = start(api, KEY, "LV_documents_incomplete", "YK-SLA-LV-DOCS")
    steps = steps_of("LV_documents_incomplete")
    assert [s[0] for s in steps[:4]] == ["A-UT01", "A-UT01b", "C-ME01", "A-UT01"]
    run_steps(api, lv, steps[:1])  # documents incomplete: the correction notice is open
    assert open_elements(api, lv) == ["A-UT01b"]

    message = {
        "message_name": "documents_supplemented",
        "business_key": "YK-SLA-LV-DOCS",
        "variables": {"supplementDescription": "已提交租赁协议", "supplementedAt": "2025-09-27"},
        "message_id": "portal-docs-0001",
    }
    early = api.post("/messages", "portal", json=message)
    assert early.status_code == 202, early.text
    assert early.json()["status"] == "buffered"
    assert instance(api, lv)["variables"]["supplementDescription"] is None  # not delivered yet

    clock.now = local("2025-09-26T11:00:00")
    run_steps(api, lv, steps[1:2])  # A-UT01b: the notice is issued, the instance now waits
    body = instance(api, lv)
    received = [e for e in body["history"] if e["type"] == "message_received"]
    assert len(received) == 1
    assert received[0]["details"]["message"] == "documents_supplemented"
    assert "buffered_since" in received[0]["details"]
    assert body["variables"]["supplementDescription"] == "已提交租赁协议"
    assert [t["element_id"] for t in body["tasks"]] == ["A-UT01"]  # back to acceptance
    replay = api.post("/messages", "portal", json=message)
    assert replay.json()["replayed"] is True
    assert len([e for e in instance(api, lv)["history"] if e["type"] == "message_received"]) == 1
