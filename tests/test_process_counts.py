"""The counts table of docs/processes.md is computed from the BPMN files, not typed in by hand.

Each happy path runs through the API; the instance metrics (derived from the task history and the
`customerProcedure` / `hallVisit` properties in the BPMN) must equal the documented row.
"""

from __future__ import annotations

import re

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


def documented_rows() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- counts:begin -->(.*?)<!-- counts:end -->", text, re.S)
    assert block, f"{DOC} has no <!-- counts:begin --> ... <!-- counts:end --> block"
    rows = {}
    for line in block.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].startswith("yekuo_"):
            rows[cells[2] + "@" + cells[0]] = " | ".join(cells)
    return rows


@pytest.mark.parametrize(("key", "category", "path"), HAPPY_PATHS)
def test_documented_counts_match_the_models(api: Api, key: str, category: str, path: str) -> None:
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
    assert documented_rows().get(f"{path}@{key}") == computed, f"docs row should be | {computed} |"
