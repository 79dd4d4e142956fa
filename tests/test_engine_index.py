"""The engine answers SpiffWorkflow's frequent questions from its task index, not by tree walks.

conftest.py switches `traversal.VERIFY` on, so every indexed answer in the suite is compared with
SpiffWorkflow's own walk; this test makes sure the index is actually used on a real path (parallel
branches, boundary timers, a multi-instance co-sign), so that a silent fall-back to walking the
whole tree, which would make every step several times slower again, fails here.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from bpmn_service.engine import traversal
from conftest import Api
from process_paths import PROCESSES, drive

READY, WAITING = 16, 8


def test_ready_and_waiting_questions_never_walk_the_tree(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    walks: Counter[tuple[int, bool]] = Counter()
    walk = traversal._walk
    indexed = traversal._from_index
    answers = Counter[str]()

    def counting_walk(it: Any) -> Any:
        root = it.task_list[0]
        from_root = root is root.workflow.task_tree and it.end_at_spec is None
        walks[(it.task_filter.state, from_root)] += 1
        return walk(it)

    def counting_index(it: Any) -> Any:
        found = indexed(it)
        answers["index" if found is not None else "walk"] += 1
        return found

    monkeypatch.setattr(traversal, "VERIFY", False)  # verification walks the tree on purpose
    monkeypatch.setattr(traversal, "_walk", counting_walk)
    monkeypatch.setattr(traversal, "_from_index", counting_index)
    assert api.deploy(PROCESSES / "yekuo_streamlined.bpmn").status_code == 201
    final = drive(api, "yekuo_streamlined", "HV_D_important_concealed", "YK-INDEX-1")
    assert final["status"] == "completed"
    assert answers["index"] > 100
    assert walks[(READY, True)] == 0 and walks[(WAITING, True)] == 0, walks
