"""Two real server processes on one PostgreSQL while cases loop inside the engine: the looping
cases end as incidents, a healthy PT3S timer fires, and both servers keep answering writes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from bpmn_service.db.models import HistoryEvent, RunIncident
from conftest import DATA, TOKENS, Api
from served import server_processes

POISON = 3


@pytest.fixture
def looping_servers(api: Api) -> Iterator[list[str]]:
    env = {
        "BPMN_TIMER_POLL_SECONDS": "0.2",
        # The loop is stopped by time, not steps: the case a CPU-heavy loop would be.
        "BPMN_RUN_MAX_STEPS": str(10**9),
        "BPMN_RUN_MAX_SECONDS": "2",
    }
    with server_processes(api.ctx.settings, env) as urls:
        yield urls


def test_looping_cases_do_not_stop_timers_or_writes_on_two_servers(
    api: Api, request: pytest.FixtureRequest
) -> None:
    if not api.ctx.settings.database_url.startswith("postgresql"):
        pytest.skip("several server processes share PostgreSQL, not SQLite")
    files = (DATA / "poison_loop.bpmn", DATA / "healthy_timer.bpmn")
    assert api.deploy(*files).status_code == 201
    api.ctx.clock = lambda: datetime.now(UTC) - timedelta(days=1)
    poison = [
        api.start("poison_loop", f"P-{i}", {"n": 0, "limit": 10**12}).json()["id"]
        for i in range(POISON)
    ]
    api.ctx.clock = lambda: datetime.now(UTC)
    healthy = api.start("healthy_timer", "H-1", {}).json()["id"]
    urls = request.getfixturevalue("looping_servers")

    auth = {"Authorization": f"Bearer {TOKENS['clerk']}"}
    written = 0
    deadline = time.monotonic() + 120
    with api.ctx.sessions() as session:
        while time.monotonic() < deadline:
            url = urls[written % 2]
            response = httpx.post(
                f"{url}/api/v1/process-definitions/healthy_timer/instances",
                headers=auth,
                json={"business_key": f"W-{written}", "variables": {}},
                timeout=30,
            )
            assert response.status_code == 201, response.text
            written += 1
            incidents = session.scalar(select(func.count()).select_from(RunIncident))
            fired = session.scalar(
                select(func.count()).where(
                    HistoryEvent.instance_id == healthy, HistoryEvent.type == "timers_fired"
                )
            )
            session.rollback()
            if incidents == POISON and fired == 1:
                break
            time.sleep(0.2)
        rows = session.scalars(select(RunIncident)).all()
    assert sorted(r.instance_id for r in rows) == sorted(poison)
    assert {r.kind for r in rows} == {"budget"}, [r.message for r in rows]
    assert {r.element_id for r in rows} <= {"count", "again"}
    [task] = api.open_tasks(healthy)
    assert task["element_id"] == "after"
    assert written >= 1
