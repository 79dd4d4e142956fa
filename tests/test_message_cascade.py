"""A request's message cascade is bounded in total, not only in depth: a process that throws two
messages starting itself again fans out (2**20 starts below the chain limit) and is answered 422
with nothing kept; a fired timer's cascade becomes an incident (docs/reliability.md)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bpmn_service.db.models import HistoryEvent, Message, ProcessInstance, RunIncident
from bpmn_service.engine import RunBudget
from bpmn_service.engine.layout import layout_bpmn
from bpmn_service.services.scheduler import run_due_timers
from conftest import Api

NS = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)


def _throw(i: int, suffix: str) -> str:
    return (
        f'<bpmn:intermediateThrowEvent id="t{i}"><bpmn:extensionElements><camunda:properties>'
        f'<camunda:property name="businessKey" value=\'${{businessKey + "{suffix}"}}\'/>'
        f"</camunda:properties></bpmn:extensionElements><bpmn:incoming>a{i}</bpmn:incoming>"
        f'<bpmn:outgoing>b{i}</bpmn:outgoing><bpmn:messageEventDefinition messageRef="M"/>'
        f"</bpmn:intermediateThrowEvent>"
        f'<bpmn:endEvent id="e{i}"><bpmn:incoming>b{i}</bpmn:incoming></bpmn:endEvent>'
        f'<bpmn:sequenceFlow id="a{i}" sourceRef="split" targetRef="t{i}"/>'
        f'<bpmn:sequenceFlow id="b{i}" sourceRef="t{i}" targetRef="e{i}"/>'
    )


def fork_bomb(max_key: int | None = None) -> bytes:
    """`fork` starts by message `fork_go` and throws it twice (business keys +a, +b); with
    `max_key`, only while the business key is shorter than that (a bounded fan-out)."""
    if max_key is None:
        head = '<bpmn:sequenceFlow id="f0" sourceRef="go" targetRef="split"/>'
        stop = ""
    else:
        head = (
            '<bpmn:sequenceFlow id="f0" sourceRef="go" targetRef="gw"/>'
            '<bpmn:exclusiveGateway id="gw" default="fstop"><bpmn:incoming>f0</bpmn:incoming>'
            "<bpmn:outgoing>fgo</bpmn:outgoing><bpmn:outgoing>fstop</bpmn:outgoing>"
            "</bpmn:exclusiveGateway>"
            '<bpmn:sequenceFlow id="fgo" sourceRef="gw" targetRef="split">'
            f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">len(businessKey) &lt; '
            f"{max_key}</bpmn:conditionExpression></bpmn:sequenceFlow>"
            '<bpmn:sequenceFlow id="fstop" sourceRef="gw" targetRef="done"/>'
        )
        stop = '<bpmn:endEvent id="done"><bpmn:incoming>fstop</bpmn:incoming></bpmn:endEvent>'
    split_in = "f0" if max_key is None else "fgo"
    text = (
        f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions {NS} id="d" '
        f'targetNamespace="http://qa/"><bpmn:message id="M" name="fork_go"/>'
        f'<bpmn:process id="fork" isExecutable="true">'
        f'<bpmn:startEvent id="go"><bpmn:outgoing>f0</bpmn:outgoing>'
        f'<bpmn:messageEventDefinition messageRef="M"/></bpmn:startEvent>{head}{stop}'
        f'<bpmn:parallelGateway id="split"><bpmn:incoming>{split_in}</bpmn:incoming>'
        f"<bpmn:outgoing>a0</bpmn:outgoing><bpmn:outgoing>a1</bpmn:outgoing>"
        f"</bpmn:parallelGateway>{_throw(0, 'a')}{_throw(1, 'b')}</bpmn:process>"
        f"</bpmn:definitions>"
    )
    return layout_bpmn(text.encode(), "fork.bpmn")


def _stored(api: Api) -> tuple[int, int]:
    with api.ctx.sessions() as session:
        instances = session.scalar(select(func.count()).select_from(ProcessInstance)) or 0
        messages = session.scalar(select(func.count()).select_from(Message)) or 0
    return instances, messages


def _cap(api: Api, deliveries: int) -> None:
    api.ctx.settings = api.ctx.settings.model_copy(update={"message_cascade_max": deliveries})


def test_a_bounded_fan_out_within_the_cascade_budget_runs(api: Api) -> None:
    assert api.deploy_bytes("fork.bpmn", fork_bomb(max_key=4)).status_code == 201
    _cap(api, 30)  # 1 + 2 + 4 + 8 = 15 starts, 14 of them by thrown messages
    answer = api.start("fork", "F", {})
    assert answer.status_code == 201, answer.text
    assert _stored(api)[0] == 15


def test_a_fan_out_over_the_cascade_budget_is_refused_and_nothing_kept(api: Api) -> None:
    assert api.deploy_bytes("fork.bpmn", fork_bomb(max_key=8)).status_code == 201
    _cap(api, 30)  # 127 starts would follow
    answer = api.start("fork", "F", {})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "run_budget_exceeded"
    assert "'fork_go'" in body["message"] and "more than 30 message deliveries" in body["message"]
    assert body["details"]["limit"] == "messages"
    assert _stored(api) == (0, 0)


def test_an_unbounded_fork_bomb_is_answered_promptly(api: Api) -> None:
    assert api.deploy_bytes("fork.bpmn", fork_bomb()).status_code == 201
    began = time.monotonic()
    answer = api.start("fork", "F", {})
    assert answer.status_code == 422, answer.text
    assert "more than 500 message deliveries" in answer.json()["message"]
    assert time.monotonic() - began < 60
    assert _stored(api) == (0, 0)


def test_the_run_seconds_budget_covers_the_whole_cascade(api: Api) -> None:
    assert api.deploy_bytes("fork.bpmn", fork_bomb()).status_code == 201
    _cap(api, 10**6)
    api.ctx.runner.budget = RunBudget(max_seconds=0.5)
    began = time.monotonic()
    answer = api.start("fork", "F", {})
    assert answer.status_code == 422, answer.text
    assert answer.json()["details"]["limit"] == "seconds"
    assert "longer than 0.5 s" in answer.json()["message"]
    assert time.monotonic() - began < 10
    assert _stored(api) == (0, 0)


TIMED = layout_bpmn(
    (
        f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions {NS} id="dt" '
        'targetNamespace="http://qa/"><bpmn:message id="M" name="fork_go"/>'
        '<bpmn:process id="timed" isExecutable="true">'
        '<bpmn:startEvent id="s"><bpmn:outgoing>g0</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>g0</bpmn:incoming>'
        "<bpmn:outgoing>g1</bpmn:outgoing><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H"
        "</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
        '<bpmn:intermediateThrowEvent id="throw"><bpmn:extensionElements><camunda:properties>'
        '<camunda:property name="businessKey" value=\'${businessKey + "0"}\'/>'
        "</camunda:properties></bpmn:extensionElements><bpmn:incoming>g1</bpmn:incoming>"
        '<bpmn:outgoing>g2</bpmn:outgoing><bpmn:messageEventDefinition messageRef="M"/>'
        "</bpmn:intermediateThrowEvent>"
        '<bpmn:endEvent id="end"><bpmn:incoming>g2</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="g0" sourceRef="s" targetRef="wait"/>'
        '<bpmn:sequenceFlow id="g1" sourceRef="wait" targetRef="throw"/>'
        '<bpmn:sequenceFlow id="g2" sourceRef="throw" targetRef="end"/>'
        "</bpmn:process></bpmn:definitions>"
    ).encode(),
    "timed.bpmn",
)


def test_a_timer_fired_fork_bomb_becomes_an_incident(api: Api) -> None:
    assert api.deploy_bytes("fork.bpmn", fork_bomb()).status_code == 201
    assert api.deploy_bytes("timed.bpmn", TIMED).status_code == 201
    _cap(api, 20)
    api.ctx.clock = lambda: datetime.now(UTC) - timedelta(hours=2)
    timed = api.start("timed", "T", {}, user="admin").json()["id"]
    api.ctx.clock = lambda: datetime.now(UTC)

    assert run_due_timers(api.ctx) == 1

    with api.ctx.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 1
        stored = session.get(ProcessInstance, timed)
        assert stored is not None and stored.status == "active"
        assert stored.next_timer_at is None  # parked, not fired again at every poll
        [incident] = session.scalars(select(RunIncident)).all()
        kinds = session.scalars(
            select(HistoryEvent.type).where(HistoryEvent.instance_id == timed)
        ).all()
    assert incident.instance_id == timed and incident.kind == "budget"
    assert "more than 20 message deliveries" in incident.message
    # Named at the timed case's own throw, not at an element of the forking process (the
    # incident showed an element the case does not have, and a retry opened another).
    assert incident.element_id == "throw"
    assert "timer_failed" in kinds and "timers_fired" not in kinds
    assert run_due_timers(api.ctx) == 0
