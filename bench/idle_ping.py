"""What the connection ping at every checkout cost a claim and a completion, in the service layer.

    .venv/bin/python bench/idle_ping.py --database-url postgresql://postgres@127.0.0.1:5432/test

db/connect.py pings a pooled PostgreSQL connection only when it sat idle over IDLE_PING_SECONDS;
it used to ping at every checkout (pool_pre_ping). In one process, on a new schema (dropped
after), N instances of bench/lifecycle12.bpmn are started, then their first tasks claimed, then
completed, calling the service functions directly; call by call the two ways take turns
(IDLE_PING_SECONDS -1, a ping at every checkout, for every other call), so both see the same
machine. Reported: the median CPU time of the calling thread (where psycopg works) and the
median wall time per call, over the rounds after a first one that warms up.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_per_call import START_VARIABLES, values_for
from inprocess import deployed
from lifecycle import load_average

MODES = {"every checkout": -1.0, "after idle": 1.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="postgresql://...")
    parser.add_argument("--calls", type=int, default=200, help="claims and completes a round")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args(argv)

    from bpmn_service.db import connect
    from bpmn_service.services import instances, tasks

    print(f"load average before: {load_average()}", file=sys.stderr)
    cpu: dict[tuple[str, str], list[float]] = {}
    wall: dict[tuple[str, str], list[float]] = {}
    with deployed(args.database_url, "bpmn-ping-") as setup:
        ctx, key, starter = setup.ctx, setup.key, setup.starter

        def call(kind: str, task: Any) -> None:
            if kind == "claim":
                tasks.claim_task(ctx, task.id, starter)
            else:
                tasks.complete_task(ctx, task.id, starter, values_for(task.element_id, 0))

        for r in range(args.rounds + 1):  # the first round warms up and is not counted
            firsts = []
            for _ in range(args.calls):
                business_key = f"PING-{uuid.uuid4().hex[:8]}"
                started = instances.start_instance(
                    ctx, key, business_key, dict(START_VARIABLES), starter
                )
                assert isinstance(started, instances.StartResult)
                firsts.append(started.tasks[0])
            for kind in ("claim", "complete"):
                for i, task in enumerate(firsts):
                    mode = list(MODES)[(i + r) % 2]
                    connect.IDLE_PING_SECONDS = MODES[mode]
                    began_cpu, began = time.thread_time(), time.perf_counter()
                    call(kind, task)
                    if r:
                        cpu.setdefault((kind, mode), []).append(time.thread_time() - began_cpu)
                        wall.setdefault((kind, mode), []).append(time.perf_counter() - began)
                connect.IDLE_PING_SECONDS = MODES["after idle"]
            print(f"round {r}/{args.rounds}", file=sys.stderr)
    print(f"\n### {setup.label}, {args.rounds} rounds of {args.calls} claims and completes\n")
    print("| call | ping | CPU per call | wall per call |")
    print("|---|---|---:|---:|")
    for kind in ("claim", "complete"):
        for mode in MODES:
            print(
                f"| {kind} | {mode} | {1000 * statistics.median(cpu[(kind, mode)]):.2f} ms | "
                f"{1000 * statistics.median(wall[(kind, mode)]):.2f} ms |"
            )
    print(f"\nload average after: {load_average()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
