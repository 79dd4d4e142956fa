"""The supervisors' examples of docs/operations.md run as written (bash, curl, jq) against a real
server: the shell blocks of its "Supervisors" section, in order, in one shell."""

from __future__ import annotations

import os
import re
import subprocess

from conftest import ROOT, Api
from model_edits import edited_copy
from process_paths import PROCESSES, load_paths, run_steps
from served import served

SECTION = "## Supervisors: stuck cases, repairs and migrations"
KEY = "yekuo_streamlined"


def _blocks() -> list[str]:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)


def test_the_supervisors_examples_work_as_written(api: Api) -> None:
    blocks = _blocks()
    assert len(blocks) >= 9
    assert api.deploy(PROCESSES / f"{KEY}.bpmn").status_code == 201
    paths = load_paths(KEY)
    started = api.start(KEY, "YK-2026-0001", paths["start"]["RES"], user="manager")
    assert started.status_code == 201, started.text
    case_id = started.json()["id"]
    run_steps(api, case_id, paths["paths"]["RES_happy"][:1])
    assert [t["element_id"] for t in api.open_tasks(case_id)] == ["B-UT01"]
    every = [[element for element, _ in steps] for steps in paths["paths"].values()]
    longest = max(every, key=lambda steps: len(set(steps)))
    edit = edited_copy((PROCESSES / f"{KEY}.bpmn").read_bytes(), longest, every)
    assert api.deploy_bytes(f"{KEY}.bpmn", edit.xml).status_code == 201

    with served(api.ctx) as url:
        env = {**os.environ, "BPMN": url}
        outputs = []
        for n, block in enumerate(blocks):
            # Each block once, after the variable assignments of the blocks before it.
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", _assignments(blocks[:n]) + block],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                cwd=ROOT,
            )
            assert done.returncode == 0, (block, done.stdout, done.stderr)
            outputs.append(done.stdout)

    case = api.get(f"/process-instances/{case_id}").json()
    assert case["version"] == 2
    types = [e["type"] for e in case["history"]]
    for expected in ("variables_repaired", "instance_modified", "instance_migrated"):
        assert types.count(expected) == 1, types
    assert case["variables"]["appliedCapacityKVA"] == 160
    assert '"kind":"user_task"' in outputs[2].replace(" ", "")
    assert "invalid_state" in outputs[6]  # retry: nothing failed


def _assignments(blocks: list[str]) -> str:
    """The variable assignments of the blocks run so far (each block runs once)."""
    lines = [
        line for block in blocks for line in block.splitlines() if re.match(r"^[A-Z_]+=", line)
    ]
    return "\n".join(lines) + "\n"
