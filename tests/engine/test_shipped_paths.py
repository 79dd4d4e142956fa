"""Both 业扩报装 processes on every recorded path (processes/paths), each category and every
rework loop, through the engine facade: yekuo_current (现行) to A-EE1 and yekuo_streamlined (优化)
to B-EE1 (已送电). Every user task offered must have a candidate group with a demo user who can
take it. tests/test_processes.py drives one path of each process over HTTP on each database."""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from replay import ROOT, Replay, paths, register_domain_functions

from bpmn_service.engine import compile_bpmn, traversal
from bpmn_service.lanes import LaneGroups

POWERED_ON = {"yekuo_current": "A-EE1", "yekuo_streamlined": "B-EE1"}
CASES = [(key, name) for key in POWERED_ON for name in sorted(paths(key)["paths"])]
# The groups of config/lane-groups and config/users.toml that have a demo user.
STAFFED = {
    "hall_clerk", "yk_specialist", "plan_engineer", "dev_planning", "om_dept", "dispatch",
    "leadership", "inspection", "metering", "archive", "customer_manager", "project_manager",
    "service_center", "customer", "contractor",
}  # fmt: skip


LANES = LaneGroups.load(ROOT / "processes" / "lane-groups.toml")


@cache
def _deployed(key: str, directory: Path) -> tuple[str, list[dict[str, Any]]]:
    register_domain_functions()
    data = (directory / f"{key}.bpmn").read_bytes()
    compiled = compile_bpmn(data, f"{key}.bpmn", lambda _key, _lane: True)
    return compiled.spec_json, [f.to_dict() for f in compiled.start_form]


def run_path(
    key: str, path_name: str, directory: Path = ROOT / "processes"
) -> tuple[Replay, list[str], list[str]]:
    """Replay the path of the model in `directory`; the user tasks offered and the engine steps
    taken, in order."""
    spec_json, start_form = _deployed(key, directory)
    replay = Replay(key, spec_json, start_form)
    result = replay.start(path_name, f"YK-{path_name}")
    offered: list[str] = []
    steps = [s.element_id for s in result.steps]
    for element, values in paths(key)["paths"][path_name]:
        for task in result.ready_tasks:
            groups = set(
                LANES.groups_for(key, task.lane)
                if task.candidate_groups is None
                else task.candidate_groups
            )
            assert groups & STAFFED or task.candidate_users or task.assignee, (
                f"{task.element_id} offered to {sorted(groups)}: nobody can take it"
            )
        if "_message" not in values and "_external" not in values:
            offered.append(element)
        result = replay.step(element, values)
        steps.extend(s.element_id for s in result.steps)
    assert result.completed, [t.element_id for t in result.ready_tasks]
    assert result.ready_tasks == [] and result.external_tasks == []
    return replay, offered, steps


@pytest.mark.parametrize(("key", "path_name"), CASES, ids=[f"{k}-{n}" for k, n in CASES])
def test_path_runs_to_power_on(key: str, path_name: str) -> None:
    _replay, _offered, steps = run_path(key, path_name)
    assert POWERED_ON[key] in steps


def test_ready_and_waiting_questions_never_walk_the_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    """The index is actually used on a real path (parallel branches, boundary timers, a
    multi-instance co-sign): a silent fall-back to walking the whole tree, which would make every
    step several times slower again, fails here."""
    walks: Counter[tuple[int, bool]] = Counter()
    answers: Counter[str] = Counter()
    walk, indexed = traversal._walk, traversal._from_index

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
    run_path("yekuo_streamlined", "HV_D_important_concealed")
    ready, waiting = 16, 8
    assert answers["index"] > 100
    assert walks[(ready, True)] == 0 and walks[(waiting, True)] == 0, walks


@pytest.mark.parametrize(
    ("path_name", "reply", "works"),
    [
        ("LV_external_works", "B-UT02", {"B-UT03", "C-UT10"}),
        ("HV_S_ordinary", "C-UT12", {"B-UT03h"}),
    ],
)
def test_the_meter_is_offered_with_the_works_and_holds_up_power_on(
    path_name: str, reply: str, works: set[str]
) -> None:
    """Seed 004 §4.1: the meter (B-UT11) is installed beside the construction, from the plan
    reply on, and power-on (B-UT14) waits for it however late it comes."""
    spec_json, start_form = _deployed("yekuo_streamlined", ROOT / "processes")
    steps = paths("yekuo_streamlined")["paths"][path_name]
    meter = next(values for element, values in steps if element == "B-UT11")
    without_meter = [(e, v) for e, v in steps if e != "B-UT11"]
    replay = Replay("yekuo_streamlined", spec_json, start_form)
    result = replay.start(path_name, f"YK-METER-{path_name}")
    offered_with_reply: set[str] = set()
    for element, values in without_meter:
        if element == "B-UT14":
            break
        result = replay.step(element, values)
        if element == reply:
            offered_with_reply = {t.element_id for t in result.ready_tasks}
    assert {"B-UT11", *works} <= offered_with_reply
    assert [t.element_id for t in result.ready_tasks] == ["B-UT11"]  # power-on waits
    result = replay.step("B-UT11", meter)
    assert [t.element_id for t in result.ready_tasks] == ["B-UT14"]
