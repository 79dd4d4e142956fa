"""yekuo_current (现行业扩报装): time limits (时限制约), plan validity and customer messages,
through the API on an injected clock. No test sleeps; timers fire through run_due_timers.

The expected instants are worked out by hand from config/calendar.toml (2025): 09-27 (Sat) off,
09-28 (Sun) a make-up working day, 10-01 to 10-08 the National Day / Mid-Autumn holiday, 10-11 (Sat)
a make-up working day. A limit of N working days for something received on day D ends at midnight
(Beijing time) after the Nth working day after D.
"""

from __future__ import annotations

import dataclasses
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


def time_limits(api: Api, instance_id: str) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = api.get(f"/process-instances/{instance_id}/time-limits").json()
    return body


def clock_events(api: Api, instance_id: str) -> list[tuple[str, str]]:
    return [
        (e["type"], e["details"]["limit_id"])
        for e in instance(api, instance_id)["history"]
        if e["type"].startswith("time_limit_")
    ]


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
    [scheme] = time_limits(api, hv)
    assert scheme["limit_id"] == "A-T-SCHEME" and scheme["status"] == "running"
    assert scheme["limit_days"] == 20 and scheme["regime"] == "SERC2009 v2009"
    assert scheme["started_at"] == api_time(HV_ACCEPTED)
    assert scheme["warn_at"] == api_time(HV_REMIND) and scheme["due_at"] == api_time(HV_DUE)
    assert {"A-UT02", "A-UT05b", "A-UT07", "A-UT03r", "A-UT04r"} <= set(scheme["element_ids"])
    assert not {"A-UT01", "A-UT07b", "C-UT02"} & set(scheme["element_ids"])

    # 80 %: nothing one second before the end of Fri 10-24, the reminder one second after.
    clock.now = local(HV_REMIND) - timedelta(seconds=1)
    assert run_due_timers(api.ctx) == 0
    assert clock_events(api, hv) == [("time_limit_started", "A-T-SCHEME")]
    clock.now = local(HV_REMIND) + timedelta(seconds=1)
    assert run_due_timers(api.ctx) == 1
    assert clock_events(api, hv)[-1] == ("time_limit_warned", "A-T-SCHEME")
    assert leader_tasks(api, hv) == []
    assert open_elements(api, hv) == ["A-UT05b"]  # the reminder interrupts nothing

    # 100 %: nothing one second before the end of Thu 10-30 (across the weekend of 10-25/26).
    clock.now = local(HV_DUE) - timedelta(seconds=1)
    assert run_due_timers(api.ctx) == 0
    assert leader_tasks(api, hv) == []
    clock.now = local(HV_DUE) + timedelta(seconds=1)
    assert run_due_timers(api.ctx) == 1
    [escalation] = leader_tasks(api, hv)
    assert escalation["element_id"] == "A-UT19"
    assert escalation["name"] == "超时督办"
    assert escalation["candidate_groups"] == ["leadership"]
    assert escalation["due_at"] == api_time(HV_DUE)
    assert open_elements(api, hv) == ["A-UT05b", "A-UT19"]  # the late review is still open
    assert clock_events(api, hv)[-1] == ("time_limit_breached", "A-T-SCHEME")
    [breached] = time_limits(api, hv)
    assert breached["status"] == "breached" and breached["escalated_to"] == ["leadership"]
    assert breached["breached_at"] == (local(HV_DUE) + timedelta(seconds=1)).isoformat().replace(
        "+00:00", "Z"
    )
    assert run_due_timers(api.ctx) == 0  # each instant fires once

    detail = api.get(f"/tasks/{escalation['id']}", "leader").json()
    assert detail["variables"]["timeLimitName"] == "供电方案答复"
    assert detail["variables"]["timeLimitDue"] == iso_utc(HV_DUE)
    assert detail["variables"]["timeLimitStart"] == iso_utc(HV_ACCEPTED)
    assert api.claim(escalation["id"], "leader").status_code == 200
    done = api.complete(escalation["id"], "leader", {"escalationAction": "责成运检部当日审核"})
    assert done.status_code == 200, done.text

    # The case then runs to power-on; the record keeps the reminder and the breach.
    clock.now = local("2025-11-03T10:00:00")
    run_steps(api, hv, rest)
    final = instance(api, hv)
    assert final["status"] == "completed" and final["tasks"] == []
    assert final["variables"]["escalationAction"] == "责成运检部当日审核"
    # Values set after the escalation was created are not overwritten by its branch.
    assert final["variables"]["approvalDecision"] == "APPROVE"
    assert final["variables"]["omReviewDecision"] == "APPROVE"
    scheme = time_limits(api, hv)[0]
    assert scheme["status"] == "breached"
    assert scheme["stopped_at"] == api_time("2025-11-03T10:00:00")
    assert {c["limit_id"] for c in time_limits(api, hv)} == {
        "A-T-SCHEME",
        "A-T-DESIGN",
        "A-T-MID",
        "A-T-COMPL",
        "A-T-METER",
    }


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
    [scheme] = time_limits(api, hv)  # the scheme clock stopped at the reply
    assert scheme["status"] == "met"
    assert scheme["stopped_at"] == api_time("2025-10-24T17:00:00")

    # Long after both instants (but within the plan's one-year validity): nothing fires.
    clock.now = local("2026-03-31T12:00:00")
    assert run_due_timers(api.ctx) == 0
    assert clock_events(api, hv) == [
        ("time_limit_started", "A-T-SCHEME"),
        ("time_limit_stopped", "A-T-SCHEME"),
    ]
    assert leader_tasks(api, hv) == []
    assert instance(api, hv)["status"] == "active"


def test_escalation_closes_itself_when_the_late_reply_is_made(api: Api, clock: Clock) -> None:
    lv = start(api, KEY, "LV_happy_no_concealed_works", "YK-SLA-LV-CLOSE")
    plan_stage, _ = split_at("LV_happy_no_concealed_works", "C-UT02")
    clock.now = local("2025-09-30T10:00:00")
    run_steps(api, lv, plan_stage[:2])  # accepted; A-UT02 done, the survey A-UT03 is open
    # LV: 8 working days after 09-30 are 10-09, 10-10, 10-11 (make-up), 10-13..10-17: the
    # limit ends at 10-18 00:00.
    clock.now = local("2025-10-18T00:00:01")
    assert run_due_timers(api.ctx) == 1  # the 80 % and 100 % instants: one instance, one run
    assert [t for t, _ in clock_events(api, lv)][-2:] == [
        "time_limit_warned",
        "time_limit_breached",
    ]
    [escalation] = leader_tasks(api, lv)
    assert escalation["due_at"] == api_time("2025-10-18T00:00:00")
    run_steps(api, lv, plan_stage[2:])
    assert leader_tasks(api, lv) == []
    cancelled = [
        e
        for e in instance(api, lv)["history"]
        if e["type"] == "task_cancelled" and e["element_id"] == "A-UT19"
    ]
    assert len(cancelled) == 1
    assert open_elements(api, lv) == ["C-UT02"]


def test_an_objection_starts_a_new_plan_reply_round(api: Api, clock: Clock) -> None:
    """The reply stops A-T-SCHEME; the negotiated revision (协商修改) is a new round up to the
    next reply, as in yekuo_streamlined (B-T-PLAN), so both measure the same thing."""
    path = "LV_plan_objected_by_customer"
    lv = start(api, KEY, path, "YK-SLA-LV-OBJECT")
    steps = steps_of(path)
    names = [s[0] for s in steps]
    negotiation = names.index("A-UT07b")
    clock.now = local("2025-09-30T10:00:00")
    run_steps(api, lv, steps[:negotiation])  # accepted … first reply (the customer objects)
    clock.now = local("2025-10-09T10:00:00")
    run_steps(api, lv, steps[negotiation : negotiation + 1])
    first, second = time_limits(api, lv)
    assert first["status"] == "met" and first["stopped_at"] == api_time("2025-09-30T10:00:00")
    assert second["status"] == "running"
    assert second["started_at"] == api_time("2025-10-09T10:00:00")
    # 8 working days after 10-09: 10-10, 10-11, 10-13 .. 10-17, 10-20: ends 10-21 00:00.
    assert second["due_at"] == api_time("2025-10-21T00:00:00")


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


def test_the_intermediate_inspection_limit_ends_when_the_inspection_starts(
    api: Api, clock: Clock
) -> None:
    """《供电监管办法》 measures 中间检查 from the customer's request to the inspection's start-up:
    A-T-MID stops when an inspector takes up A-UT11 (claims it), not when the result is in."""
    path = "HV_S_happy_concealed_works"
    hv = start(api, KEY, path, "YK-SLA-HV-MID")
    before, rest = split_at(path, "A-UT11")
    clock.now = local("2025-10-13T10:00:00")
    run_steps(api, hv, before)  # … the customer asks for the intermediate inspection (C-UT06)
    mid = [c for c in time_limits(api, hv) if c["limit_id"] == "A-T-MID"]
    assert [c["status"] for c in mid] == ["running"]
    [inspection] = api.open_tasks(hv)
    assert inspection["element_id"] == "A-UT11"
    # HV: 5 working days after Mon 10-13 are 10-14 .. 10-17 and 10-20: ends 10-21 00:00.
    assert inspection["due_at"] == api_time("2025-10-21T00:00:00")

    clock.now = local("2025-10-15T09:00:00")
    assert api.claim(inspection["id"], "inspector").status_code == 200
    [mid_clock] = [c for c in time_limits(api, hv) if c["limit_id"] == "A-T-MID"]
    assert mid_clock["status"] == "met"
    assert mid_clock["stopped_at"] == api_time("2025-10-15T09:00:00")

    # The inspection itself takes longer than the limit: nothing is escalated for it.
    clock.now = local("2025-10-22T10:00:00")
    assert run_due_timers(api.ctx) == 0
    run_steps(api, hv, rest[:1])
    assert leader_tasks(api, hv) == []
    [mid_clock] = [c for c in time_limits(api, hv) if c["limit_id"] == "A-T-MID"]
    assert mid_clock["stopped_at"] == api_time("2025-10-15T09:00:00")


def test_a_deadline_in_a_year_the_calendar_does_not_cover_says_so(
    api: Api, clock: Clock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Holidays are known per year (the package, the calendar file); a deadline running into a
    year neither gives counted its holidays as working days, and nobody was told."""
    known = dataclasses.replace(api.ctx.calendar, years=frozenset({2025}))
    monkeypatch.setattr(api.ctx, "calendar", known)
    clock.now = local("2025-12-19T10:00:00")
    instance_id = start(api, KEY, "HV_S_happy_concealed_works", "YK-CAL-1")
    before, _rest = split_at("HV_S_happy_concealed_works", "A-UT02")
    run_steps(api, instance_id, before)
    started = [
        e["details"]
        for e in instance(api, instance_id)["history"]
        if e["type"] == "time_limit_started"
    ]
    assert started and all(d.get("calendar_unknown_years") == [2026] for d in started), started
    assert "does not cover: its deadline counts Monday to Friday there" in caplog.text
