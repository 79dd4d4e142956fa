"""Round trips saved on PostgreSQL by statements that commit by themselves (autocommit).

A claim is one statement (db/claims.py): one round trip instead of BEGIN, the statement and
COMMIT. A claim that stops a time limit's clock (`timeLimit.stopAtClaim`) is not made that way:
the statement leaves the task, and the claim is made again in one transaction with the clock's
stop, under the instance's lock. The inbox, a task and a case are read without a transaction
(no BEGIN, no ROLLBACK).

Each statement is recorded with whether its connection was in autocommit, on yekuo_current and an
injected clock (the 中间检查 limit A-T-MID stops when A-UT11 is claimed)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, text

from clock import Clock, api_time, local
from conftest import Api
from process_paths import PROCESSES, load_paths, run_steps, start

KEY = "yekuo_current"
PATH = "HV_S_happy_concealed_works"


@pytest.fixture
def pg_api(api: Api) -> Api:
    if api.ctx.engine.dialect.name != "postgresql":
        pytest.skip("a claim is three statements in a transaction on SQLite")
    api.ctx.clock = Clock(local("2025-10-13T10:00:00"))
    assert api.deploy(PROCESSES / f"{KEY}.bpmn").status_code == 201
    return api


@contextmanager
def statements(api: Api) -> Iterator[list[tuple[str, bool]]]:
    """The statements run meanwhile, each with whether its connection was in autocommit."""
    seen: list[tuple[str, bool]] = []

    def record(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append((statement, bool(conn.connection.dbapi_connection.autocommit)))

    event.listen(api.ctx.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(api.ctx.engine, "before_cursor_execute", record)


def claims_of(api: Api, task_id: str) -> int:
    with api.ctx.engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM history_event WHERE task_id = :t AND type = :k"),
                {"t": task_id, "k": "task_claimed"},
            ).scalar_one()
        )


def mid_clock(api: Api, instance_id: str) -> dict[str, Any]:
    limits = api.get(f"/process-instances/{instance_id}/time-limits").json()
    [clock] = [c for c in limits if c["limit_id"] == "A-T-MID"]
    return clock


def at_the_inspection(api: Api, business_key: str) -> tuple[str, dict[str, Any]]:
    """A case of PATH run up to the open 中间检查 (A-UT11), its A-T-MID clock running."""
    case = start(api, KEY, PATH, business_key)
    steps = [list(s) for s in load_paths(KEY)["paths"][PATH]]
    run_steps(api, case, steps[: [s[0] for s in steps].index("A-UT11")])
    [inspection] = api.open_tasks(case)
    assert inspection["element_id"] == "A-UT11"
    assert mid_clock(api, case)["status"] == "running"
    return case, inspection


def test_a_claim_is_one_statement_in_autocommit(pg_api: Api) -> None:
    case = start(pg_api, KEY, PATH, "YK-ALONE-1")
    [task] = pg_api.open_tasks(case)
    with statements(pg_api) as seen:
        response = pg_api.claim(task["id"], "clerk")
    assert response.status_code == 200, response.text
    assert response.json()["assignee"] == "clerk"
    writes = [(s, auto) for s, auto in seen if "UPDATE" in s]
    assert len(writes) == 1 and writes[0][1] is True, seen
    assert claims_of(pg_api, task["id"]) == 1
    # Claimed again by its assignee: answered as it is, nothing written.
    assert pg_api.claim(task["id"], "clerk").status_code == 200
    assert claims_of(pg_api, task["id"]) == 1


def test_a_claim_that_stops_a_clock_is_made_in_a_transaction_with_the_stop(pg_api: Api) -> None:
    case, inspection = at_the_inspection(pg_api, "YK-ALONE-2")
    pg_api.ctx.clock.now = local("2025-10-15T09:00:00")
    with statements(pg_api) as seen:
        response = pg_api.claim(inspection["id"], "inspector")
    assert response.status_code == 200, response.text
    claims = [auto for s, auto in seen if "UPDATE task" in s]
    # Alone, the statement left the task; in the transaction it took it.
    assert claims == [True, False], seen
    assert any("time_limit_clock" in s and not auto for s, auto in seen), seen
    assert claims_of(pg_api, inspection["id"]) == 1
    clock = mid_clock(pg_api, case)
    assert clock["status"] == "met"
    assert clock["stopped_at"] == api_time("2025-10-15T09:00:00")


def test_a_task_row_that_does_not_show_the_declaration_still_stops_the_clock(
    pg_api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """A row whose properties lack `timeLimit.stopAtClaim` (written before rows copied them):
    the claim is made alone, then the clock stops in a transaction of its own."""
    case, inspection = at_the_inspection(pg_api, "YK-ALONE-3")
    with pg_api.ctx.engine.begin() as conn:
        conn.execute(
            text("UPDATE task SET properties = '{}' WHERE id = :t"), {"t": inspection["id"]}
        )
    pg_api.ctx.clock.now = local("2025-10-16T09:00:00")
    with caplog.at_level(logging.WARNING, logger="bpmn_service.services.tasks"):
        response = pg_api.claim(inspection["id"], "inspector")
    assert response.status_code == 200, response.text
    assert "claimed alone, yet its claim stops a clock" in caplog.text
    assert claims_of(pg_api, inspection["id"]) == 1
    clock = mid_clock(pg_api, case)
    assert clock["status"] == "met"
    assert clock["stopped_at"] == api_time("2025-10-16T09:00:00")


def test_the_inbox_a_task_and_a_case_are_read_without_a_transaction(pg_api: Api) -> None:
    case = start(pg_api, KEY, PATH, "YK-ALONE-4")
    [task] = pg_api.open_tasks(case)
    with statements(pg_api) as seen:
        inbox = pg_api.tasks("clerk", business_key="YK-ALONE-4")
        one = pg_api.get(f"/tasks/{task['id']}", "clerk")
        detail = pg_api.get(f"/process-instances/{case}", "clerk")
        cases = pg_api.get("/process-instances?business_key=YK-ALONE-4", "clerk")
    assert [r.status_code for r in (inbox, one, detail, cases)] == [200] * 4
    assert [t["id"] for t in inbox.json()["items"]] == [task["id"]]
    assert one.json()["form"]["properties"]
    assert cases.json()["total"] == 1
    assert seen and all(auto for _, auto in seen), [s for s, auto in seen if not auto]
