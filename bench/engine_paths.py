"""CPU time of the engine facade on the shipped models: recorded paths replayed through
ProcessRunner, the state dumped and loaded at every step, as the service does.

    .venv/bin/python bench/engine_paths.py [--repeat 2]

Replays yekuo_current HV_D_all_loops (70 steps), yekuo_streamlined HV_S_cosign_one_rejects (31)
and yekuo_current LV_happy_no_concealed_works (25) from processes/paths, once to warm up, then
--repeat times, and prints the CPU seconds (time.process_time) of the timed part. CPU time depends
little on what else runs on the machine, so before/after pairs of a change can be compared on a
busy machine: run it with the other commit's `src` first on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(1, str(ROOT / "tests" / "engine"))

import replay  # noqa: E402

from bpmn_service.engine import compile_bpmn  # noqa: E402

PATHS = [
    ("yekuo_current", "HV_D_all_loops"),
    ("yekuo_streamlined", "HV_S_cosign_one_rejects"),
    ("yekuo_current", "LV_happy_no_concealed_works"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    replay.register_domain_functions()
    specs = {}
    for key, _ in PATHS:
        data = (ROOT / "processes" / f"{key}.bpmn").read_bytes()
        compiled = compile_bpmn(data, f"{key}.bpmn", lambda _key, _lane: True)
        specs[key] = (compiled.spec_json, [f.to_dict() for f in compiled.start_form])

    def once() -> None:
        for key, name in PATHS:
            run = replay.Replay(key, *specs[key])
            run.start(name, "BENCH")
            for element, values in replay.paths(key)["paths"][name]:
                run.step(element, values)
            assert run.result is not None and run.result.completed

    once()
    started = time.process_time()
    for _ in range(args.repeat):
        once()
    seconds = time.process_time() - started
    print(f"engine facade, {args.repeat} x 3 recorded paths: {seconds:.2f} CPU s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
