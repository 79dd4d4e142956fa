"""Time limits declared with extension properties (timeLimit.start / stop / pause), run by the
service on the working-day calendar: due dates, the 80 % reminder, the breach and its escalation
task, pauses for the customer, and GET /process-instances/{id}/time-limits. On an injected clock.

config/calendar.toml, 2025: 10-01..10-08 National Day holiday, Sat 10-11 a make-up working day.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bpmn_service.services.limit_checks import declaration_problems
from bpmn_service.services.scheduler import run_due_timers
from bpmn_service.timelimits import TimeLimits
from clock import Clock, api_time, local
from conftest import DATA, ROOT, Api
from limits_demo import KEY, demo_time_limits


@pytest.fixture
def clock(api: Api) -> Clock:
    clock = Clock(local("2025-09-30T10:00:00"))
    api.ctx.clock = clock
    api.ctx.time_limits = demo_time_limits()
    response = api.deploy(DATA / "declared_limit.bpmn")
    assert response.status_code == 201, response.text
    return clock


def started(api: Api, category: str = "LV") -> str:
    response = api.start(KEY, f"DL-{category}-{id(api)}", {"customerCategory": category})
    assert response.status_code == 201, response.text
    instance_id: str = response.json()["id"]
    return instance_id


def do(api: Api, instance_id: str, element: str, user: str, values: dict[str, Any]) -> None:
    [task] = [t for t in api.open_tasks(instance_id) if t["element_id"] == element]
    assert api.claim(task["id"], user).status_code == 200
    response = api.complete(task["id"], user, values)
    assert response.status_code == 200, response.text


def limits(api: Api, instance_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/process-instances/{instance_id}/time-limits")
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def events(api: Api, instance_id: str) -> list[str]:
    history = api.get(f"/process-instances/{instance_id}").json()["history"]
    return [e["type"] for e in history if e["type"].startswith("time_limit")]


def test_a_declared_limit_reminds_breaches_escalates_and_withdraws(api: Api, clock: Clock) -> None:
    case = started(api)
    do(api, case, "accept", "clerk", {})  # the clock starts: Tue 09-30 10:00
    # LV 8 working days: 10-09, 10-10, 10-11 (make-up), 10-13..10-17: ends 10-18 00:00.
    # 80 % = 6.4 days: 10-09 .. 10-15 are 6, plus 0.4 of 10-16: 10-16 09:36.
    [survey] = api.open_tasks(case)
    assert survey["due_at"] == api_time("2025-10-18T00:00:00")
    [running] = limits(api, case)
    assert running["status"] == "running" and running["name"] == "方案答复"
    assert running["due_at"] == api_time("2025-10-18T00:00:00")
    assert running["warn_at"] == api_time("2025-10-16T09:36:00")
    assert running["element_ids"] == ["customerAnswers", "objected", "reply", "survey"]

    clock.now = local("2025-10-16T09:35:59")
    assert run_due_timers(api.ctx) == 0
    clock.now = local("2025-10-16T09:36:01")
    assert run_due_timers(api.ctx) == 1
    assert events(api, case) == ["time_limit_started", "time_limit_warned"]
    assert api.tasks("leader", process_instance_id=case).json()["total"] == 0
    assert run_due_timers(api.ctx) == 0  # the reminder fires once

    clock.now = local("2025-10-17T23:59:59")
    assert run_due_timers(api.ctx) == 0
    clock.now = local("2025-10-18T00:00:01")
    assert run_due_timers(api.ctx) == 1
    [escalation] = api.tasks("leader", process_instance_id=case).json()["items"]
    assert escalation["element_id"] == "supervise"
    assert escalation["candidate_groups"] == ["leadership"]
    assert escalation["due_at"] == api_time("2025-10-18T00:00:00")
    shown = api.get(f"/tasks/{escalation['id']}", "leader").json()["variables"]
    assert shown["timeLimitId"] == "X-T-REPLY" and shown["timeLimitDays"] == 8
    [breached] = limits(api, case)
    assert breached["status"] == "breached" and breached["stopped_at"] is None
    assert breached["escalation_task_id"] == escalation["id"]
    assert run_due_timers(api.ctx) == 0

    # The late reply stops the clock; the open escalation is withdrawn.
    clock.now = local("2025-10-20T10:00:00")
    do(api, case, "survey", "clerk", {"objection": False})
    do(api, case, "reply", "clerk", {})
    body = api.get(f"/process-instances/{case}").json()
    assert body["status"] == "completed"
    assert [e["element_id"] for e in body["history"] if e["type"] == "task_cancelled"] == [
        "supervise"
    ]
    [stopped] = limits(api, case)
    assert stopped["status"] == "breached"
    assert stopped["stopped_at"] == api_time("2025-10-20T10:00:00")


def test_the_clock_stands_still_while_the_customer_answers(api: Api, clock: Clock) -> None:
    case = started(api)
    do(api, case, "accept", "clerk", {})
    clock.now = local("2025-10-09T10:00:00")
    do(api, case, "survey", "clerk", {"objection": True})
    [paused] = limits(api, case)
    assert paused["status"] == "paused"
    assert paused["paused_at"] == api_time("2025-10-09T10:00:00")
    [answer] = api.open_tasks(case)
    assert answer["element_id"] == "customerAnswers" and answer["due_at"] is None

    # Nothing fires while paused, however long the customer takes.
    clock.now = local("2025-10-18T00:00:01")
    assert run_due_timers(api.ctx) == 0
    clock.now = local("2025-10-13T10:00:00")
    do(api, case, "customerAnswers", "portal", {"objection": False})
    # 7 working days were left when it paused (10-10, 10-11, 10-13 .. 10-17); from 10-13 they
    # are 10-14 .. 10-17, 10-20 .. 10-22: the limit now ends 10-23 00:00.
    [resumed] = limits(api, case)
    assert resumed["status"] == "running" and resumed["paused_at"] is None
    assert resumed["due_at"] == api_time("2025-10-23T00:00:00")
    [survey] = api.open_tasks(case)
    assert survey["due_at"] == api_time("2025-10-23T00:00:00")
    assert events(api, case) == ["time_limit_started", "time_limit_paused", "time_limit_resumed"]

    clock.now = local("2025-10-22T12:00:00")
    do(api, case, "survey", "clerk", {"objection": False})
    do(api, case, "reply", "clerk", {})
    [met] = limits(api, case)
    assert met["status"] == "met" and met["breached_at"] is None
    assert api.tasks("leader", process_instance_id=case).json()["total"] == 0


def test_a_category_the_table_sets_no_limit_for_runs_no_clock(api: Api, clock: Clock) -> None:
    case = started(api, "RES")
    do(api, case, "accept", "clerk", {})
    assert limits(api, case) == []
    [survey] = api.open_tasks(case)
    assert survey["due_at"] is None
    clock.now += timedelta(days=60)
    assert run_due_timers(api.ctx) == 0


@pytest.mark.usefixtures("clock")
def test_time_limits_of_an_invisible_case_are_not_found(api: Api) -> None:
    case = started(api)
    assert api.get(f"/process-instances/{case}/time-limits", "portal").status_code == 404


@pytest.mark.usefixtures("clock")
@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'name="timeLimit.stop" value="X-T-REPLY"',
            'name="timeLimit.stop" value="X-T-REPPLY"',
            "X-T-REPPLY is not a row of DEMO v1 in the time-limits file; did you mean X-T-REPLY?",
        ),
        (
            'name="timeLimit.start" value="X-T-REPLY"',
            'name="timeLimit.begin" value="X-T-REPLY"',
            "extension property 'timeLimit.begin': expected one of timeLimit.start",
        ),
        (
            'name="timeLimit.start" value="X-T-REPLY"',
            'name="timeLimit.start" value="x-t-reply"',
            "name a row of the limit table",
        ),
    ],
)
def test_malformed_declarations_are_refused_at_deploy(
    api: Api, old: str, new: str, message: str
) -> None:
    xml = (DATA / "declared_limit.bpmn").read_text(encoding="utf-8")
    assert old in xml
    response = api.deploy_bytes("declared_limit.bpmn", xml.replace(old, new, 1).encode())
    assert response.status_code == 422, response.text
    assert any(message in p["message"] for p in response.json()["details"]), response.text


@pytest.mark.usefixtures("clock")
def test_a_limit_the_table_does_not_have_is_refused_at_deploy(api: Api) -> None:
    xml = (DATA / "declared_limit.bpmn").read_text(encoding="utf-8")
    changed = xml.replace("X-T-REPLY", "X-T-OTHER").encode()
    response = api.deploy_bytes("declared_limit.bpmn", changed)
    assert response.status_code == 422, response.text
    # Each declaration naming it, at its own line.
    problems = response.json()["details"]
    assert [p["element"] for p in problems] == ["accept", "customerAnswers", "reply"]
    assert all("X-T-OTHER is not a row of DEMO v1" in p["message"] for p in problems)
    assert [p["line"] for p in problems] == [line_of(changed.decode(), e) for e in LIMITED]


LIMITED = {"accept": "start", "customerAnswers": "pause", "reply": "stop"}


def line_of(text: str, element: str) -> int:
    """The line of the timeLimit.* property of `element` in declared_limit.bpmn."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if f'id="{element}"' in line)
    return next(i for i, line in enumerate(lines[at:], at + 1) if "timeLimit." in line)


@pytest.mark.parametrize("newline", ["\n", "\r"], ids=["lf", "cr"])
def test_a_typo_in_one_row_name_is_reported_at_its_line_with_the_rows_it_may_mean(
    newline: str,
) -> None:
    """One misspelt timeLimit.start value was reported only indirectly: as a limit without a
    stop (the typo) and one without a start (the row meant), neither at the typo's line."""
    text = (DATA / "declared_limit.bpmn").read_text(encoding="utf-8")
    typo = text.replace('name="timeLimit.start" value="X-T-REPLY"', 'name="timeLimit.start" '
                        'value="X-T-REPLI"')  # fmt: skip
    found = declaration_problems(
        demo_time_limits(), typo.replace("\n", newline).encode(), KEY, "declared_limit.bpmn"
    )
    [direct] = [p for p in found if "X-T-REPLI" in p.message and p.element == "accept"]
    assert (direct.file, direct.line) == ("declared_limit.bpmn", line_of(text, "accept"))
    assert direct.message == (
        "timeLimit.start = 'X-T-REPLI': X-T-REPLI is not a row of DEMO v1 in the time-limits "
        "file; did you mean X-T-REPLY? (its rows: X-T-REPLY)"
    )
    assert "X-T-REPLY" in direct.hint and direct.code == "structure.time-limit"
    # The typo's own "no stop" is not said; the row it meant lacks a start, and says why.
    assert not any("time limit X-T-REPLI has no" in p.message for p in found)
    [meant] = [p for p in found if p is not direct]
    assert "time limit X-T-REPLY has no element with timeLimit.start" in meant.message
    assert "X-T-REPLI" in meant.message
    assert meant.line == line_of(text, str(meant.element))  # its element's line


def test_a_typo_in_one_of_two_stops_is_said_at_its_line_and_nothing_else_is_blamed() -> None:
    """The streamlined model with B-UT02's stop of B-T-PLAN misspelt (B-UT07 keeps its own):
    the typo was reported as 'time limit B-T-PLN has no element with timeLimit.start', with no
    hint and a code the findings table did not list."""
    shipped = ROOT / "processes" / "yekuo_streamlined.bpmn"
    text = shipped.read_text(encoding="utf-8")
    stop = '<camunda:property name="timeLimit.stop" value="B-T-PLAN"/>'
    edited = text.replace(stop, stop.replace("B-T-PLAN", "B-T-PLN"), 1)
    line = text[: text.index(stop)].count("\n") + 1
    table = TimeLimits.load(ROOT / "config" / "time-limits.toml")
    [typo] = declaration_problems(table, edited.encode(), "yekuo_streamlined", shipped.name)
    assert (typo.line, typo.element, typo.code) == (line, "B-UT02", "structure.time-limit")
    assert typo.message.startswith("timeLimit.stop = 'B-T-PLN': B-T-PLN is not a row of ")
    assert "did you mean B-T-PLAN?" in typo.message and "write B-T-PLAN" in typo.hint
    # Without a limit table (a check outside any project) the row cannot be looked up; the
    # limit that lacks a start then names the limit of the file it most likely misspells.
    [orphan, _no_table] = declaration_problems(
        TimeLimits([], {}), edited.encode(), "yekuo_streamlined", shipped.name
    )
    assert (orphan.line, orphan.element, orphan.code) == (line, "B-UT02", "structure.time-limit")
    assert "time limit B-T-PLN has no element with timeLimit.start" in orphan.message
    assert "did you mean B-T-PLAN, declared on B-GW03, B-UT07c, B-UT07?" in orphan.message
    assert "write B-T-PLAN" in orphan.hint


@pytest.mark.parametrize(
    ("name", "suggested"),
    [("timeLimit.strat", "timeLimit.start"), ("timelimit.stop", "timeLimit.stop"),
     ("TimeLimit.stopatclaim", "timeLimit.stopAtClaim")],
)  # fmt: skip
def test_a_misspelt_property_name_is_reported_at_its_line_with_the_name_meant(
    name: str, suggested: str
) -> None:
    text = (DATA / "declared_limit.bpmn").read_text(encoding="utf-8")
    role = "start" if "st" in name.lower() and "stop" not in name.lower() else "stop"
    old = f'name="timeLimit.{role}" value="X-T-REPLY"'
    assert old in text
    changed = text.replace(old, f'name="{name}" value="X-T-REPLY"')
    found = declaration_problems(demo_time_limits(), changed.encode(), KEY, "declared_limit.bpmn")
    element = "accept" if role == "start" else "reply"
    [direct] = [p for p in found if p.message.startswith(f"extension property {name!r}")]
    assert (direct.element, direct.line) == (element, line_of(text, element))
    assert f"did you mean {suggested}?" in direct.message
    assert "Extension properties" in direct.hint


@pytest.mark.usefixtures("clock")
def test_nobody_outside_may_send_the_breach_message(api: Api) -> None:
    case = started(api)
    do(api, case, "accept", "clerk", {})
    business_key = api.get(f"/process-instances/{case}").json()["business_key"]
    message = {"message_name": "time_limit_breached", "business_key": business_key}
    refused = api.post("/messages", "portal", json=message)
    assert refused.status_code == 403, refused.text
    assert api.tasks("leader", process_instance_id=case).json()["total"] == 0


def test_a_row_the_table_has_is_not_guessed_to_be_another_when_its_stop_is_gone() -> None:
    """B-UT10's stop of B-T-COSIGN deleted: the check guessed another limit ("did you mean
    B-T-SIGN?"), the guess for a misspelt row, although B-T-COSIGN is a row of the table."""
    model = (ROOT / "processes" / "yekuo_streamlined.bpmn").read_text(encoding="utf-8")
    edited = model.replace(
        '<camunda:property name="timeLimit.stop" value="B-T-COSIGN, B-T-SIGN"/>',
        '<camunda:property name="timeLimit.stop" value="B-T-SIGN"/>',
    )
    assert edited != model
    limits = TimeLimits.load(ROOT / "config" / "time-limits.toml")
    found = declaration_problems(limits, edited.encode(), "yekuo_streamlined", "s.bpmn")
    [problem] = [p for p in found if "B-T-COSIGN" in p.message]
    assert problem.message.startswith("time limit B-T-COSIGN has no element with timeLimit.stop")
    assert "did you mean" not in problem.message and "B-T-SIGN" not in problem.hint
    # Without the table the guess stays: a row the file misspells looks just like this.
    alone = declaration_problems(None, edited.encode(), "yekuo_streamlined", "s.bpmn")
    assert any("did you mean B-T-SIGN" in p.message for p in alone)
