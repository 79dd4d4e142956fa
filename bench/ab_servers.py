"""Server CPU per API call of two source trees side by side, on one database, under the same load.

    .venv/bin/python bench/ab_servers.py --before /path/to/other/src \\
        --database-url postgresql://postgres@127.0.0.1:5432/test --calls me,claim

Server A runs the source tree given by --before (first on its PYTHONPATH, e.g. a `git archive` of
an older commit's `src`), server B this checkout; both `bpmn-service serve` on one new schema
(dropped after; SQLite files without --database-url). For each kind of call, blocks of
--per-block sequential calls alternate between A and B (A first in even blocks, B first in odd
ones), so a slow spell of a shared machine hits both alike; each block records the server's CPU
time (utime + stime from /proc). Prints the median CPU per call of each and B ÷ A; then B ÷ A of
each pair of blocks (run one after the other, so under much the same load) as their median, and
the ratio of the two sides' fastest blocks: interference only ever adds CPU time (a busy sibling
core, a cold cache), so on a noisy machine the minimum is the steadier estimate.

Calls: live (GET /health/live), me (GET /me), get (GET /tasks/{id}), claim (the first task of a
started instance; starting is not timed), complete (that task, claimed untimed before), lifecycle
(a whole instance of the 12-task process, sequentially: 29 API calls, its CPU counted per instance,
so --per-block is instances).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_per_call import BPMN, START_GROUP, Client, cpu_seconds, server_pid
from lifecycle import (
    USERS_FILE,
    auth,
    deploy,
    free_port,
    fresh_database,
    group_users,
    load_average,
    running_server,
)

CALLS = ("live", "me", "get", "claim", "complete", "lifecycle")


def block(client: Client, call: str, n: int, label: str, token: str) -> Callable[[], None]:
    """Prepare a block of n calls (untimed) and return the part to time."""
    tasks: list[dict[str, Any]] = []
    if call in ("get", "claim", "complete"):
        tasks = [client.start(f"{label}-{i}")["tasks"][0] for i in range(n)]
    if call == "complete":
        for task in tasks:
            client.claim(task)

    def run() -> None:
        for i in range(n):
            if call == "live":
                client.http.get("/health/live")
            elif call == "me":
                client.http.get("/me", headers=auth(token))
            elif call == "get":
                client.http.get(f"/tasks/{tasks[i]['id']}", headers=auth(token))
            elif call == "claim":
                client.claim(tasks[i])
            elif call == "lifecycle":
                client.run_instance(f"{label}-{i}")
            else:
                client.complete(tasks[i])

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the src directory server A runs")
    parser.add_argument("--database-url", help="postgresql://...; SQLite files without it")
    parser.add_argument("--calls", default="me,claim", help=f"comma list of {', '.join(CALLS)}")
    parser.add_argument("--blocks", type=int, default=8, help="blocks per server and call")
    parser.add_argument("--per-block", type=int, default=300, help="calls per block")
    args = parser.parse_args(argv)
    calls = args.calls.split(",")
    if unknown := set(calls) - set(CALLS):
        parser.error(f"unknown calls: {', '.join(sorted(unknown))}")
    users = group_users(USERS_FILE)
    token = users[START_GROUP].token
    print(f"load average before: {load_average()}")
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bpmn-ab-")))
        db = stack.enter_context(fresh_database(args.database_url, tmp))
        bases: dict[str, str] = {}
        pids: dict[str, int] = {}
        for side in ("A", "B"):
            (tmp / side).mkdir()
            if side == "A":  # the servers inherit this process's environment
                os.environ["PYTHONPATH"] = str(Path(args.before).resolve())
            port = free_port()
            bases[side] = stack.enter_context(running_server(db, tmp / side, "INFO", port))
            os.environ.pop("PYTHONPATH", None)
            pids[side] = server_pid(port)
        key = deploy(bases["B"], users, BPMN)
        clients = {side: Client(bases[side], users, key) for side in ("A", "B")}
        for side, client in clients.items():
            stack.callback(client.close)
            client.run_instance(f"WARM-{side}-{time.time_ns()}")
        print(
            f"\n| call | A: CPU ms per call | B: CPU ms per call | B ÷ A | B ÷ A, pairs | "
            f"B ÷ A, fastest blocks | database {db.label} |"
        )
        print("|---|---:|---:|---:|---:|---:|---|")
        for call in calls:
            per_call: dict[str, list[float]] = {"A": [], "B": []}
            for b in range(args.blocks):
                for side in ("A", "B") if b % 2 == 0 else ("B", "A"):
                    label = f"{call}-{side}-{b}-{time.time_ns()}"
                    timed = block(clients[side], call, args.per_block, label, token)
                    cpu0 = cpu_seconds(pids[side])
                    timed()
                    spent = cpu_seconds(pids[side]) - cpu0
                    per_call[side].append(1000 * spent / args.per_block)
            a, b_ = (statistics.median(per_call[s]) for s in ("A", "B"))
            pairs = statistics.median(
                y / x for x, y in zip(per_call["A"], per_call["B"], strict=True)
            )
            fastest = min(per_call["B"]) / min(per_call["A"])
            print(
                f"| {call} | {a:.2f} | {b_:.2f} | {b_ / a:.2f} | {pairs:.2f} | {fastest:.2f} | |",
                flush=True,
            )
    print(f"\nload average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
