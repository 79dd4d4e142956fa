"""yekuo_current (现行业扩报装): every recorded path and rework loop, over HTTP."""

from __future__ import annotations

import pytest

from conftest import Api
from process_paths import PROCESSES, drive, load_paths

KEY = "yekuo_current"
PATH_NAMES = sorted(load_paths(KEY)["paths"])


@pytest.fixture
def deployed(api: Api) -> Api:
    response = api.deploy(PROCESSES / f"{KEY}.bpmn")
    assert response.status_code == 201, response.text
    return api


@pytest.mark.parametrize("path_name", PATH_NAMES)
def test_path_runs_to_power_on(deployed: Api, path_name: str) -> None:
    final = drive(deployed, KEY, path_name, f"YK-A-{path_name}")
    assert final["status"] == "completed", [t["element_id"] for t in final["tasks"]]
    assert final["tasks"] == []
    completed = [e["element_id"] for e in final["history"] if e["type"] == "task_completed"]
    recorded = [
        step[0]
        for step in load_paths(KEY)["paths"][path_name]
        if "_message" not in step[1] and "_external" not in step[1]
    ]
    assert completed == recorded
    assert any(e["element_id"] == "A-EE1" for e in final["history"] if e["type"] == "engine_step")
