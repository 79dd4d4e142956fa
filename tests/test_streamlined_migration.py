"""Shipped yekuo_streamlined cases at several waiting points migrated over HTTP onto an edited copy
(a step deleted, another moved, a required field added: tests/model_edits.py chooses them from the
model) in one batch, then run to the end on the copy. tests/engine/test_migration_sweep.py covers
every waiting point on the engine."""

from __future__ import annotations

from typing import Any

from conftest import Api
from model_edits import edited_copy
from process_paths import PROCESSES, load_paths, run_steps, start

KEY = "yekuo_streamlined"


def _open(api: Api, instance_id: str) -> set[str]:
    body = api.get(f"/process-instances/{instance_id}/activities", "leader").json()
    found: set[str] = set()

    def walk(nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            if node["kind"] in ("user_task", "message_wait", "external_task"):
                found.add(node["element_id"])
            walk(node["children"])

    walk(body["activities"])
    return found


def test_streamlined_cases_migrate_in_one_batch_and_complete_on_the_edited_copy(api: Api) -> None:
    xml = (PROCESSES / f"{KEY}.bpmn").read_bytes()
    paths = load_paths(KEY)["paths"]
    every = [[element for element, _ in steps] for steps in paths.values()]
    longest = max(paths.values(), key=lambda steps: len({s[0] for s in steps}))
    edit = edited_copy(xml, [element for element, _ in longest], every)
    path_name, steps = max(
        ((n, s) for n, s in paths.items() if edit.deleted in {e for e, _ in s}),
        key=lambda item: len(item[1]),
    )
    elements = [element for element, _ in steps]
    points = sorted(
        {
            1,
            elements.index(edit.deleted),
            next(i for i, (_, v) in enumerate(steps) if "_message" in v),
            len(steps) - 1,
        }
        | ({elements.index(edit.moved)} if edit.moved in elements else set())
    )
    assert api.deploy(PROCESSES / f"{KEY}.bpmn").status_code == 201
    cases = {}
    for done in points:
        instance_id = start(api, KEY, path_name, f"MIG-{done}")
        run_steps(api, instance_id, steps[:done])
        cases[instance_id] = done
    deployed = api.deploy_bytes(f"{KEY}.bpmn", edit.xml)
    assert deployed.status_code == 201, deployed.text
    target = deployed.json()["definitions"][0]["version"]
    body = {
        "source": {"key": KEY, "version": 1},
        "target": {"key": KEY, "version": target},
        "filter": {"business_key_like": "MIG-%"},
        "reason": "the edited model replaces the shipped one",
        "dry_run": True,
    }
    dry = api.post("/migrations", "leader", json=body).json()["results"]
    assert len(dry) == len(points)
    at_deleted = [r for r in dry if not r["ok"]]
    assert [p["element_id"] for r in at_deleted for p in r["problems"]] == [edit.deleted]
    for result in at_deleted:  # moved to where the edited model continues, then migrated
        moved = api.post(
            f"/process-instances/{result['instance_id']}/modification",
            "leader",
            json={
                "reason": f"{edit.deleted} is gone from the edited model",
                "instructions": [
                    {"type": "cancel", "element_id": edit.deleted},
                    {"type": "start_before", "element_id": edit.successor},
                ],
            },
        )
        assert moved.status_code == 200, moved.text
    run = api.post("/migrations", "leader", json={**body, "dry_run": False}).json()["results"]
    assert [r["migrated"] for r in run] == [True] * len(points), run

    latest = dict(steps)
    for instance_id, done in cases.items():
        remaining = [s for s in steps[done:] if s[0] != edit.deleted]
        for _ in range(len(steps) * 3):
            case = api.get(f"/process-instances/{instance_id}").json()
            if case["status"] == "completed":
                break
            assert case["version"] == target
            ready = _open(api, instance_id)
            step = next((s for s in remaining if s[0] in ready), None)
            if step is not None:
                remaining.remove(step)
            else:
                again = sorted(e for e in ready if e in latest)
                assert again, (done, sorted(ready), remaining)
                step = [again[0], latest[again[0]]]
            element, values = step
            if element == edit.new_field[0]:
                values = {**values, edit.new_field[1]: "checked"}
            run_steps(api, instance_id, [[element, values]])
        history = api.get(f"/process-instances/{instance_id}").json()
        assert history["status"] == "completed", (done, _open(api, instance_id))
        assert "instance_migrated" in [e["type"] for e in history["history"]]
