"""The counts table and the main-path table of docs/processes.md are measured on the models, not
typed in by hand.

Each happy path runs through the API once. Its instance metrics (derived from the task history and
the `customerProcedure` / `hallVisit` properties in the BPMN) must equal its row of the counts
table. For the main-path table, a step is something the case waits on: a user task (a co-sign, a
multi-instance task, counts once), an external service task or a message from the customer or a
contractor; gateways, scripts and events that pass at once are not steps.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from conftest import ROOT, Api
from process_paths import PROCESSES, drive

DOC = ROOT / "docs" / "processes.md"
HAPPY_PATHS = [
    ("yekuo_current", "RES", "RES_happy"),
    ("yekuo_current", "LV", "LV_happy_no_concealed_works"),
    ("yekuo_current", "HV_S", "HV_S_happy_concealed_works"),
    ("yekuo_current", "HV_D", "HV_D_happy"),
    ("yekuo_streamlined", "RES", "RES_happy"),
    ("yekuo_streamlined", "LV", "LV_no_external_works"),
    ("yekuo_streamlined", "LV", "LV_external_works"),
    ("yekuo_streamlined", "HV_S", "HV_S_ordinary"),
    ("yekuo_streamlined", "HV_D", "HV_D_important_concealed"),
]
# The paths of the main-path table: one per model and customer category.
MAIN_PATHS = {
    ("yekuo_current", "RES_happy"),
    ("yekuo_streamlined", "RES_happy"),
    ("yekuo_current", "LV_happy_no_concealed_works"),
    ("yekuo_streamlined", "LV_no_external_works"),
    ("yekuo_current", "HV_S_happy_concealed_works"),
    ("yekuo_streamlined", "HV_S_ordinary"),
    ("yekuo_current", "HV_D_happy"),
    ("yekuo_streamlined", "HV_D_important_concealed"),
}


def table(name: str) -> list[list[str]]:
    """The cells of each row of the table between <!-- name:begin --> and <!-- name:end -->."""
    text = DOC.read_text(encoding="utf-8")
    block = re.search(rf"<!-- {name}:begin -->(.*?)<!-- {name}:end -->", text, re.S)
    assert block, f"{DOC} has no <!-- {name}:begin --> ... <!-- {name}:end --> block"
    return [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in block.group(1).splitlines()
    ]


def documented_rows() -> dict[str, str]:
    return {
        cells[2] + "@" + cells[0]: " | ".join(cells)
        for cells in table("counts")
        if len(cells) == 6 and cells[0].startswith("yekuo_")
    }


def documented_main_path_rows() -> dict[str, str]:
    return {
        cells[1] + "@" + cells[0]: " | ".join(cells)
        for cells in table("mainpath")
        if len(cells) == 6 and cells[0].startswith("`yekuo_")
    }


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


def test_every_main_path_is_a_happy_path() -> None:
    assert MAIN_PATHS <= {(key, path) for key, _, path in HAPPY_PATHS}


@pytest.mark.parametrize(("key", "category", "path"), HAPPY_PATHS)
def test_documented_counts_and_main_path_steps_match_the_models(
    api: Api, key: str, category: str, path: str
) -> None:
    assert api.deploy(PROCESSES / f"{key}.bpmn").status_code == 201
    final = drive(api, key, path, f"COUNT-{path}")
    metrics = api.get(f"/process-instances/{final['id']}/metrics").json()
    computed = " | ".join(
        [
            key,
            category,
            path,
            str(len(set(metrics["customer_procedures"]))),
            str(metrics["hall_visits"]),
            str(metrics["handoffs"]),
        ]
    )
    wrong = []
    if documented_rows().get(f"{path}@{key}") != computed:
        wrong.append(f"counts row should be | {computed} |")
    if (key, path) in MAIN_PATHS:
        history = api.get(f"/process-instances/{final['id']}").json()["history"]
        total, user, external, waits = steps(history)
        main = " | ".join([f"`{key}`", path, str(total), str(user), str(external), str(waits)])
        if documented_main_path_rows().get(f"{path}@`{key}`") != main:
            wrong.append(f"main-path row should be | {main} |")
    assert not wrong, "docs/processes.md: " + "; ".join(wrong)
