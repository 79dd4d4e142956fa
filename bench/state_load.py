"""CPU of loading a stored state: what a call pays when its case is not warm in its process.

    .venv/bin/python bench/state_load.py [--repeat 200]

A call on a case whose last change another server process made (or a timer, a worker, a restart)
loads the stored text: JSON parsing, then every engine task rebuilt with its variables. Builds
the states of bench/state_dump.py (bench/lifecycle12.bpmn after its start and after 4 and 8
completions; yekuo_current's HV_D_all_loops after 10, 35 and 60 steps), writes each as the
service stores it, and loads it --repeat times per block; the fastest block is reported
(interference only adds time). Only public functions of the service are used, so the same file
measures an older tree: `PYTHONPATH=<its src> .venv/bin/python bench/state_load.py`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from state_dump import _lifecycle_states, _shipped_states

from bpmn_service.engine.serialization import dump_state, load_state, spec_from_json


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="loads per block")
    parser.add_argument("--blocks", type=int, default=5)
    args = parser.parse_args()
    print("| state | engine tasks | stored text | load |")
    print("|---|---:|---:|---:|")
    for label, spec_json, state in [*_lifecycle_states(), *_shipped_states()]:
        spec, subs = spec_from_json(spec_json)
        workflow = load_state(state, spec, subs)
        text = dump_state(workflow)  # as this tree writes it
        tasks = len(workflow.tasks) + sum(len(s.tasks) for s in workflow.subprocesses.values())
        best = float("inf")
        for _ in range(args.blocks):
            began = time.process_time()
            for _ in range(args.repeat):
                load_state(text, spec, subs)
            best = min(best, (time.process_time() - began) / args.repeat)
        print(f"| {label} | {tasks} | {len(text.encode()):,} B | {1e6 * best:,.0f} µs |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
