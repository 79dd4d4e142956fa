"""Both 业扩报装 processes over HTTP, on each database: one recorded path of each, with messages
and external work, to A-EE1 / B-EE1 (已送电), as a clerk's browser and the integrations drive it.
Every recorded path, each category and every rework loop, runs through the engine facade in
tests/engine/test_shipped_paths.py."""

from __future__ import annotations

import pytest

from conftest import Api
from process_paths import PROCESSES, drive, load_paths

POWERED_ON = {"yekuo_current": "A-EE1", "yekuo_streamlined": "B-EE1"}
CASES = [("yekuo_current", "LV_documents_incomplete"), ("yekuo_streamlined", "LV_external_works")]


@pytest.mark.parametrize(("key", "path_name"), CASES, ids=[f"{k}-{n}" for k, n in CASES])
def test_path_runs_to_power_on(api: Api, key: str, path_name: str) -> None:
    response = api.deploy(PROCESSES / f"{key}.bpmn")
    assert response.status_code == 201, response.text
    final = drive(api, key, path_name, f"YK-{path_name}")
    assert final["status"] == "completed", [t["element_id"] for t in final["tasks"]]
    assert final["tasks"] == []
    completed = [e["element_id"] for e in final["history"] if e["type"] == "task_completed"]
    recorded = [
        step[0]
        for step in load_paths(key)["paths"][path_name]
        if "_message" not in step[1] and "_external" not in step[1]
    ]
    assert completed == recorded
    ends = [e["element_id"] for e in final["history"] if e["type"] == "engine_step"]
    assert POWERED_ON[key] in ends
