"""An event-based gateway over HTTP: its message catch event is a subscription that a message
reaches (delivered, not buffered), its timer is scheduled and fires, the first decides and the
other branch is withdrawn, and the case is never reported stuck while it waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bpmn_service.services.scheduler import run_due_timers
from clock import Clock
from conftest import Api

MODEL = Path(__file__).resolve().parent / "engine" / "bpmn" / "event_gateway.bpmn"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock(api: Api) -> Clock:
    clock = Clock(T0)
    api.ctx.clock = clock
    assert api.deploy(MODEL).status_code == 201
    return clock


def _instance(api: Api, instance_id: str) -> dict[str, Any]:
    body: dict[str, Any] = api.get(f"/process-instances/{instance_id}").json()
    return body


def _started(api: Api, key: str) -> str:
    started = api.start("event_gateway", key, {})
    assert started.status_code == 201, started.text
    instance_id: str = started.json()["id"]
    assert api.get("/incidents", "admin").json()["items"] == []  # not stuck
    return instance_id


def test_the_message_wins(api: Api, clock: Clock) -> None:
    instance_id = _started(api, "EVGW-1")
    sent = api.post(
        "/messages",
        "admin",
        json={"message_name": "docs_supplied", "business_key": "EVGW-1", "variables": {}},
    )
    assert sent.status_code in (200, 201), sent.text
    assert sent.json()["status"] == "delivered"
    body = _instance(api, instance_id)
    assert [t["element_id"] for t in body["tasks"]] == ["Task_accept"]
    clock.now = T0 + timedelta(minutes=10)
    assert run_due_timers(api.ctx) == 0  # the timer's branch was withdrawn
    assert [t["element_id"] for t in _instance(api, instance_id)["tasks"]] == ["Task_accept"]


def test_the_timer_wins(api: Api, clock: Clock) -> None:
    instance_id = _started(api, "EVGW-2")
    clock.now = T0 + timedelta(minutes=4)
    assert run_due_timers(api.ctx) == 0
    clock.now = T0 + timedelta(minutes=6)
    assert run_due_timers(api.ctx) == 1
    assert [t["element_id"] for t in _instance(api, instance_id)["tasks"]] == ["Task_chase"]
    late = api.post(
        "/messages",
        "admin",
        json={"message_name": "docs_supplied", "business_key": "EVGW-2", "variables": {}},
    )
    assert late.json()["status"] == "buffered"  # nothing waits for it any more
    assert [t["element_id"] for t in _instance(api, instance_id)["tasks"]] == ["Task_chase"]
    assert api.get("/incidents", "admin").json()["items"] == []


@pytest.mark.usefixtures("clock")
def test_where_the_case_stands_names_the_message_and_the_timer_behind_the_gateway(
    api: Api,
) -> None:
    """The gateway said only 'waiting': a supervisor could not tell which message to send or
    when the timer fires. Its catch events show under it, as other waits do."""
    instance_id = _started(api, "EVGW-WHERE")
    body = api.get(f"/process-instances/{instance_id}/activities", "leader").json()
    [gateway] = [a for a in body["activities"] if a["element_id"] == "Gateway_wait"]
    message, timer = gateway["children"]
    assert (message["kind"], message["element_id"], message["message_name"]) == (
        "message_wait",
        "Event_docs",
        "docs_supplied",
    )
    assert message["name"] == "客户补充资料"
    assert (timer["kind"], timer["element_id"]) == ("timer", "Event_timeout")
    assert datetime.fromisoformat(timer["due"]) == T0 + timedelta(minutes=5)
