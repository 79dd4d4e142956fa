"""CPU of writing a stored state: the project's converters against SpiffWorkflow's own.

    .venv/bin/python bench/state_dump.py [--repeat 300]

Builds states the service stores: bench/lifecycle12.bpmn after its start and after 4 and 8
completions, and yekuo_current's HV_D_all_loops (processes/paths) after 10, 35 and 60 steps. Each
state is loaded once, then dumped --repeat times by the service's serializer (its own task and
workflow converters, serialization.py) and by the same serializer with SpiffWorkflow's
TaskConverter and WorkflowConverter.to_dict, both writing with the standard library's JSON
encoder as SpiffWorkflow's serialize_json does, and by the service's as it stores a plain state
(StateSerializer.stored_text: orjson), in alternating blocks; the fastest block of each is
reported (interference only adds time), with the ratios. The first two texts are checked to be
equal, the third to hold the same values.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(1, str(ROOT / "tests" / "engine"))

import replay  # noqa: E402
from cpu_per_call import BPMN, START_VARIABLES, values_for  # noqa: E402
from kit import UPSTREAM  # noqa: E402  (the service's serializer with SpiffWorkflow's converters)

from bpmn_service.engine import ProcessRunner, compile_bpmn  # noqa: E402
from bpmn_service.engine.serialization import (  # noqa: E402
    SERIALIZER,
    load_state,
    spec_from_json,
)
from bpmn_service.engine.warm import plain  # noqa: E402


def _lifecycle_states() -> list[tuple[str, str, str]]:
    compiled = compile_bpmn(BPMN.read_bytes(), BPMN.name, lambda _key, _lane: True)
    runner = ProcessRunner()
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    load = lambda: compiled.spec_json  # noqa: E731
    result = runner.start("lifecycle12", load, dict(START_VARIABLES), now=now)
    states = [("lifecycle12, started", compiled.spec_json, result.state)]
    for done in range(1, 9):
        task = result.ready_tasks[0]
        values = values_for(task.element_id, 0)
        result = runner.complete("lifecycle12", load, result.state, task.id, values, "u", now=now)
        if done in (4, 8):
            states.append((f"lifecycle12, {done} completed", compiled.spec_json, result.state))
    return states


def _shipped_states() -> list[tuple[str, str, str]]:
    replay.register_domain_functions()
    key, path = "yekuo_current", "HV_D_all_loops"
    model = ROOT / "processes" / f"{key}.bpmn"
    compiled = compile_bpmn(model.read_bytes(), model.name, lambda _key, _lane: True)
    run = replay.Replay(key, compiled.spec_json, [f.to_dict() for f in compiled.start_form])
    result = run.start(path, "BENCH")
    states = []
    for step, (element, values) in enumerate(replay.paths(key)["paths"][path], 1):
        result = run.step(element, values)
        if step in (10, 35, 60):
            states.append((f"{key} {path}, step {step}", compiled.spec_json, result.state))
    return states


def _fastest(write: Any, workflow: Any, repeat: int, blocks: int) -> tuple[float, str]:
    best = float("inf")
    text = ""
    for _ in range(blocks):
        began = time.process_time()
        for _ in range(repeat):
            text = write(workflow)
        best = min(best, (time.process_time() - began) / repeat)
    return best, text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300, help="dumps per block")
    parser.add_argument("--blocks", type=int, default=5, help="blocks per serializer")
    args = parser.parse_args()
    print(
        "| state | engine tasks | SpiffWorkflow's converters | the project's | ratio "
        "| the project's, orjson | ratio to SpiffWorkflow's |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    writers = {
        "theirs": UPSTREAM.serialize_json,
        "ours": SERIALIZER.serialize_json,
        "stored": lambda workflow: SERIALIZER.stored_text(workflow, plain=True),
    }
    for label, spec_json, state in [*_lifecycle_states(), *_shipped_states()]:
        spec, subs = spec_from_json(spec_json)
        workflow = load_state(state, spec, subs)
        if not plain(workflow):
            raise SystemExit(f"{label}: the state is not plain; the service writes it with json")
        tasks = len(workflow.tasks) + sum(len(s.tasks) for s in workflow.subprocesses.values())
        best = dict.fromkeys(writers, float("inf"))
        texts: dict[str, str] = {}
        for _ in range(2):  # alternate, so that a slow spell hits all
            for name, write in writers.items():
                took, texts[name] = _fastest(write, workflow, args.repeat, args.blocks)
                best[name] = min(best[name], took)
        if texts["theirs"] != texts["ours"]:
            raise SystemExit(f"{label}: the two serializers wrote different texts")
        if json.loads(texts["stored"]) != json.loads(texts["ours"]):
            raise SystemExit(f"{label}: the stored text holds other values")
        theirs, ours, stored = best["theirs"], best["ours"], best["stored"]
        print(
            f"| {label} | {tasks} | {1e6 * theirs:.0f} µs | {1e6 * ours:.0f} µs | "
            f"{ours / theirs:.2f} | {1e6 * stored:.0f} µs | {stored / theirs:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
