"""Migrating a case to a version that gives its active task a boundary event: the dry run lists
the event as started, the migration starts it (a timer counts from the migration) and the
scheduler fires it on the target version."""

from __future__ import annotations

from datetime import datetime, timedelta

from bpmn_service.db.models import ProcessInstance
from bpmn_service.services.scheduler import run_due_timers
from conftest import ROOT, Api

TINY = ROOT / "tests" / "engine" / "bpmn"
FIXED = (TINY / "late_note_fixed.bpmn").read_bytes()


def _next_timer(api: Api, instance_id: str) -> datetime | None:
    with api.ctx.sessions() as session:
        stored = session.get(ProcessInstance, instance_id)
        assert stored is not None
        return stored.next_timer_at


def _same_moment(a: datetime | None, b: datetime) -> bool:
    return a is not None and a.replace(tzinfo=None) == b.replace(tzinfo=None)


def test_a_migration_to_a_version_that_adds_a_boundary_timer_starts_it(api: Api) -> None:
    untimed = (TINY / "late_note_untimed.bpmn").read_bytes()
    now = api.ctx.clock()
    api.ctx.clock = lambda: now
    assert api.deploy_bytes("late_note.bpmn", untimed).status_code == 201
    case = api.start("late_note", "LN-2", {"amount": 5}).json()
    [enter] = case["tasks"]
    api.claim(enter["id"], "clerk")
    assert api.complete(enter["id"], "clerk", {}).status_code == 200
    [review] = api.open_tasks(case["id"])
    assert _next_timer(api, case["id"]) is None
    assert api.deploy_bytes("late_note.bpmn", FIXED).status_code == 201
    body = {
        "source": {"key": "late_note", "version": 1},
        "target": {"key": "late_note", "version": 2},
        "reason": "version 2 reminds the reviewer after an hour",
    }
    started = [{"element_id": "nudge", "attached_to": "review", "kind": "timer"}]
    [dry] = api.post("/migrations", "leader", json={**body, "dry_run": True}).json()["results"]
    assert dry["ok"] is True and dry["started"] == started, dry
    [run] = api.post("/migrations", "leader", json={**body, "dry_run": False}).json()["results"]
    assert run["migrated"] is True and run["started"] == started, run
    assert _same_moment(_next_timer(api, case["id"]), now + timedelta(hours=1))
    history = api.get(f"/process-instances/{case['id']}").json()["history"]
    [migrated] = [e for e in history if e["type"] == "instance_migrated"]
    assert migrated["details"]["started"] == started
    later = now + timedelta(hours=2)
    api.ctx.clock = lambda: later
    assert run_due_timers(api.ctx) == 1
    after = api.get(f"/process-instances/{case['id']}").json()
    assert after["variables"]["note"] == "late: 5"
    assert [t["id"] for t in after["tasks"]] == [review["id"]]
