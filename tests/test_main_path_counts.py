"""The main-path table of docs/processes.md is measured on the models, not typed in by hand.

Each happy path runs through the API. A step is something the case waits on: a user task (a
co-sign, a multi-instance task, counts once), an external service task or a message from the
customer or a contractor. Gateways, scripts and events that pass at once are not steps.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from conftest import ROOT, Api
from process_paths import PROCESSES, drive

DOC = ROOT / "docs" / "processes.md"
HAPPY_PATHS = [
    ("yekuo_current", "RES_happy"),
    ("yekuo_streamlined", "RES_happy"),
    ("yekuo_current", "LV_happy_no_concealed_works"),
    ("yekuo_streamlined", "LV_no_external_works"),
    ("yekuo_current", "HV_S_happy_concealed_works"),
    ("yekuo_streamlined", "HV_S_ordinary"),
    ("yekuo_current", "HV_D_happy"),
    ("yekuo_streamlined", "HV_D_important_concealed"),
]


def documented_rows() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- mainpath:begin -->(.*?)<!-- mainpath:end -->", text, re.S)
    assert block, f"{DOC} has no <!-- mainpath:begin --> ... <!-- mainpath:end --> block"
    rows = {}
    for line in block.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].startswith("`yekuo_"):
            rows[cells[1] + "@" + cells[0]] = " | ".join(cells)
    return rows


def steps(history: list[dict[str, Any]]) -> tuple[int, int, int, int]:
    """(steps, user tasks, external tasks, messages waited for) of a finished case."""
    user = {e["element_id"] for e in history if e["type"] == "task_completed"}
    external = {e["element_id"] for e in history if e["type"] == "external_task_completed"}
    waits = [
        e
        for e in history
        if e["type"] == "engine_step"
        and e["details"].get("kind") in ("IntermediateCatchEvent", "ReceiveTask")
        and e["element_id"] != "A-RT15"  # the plan-validity wait ends by itself
    ]
    return len(user) + len(external) + len(waits), len(user), len(external), len(waits)


@pytest.mark.parametrize(("key", "path"), HAPPY_PATHS)
def test_documented_main_path_steps_match_the_models(api: Api, key: str, path: str) -> None:
    assert api.deploy(PROCESSES / f"{key}.bpmn").status_code == 201
    final = drive(api, key, path, f"MAIN-{path}")
    history = api.get(f"/process-instances/{final['id']}").json()["history"]
    total, user, external, waits = steps(history)
    computed = " | ".join([f"`{key}`", path, str(total), str(user), str(external), str(waits)])
    assert documented_rows().get(f"{path}@`{key}`") == computed, (
        f"docs row should be | {computed} |"
    )
