"""Every recorded path of yekuo_streamlined, stopped at every waiting point, migrated onto an edited
copy (a step deleted, another moved later, a required field added; chosen from the model,
tests/model_edits.py) and run to the end on the copy. A case waiting at the deleted step is
reported by the dry run; the supervisor moves it to the step's successor, then migrates it."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

import pytest
from replay import ROOT, Replay, paths, register_domain_functions

from bpmn_service.engine import RunResult, compile_bpmn
from bpmn_service.engine.repair import Instruction
from model_edits import Edit, edited_copy

KEY = "yekuo_streamlined"
PATHS = paths(KEY)["paths"]


@cache
def _specs() -> tuple[str, str, list[dict[str, Any]], Edit]:
    register_domain_functions()
    xml = (ROOT / "processes" / f"{KEY}.bpmn").read_bytes()
    longest = max(PATHS.values(), key=lambda steps: len({s[0] for s in steps}))
    edit = edited_copy(
        xml,
        [element for element, _ in longest],
        [[element for element, _ in steps] for steps in PATHS.values()],
    )
    source = compile_bpmn(xml, f"{KEY}.bpmn", lambda _k, _l: True)
    target = compile_bpmn(edit.xml, f"{KEY}.bpmn", lambda _k, _l: True)
    return source.spec_json, target.spec_json, [f.to_dict() for f in source.start_form], edit


def _open(result: RunResult) -> set[str]:
    return (
        {t.element_id for t in result.ready_tasks}
        | {t.element_id for t in result.external_tasks}
        | {w.element_id for w in result.waits}
    )


def _finish(
    replay: Replay, steps: list[list[Any]], everything: list[list[Any]], edit: Edit
) -> None:
    """Run the rest of a recorded path on the edited copy: the deleted review's steps drop out,
    steps run when their element is open (the moved step comes later), the new field is filled."""
    remaining = [s for s in steps if s[0] != edit.deleted]
    latest = dict(everything)
    result = replay.result
    assert result is not None
    for _ in range(len(everything) * 3):
        if result.completed:
            break
        ready = _open(result)
        step = next((s for s in remaining if s[0] in ready), None)
        if step is not None:
            remaining.remove(step)
            element, values = step
        else:  # a moved step met again: do it as the path did it before
            again = [e for e in sorted(ready) if e in latest]
            assert again, (sorted(ready), remaining)
            element = again[0]
            values = latest[element]
        if element == edit.new_field[0]:
            values = {**values, edit.new_field[1]: "checked"}
        result = replay.step(element, values)
    assert result.completed, sorted(_open(result))


# A case waiting at one point: its path, the steps done, and the engine's answer and clock there.
Point = tuple[str, int, RunResult, datetime]
# The waiting points are shared out between this many tests, so that parallel workers (xdist)
# can take them; together they cover every point once.
SHARDS = 4


@cache
def _waiting_points() -> list[Point]:
    """One case per distinct waiting point: the set of open elements a case can stand at on the
    recorded paths (the same point reached on several paths counts once), kept as the replay
    left it there, so that each migration starts from it instead of replaying the path again."""
    source_json, _, start_form, _ = _specs()
    points: dict[frozenset[str], Point] = {}
    for name, steps in sorted(PATHS.items()):
        replay = Replay(KEY, source_json, start_form)
        result = replay.start(name, f"YK-{name}")
        for done, (element, values) in enumerate(steps):
            points.setdefault(frozenset(_open(result)), (name, done, result, replay.now))
            result = replay.step(element, values)
    return sorted(points.values(), key=lambda point: point[:2])


@pytest.mark.parametrize("shard", range(SHARDS))
def test_a_case_at_every_waiting_point_migrates_to_the_edited_copy_and_completes(
    shard: int,
) -> None:
    points = _waiting_points()
    assert len(points) > 20
    for point in points[shard::SHARDS]:
        _migrate_and_finish(*point)


def _migrate_and_finish(path_name: str, done: int, waiting: RunResult, now: datetime) -> None:
    source_json, target_json, start_form, edit = _specs()
    steps = PATHS[path_name]
    before = Replay(KEY, source_json, start_form)
    before.result, before.now = waiting, now
    assert not before.result.completed
    target = ("edited", lambda: target_json)
    source = (KEY, before.load)
    state = before.result.state
    plan, _ = before.runner.migrate(source, target, state, {}, now=before.now, dry_run=True)
    if edit.deleted in _open(before.result):
        # The dry run names the removed step; the supervisor moves the case (on its version) to
        # where the edited model continues, then migrates.
        assert [p.element_id for p in plan.problems] == [edit.deleted]
        before.result = before.runner.modify(
            KEY,
            before.load,
            state,
            [Instruction("cancel", edit.deleted), Instruction("start_before", edit.successor)],
            now=before.now,
        )
        state = before.result.state
    else:
        assert plan.ok, plan.problems
    found, migrated = before.runner.migrate(
        source, target, state, {}, now=before.now, dry_run=False
    )
    assert found.ok and migrated is not None, found.problems
    # Every case completes on the copy: no join of it waits for good, and none is warned of.
    assert found.warnings == [] and plan.warnings in ([], found.warnings), found.warnings
    # Every open task survives with its id.
    assert {t.id for t in before.result.ready_tasks} <= {t.id for t in migrated.ready_tasks}
    after = Replay(KEY, target_json, start_form)
    after.result, after.now = migrated, before.now
    _finish(after, steps[done:], steps, edit)
