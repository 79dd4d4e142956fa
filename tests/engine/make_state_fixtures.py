"""Write stored-state fixtures: instances of the shipped processes stopped at waiting points.

    PYTHONPATH=<checkout>/src .venv/bin/python tests/engine/make_state_fixtures.py [--label L]

Run it with the engine of the checkout whose stored format the fixtures should keep (an older
commit's `src/` on PYTHONPATH); each fixture records the deployed spec JSON, the stored state as
that engine wrote it, the path (its name and its steps as recorded then: a later model may take
the steps in another order) and the number of its steps already done; the deployed spec JSON
is kept once per process (<label>-<process>.spec.json), as a deployment keeps it.
tests/engine/test_stored_states.py loads every fixture with today's engine and runs it to the end.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from replay import ROOT, STATES, Replay, paths, register_domain_functions

from bpmn_service.engine import compile_bpmn

# process, path, the numbers of steps after which the state is kept
STOPS = [
    ("yekuo_current", "HV_D_all_loops", (9, 35, 60)),
    ("yekuo_current", "LV_happy_no_concealed_works", (1, 12, 24)),
    ("yekuo_streamlined", "HV_S_cosign_one_rejects", (8, 12, 20, 28)),
    ("yekuo_streamlined", "LV_external_works", (1, 7, 14)),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", required=True, help="the commit the engine comes from")
    args = parser.parse_args()
    STATES.mkdir(exist_ok=True)
    register_domain_functions()
    for key, path_name, stops in STOPS:
        data = (ROOT / "processes" / f"{key}.bpmn").read_bytes()
        compiled = compile_bpmn(data, f"{key}.bpmn", lambda _key, _lane: True)
        recorded = paths(key)["paths"]
        name = path_name
        steps = recorded[name]
        start_form = [f.to_dict() for f in compiled.start_form]
        spec_file = STATES / f"{args.label}-{key}.spec.json"
        spec = {"spec_json": compiled.spec_json, "start_form": start_form}
        spec_file.write_text(json.dumps(spec, ensure_ascii=False) + "\n")
        replay = Replay(key, compiled.spec_json, start_form)
        replay.start(name, f"FX-{key}-{name}")
        for done, (element, values) in enumerate(steps, start=1):
            replay.step(element, values)
            if done in stops:
                assert replay.result is not None and not replay.result.completed
                fixture = {
                    "written_by": args.label,
                    "process": key,
                    "path": name,
                    "steps_done": done,
                    "now": replay.now.isoformat(),
                    "spec": spec_file.name,
                    "state": replay.result.state,
                    "steps": steps,
                }
                target = STATES / f"{args.label}-{key}-{name}-{done}.json"
                target.write_text(json.dumps(fixture, ensure_ascii=False) + "\n")
                sys.stdout.write(f"{target.name}: {len(replay.result.state)} bytes\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
