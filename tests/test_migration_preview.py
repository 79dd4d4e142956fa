"""What a migration's dry run predicts is what the real run does: a join of the target that the
case would wait in for good (a branch added where the case had passed the fork) is a warning in
both, over HTTP and on the command line, and the case migrates with it; the reassigned tasks are
listed alike (tests/test_migration_candidates.py)."""

from __future__ import annotations

from typing import Any

import pytest

from bpmn_service.cli import main
from conftest import ROOT, Api

TINY = ROOT / "tests" / "engine" / "bpmn"
WARNING = {
    "element_id": "join",
    "waiting_for": "inspect",
    "start_before": "inspect",
    "message": (
        "join will wait for the branch through inspect, which no token of this case can reach on "
        "the target (it was added where the case had passed): after migrating, start it with a "
        "modification (start_before inspect), or map the case differently"
    ),
}


def _do(api: Api, instance_id: str, element: str) -> None:
    [task] = [t for t in api.open_tasks(instance_id) if t["element_id"] == element]
    assert api.claim(task["id"], "admin").status_code == 200
    assert api.complete(task["id"], "admin", {}).status_code == 200


def _in_the_region(api: Api) -> str:
    """A case of parallel_two version 1 inside its parallel region (survey done, check open),
    and version 2 (parallel_three) deployed, which adds the branch inspect."""
    assert api.deploy_bytes("parallel_two.bpmn", (TINY / "parallel_two.bpmn").read_bytes())
    case = api.start("parallel_two", "PAR-1", {}).json()
    for element in ("enter", "survey"):
        _do(api, case["id"], element)
    three = (TINY / "parallel_three.bpmn").read_bytes()
    assert api.deploy_bytes("parallel_two.bpmn", three).status_code == 201
    return str(case["id"])


def _body(dry_run: bool) -> dict[str, Any]:
    return {
        "source": {"key": "parallel_two", "version": 1},
        "target": {"key": "parallel_two", "version": 2},
        "reason": "version 2 inspects every case",
        "dry_run": dry_run,
    }


def test_a_join_the_case_would_wait_in_for_good_is_a_warning_in_the_dry_run_and_the_real_run(
    api: Api,
) -> None:
    instance_id = _in_the_region(api)
    [dry] = api.post("/migrations", "leader", json=_body(True)).json()["results"]
    assert dry["ok"] is True and dry["warnings"] == [WARNING]
    [real] = api.post("/migrations", "leader", json=_body(False)).json()["results"]
    assert real["migrated"] is True and real["warnings"] == [WARNING]
    history = api.get(f"/process-instances/{instance_id}").json()["history"]
    [event] = [e for e in history if e["type"] == "instance_migrated"]
    assert event["details"]["warnings"] == [WARNING]
    # What the warning says to do sets the case going again.
    started = api.post(
        f"/process-instances/{instance_id}/modification",
        "leader",
        json={
            "reason": "the migration's warning",
            "instructions": [{"type": "start_before", "element_id": "inspect"}],
        },
    )
    assert started.status_code == 200, started.text
    for element in ("check", "inspect"):
        _do(api, instance_id, element)
    assert [t["element_id"] for t in api.open_tasks(instance_id)] == ["approve"]


def test_the_command_line_dry_run_prints_the_warning(
    api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    instance_id = _in_the_region(api)
    settings = api.ctx.settings
    monkeypatch.setenv("BPMN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BPMN_DATABASE_SCHEMA", settings.database_schema or "")
    monkeypatch.chdir(ROOT)
    args = ["migrate-instances", "--from", "parallel_two:1", "--to", "parallel_two:2",
            "--reason", "version 2 inspects every case"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"{instance_id} PAR-1: can migrate (maps check, join)" in out
    assert f"  warning: {WARNING['message']}" in out
