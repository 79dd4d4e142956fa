"""Two server processes on one PostgreSQL share due timers: every timer fires exactly once.

The instances are started on an injected clock a day in the past, so their one-hour timers are
already due by the real clock when the two real `bpmn-service serve` processes start polling.
The test waits for the servers to finish the work; it does not wait for time to pass.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bpmn_service.db.models import HistoryEvent, ProcessInstance
from conftest import DATA, Api
from served import server_processes

INSTANCES = 40


@pytest.fixture
def servers(api: Api) -> Iterator[list[str]]:
    with server_processes(api.ctx.settings, {"BPMN_TIMER_POLL_SECONDS": "0.05"}) as urls:
        yield urls


def test_every_timer_fires_exactly_once_with_two_servers(
    api: Api, request: pytest.FixtureRequest
) -> None:
    if not api.ctx.settings.database_url.startswith("postgresql"):
        pytest.skip("several server processes share PostgreSQL, not SQLite")
    assert api.deploy(DATA / "timer_once.bpmn").status_code == 201
    api.ctx.clock = lambda: datetime.now(UTC) - timedelta(days=1)
    ids = [api.start("timer_once", f"T-{i}", {}).json()["id"] for i in range(INSTANCES)]
    request.getfixturevalue("servers")

    with api.ctx.sessions() as session:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            waiting = session.scalar(
                select(func.count())
                .select_from(ProcessInstance)
                .where(ProcessInstance.next_timer_at.is_not(None))
            )
            session.rollback()
            if waiting == 0:
                break
            time.sleep(0.2)
        fired = dict(
            session.execute(
                select(HistoryEvent.instance_id, func.count())
                .where(HistoryEvent.type == "timers_fired")
                .group_by(HistoryEvent.instance_id)
            ).all()
        )
        counted = dict(
            session.execute(
                select(HistoryEvent.instance_id, func.count())
                .where(HistoryEvent.type == "engine_step", HistoryEvent.element_id == "count")
                .group_by(HistoryEvent.instance_id)
            ).all()
        )
    assert fired == dict.fromkeys(ids, 1)
    assert counted == dict.fromkeys(ids, 1)
    for instance_id in ids:
        [task] = api.open_tasks(instance_id)
        assert task["element_id"] == "after"
