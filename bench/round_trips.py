"""Wall time and database CPU per call of two source trees: what a saved round trip is worth.

    .venv/bin/python bench/round_trips.py --before /path/to/other/src \\
        --database-url postgresql://postgres@127.0.0.1:5432/test

Callgrind (bench/call_instructions.py) counts the instructions of the service's own process; a
statement left out (a BEGIN, a COMMIT) saves more than those: the kernel's work for the round
trip, the wait for the answer, and PostgreSQL's own work. This measures those. Each tree (the one
given by --before, e.g. a `git archive` of an older commit's `src`, and this checkout) runs in a
process of its own that drives the service's FastAPI app through ASGI, as bench/stack_split.py
does, on a new schema of the database (dropped after); the two take turns, round after round.
In each round, a process starts --calls instances of bench/lifecycle12.bpmn (untimed), then
times a block of each kind of call: `GET /tasks/{id}` of the first tasks, their claims, and the
inbox (`GET /tasks?unassigned=true`), one call after the other. Per call it records the wall
time, this process's CPU time (user + system: the kernel's work for the round trips included)
and the CPU time of the PostgreSQL backends of this process's connections (utime + stime from
/proc, so the database must run on this machine). Medians over the rounds, then this tree ÷
before.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_per_call import START_VARIABLES
from inprocess import deployed
from stack_split import asgi_request

KINDS = ("get", "claim", "inbox")
MEASURES = ("wall", "cpu", "db_cpu")
API = "/api/v1"
TICKS = os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _backend_cpu(pids: set[int]) -> float:
    """CPU seconds the PostgreSQL backends `pids` used so far (utime + stime)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # a backend that ended (a connection the pool replaced)
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def _inside(database_url: str, calls: int) -> None:
    """One round of one tree: its figures per call, as JSON on stdout."""
    from sqlalchemy import event, text

    from bpmn_service.main import create_app
    from bpmn_service.services import instances

    with deployed(database_url, "bpmn-trips-") as setup:
        ctx = setup.ctx
        backends: set[int] = set()

        @event.listens_for(ctx.engine, "connect")
        def _remember(dbapi_connection: Any, _record: Any) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backends.add(cursor.fetchone()[0])
            dbapi_connection.rollback()

        ctx.engine.dispose()  # connections made from now on are remembered
        app = create_app(ctx=ctx)
        token = setup.clerk.token

        def first_task() -> str:
            business_key = f"T-{uuid.uuid4().hex[:12]}"
            started = instances.start_instance(
                ctx, setup.key, business_key, dict(START_VARIABLES), setup.starter
            )
            assert isinstance(started, instances.StartResult)
            return str(started.tasks[0].id)

        async def call(kind: str, task_id: str) -> None:
            if kind == "get":
                status, _ = await asgi_request(app, f"{API}/tasks/{task_id}", token, method="GET")
            elif kind == "claim":
                status, _ = await asgi_request(app, f"{API}/tasks/{task_id}/claim", token)
            else:
                path = f"{API}/tasks?unassigned=true&limit=20"
                status, _ = await asgi_request(app, path, token, method="GET")
            if status != 200:
                raise SystemExit(f"{kind} answered {status}")

        async def run() -> dict[str, dict[str, float]]:
            warm = [first_task() for _ in range(5)]
            for kind in KINDS:
                for task_id in warm:
                    await call(kind, task_id)
            firsts = [first_task() for _ in range(calls)]
            figures: dict[str, dict[str, float]] = {}
            for kind in KINDS:
                began = (time.perf_counter(), _own_cpu(), _backend_cpu(backends))
                for task_id in firsts:
                    await call(kind, task_id)
                ended = (time.perf_counter(), _own_cpu(), _backend_cpu(backends))
                figures[kind] = {
                    m: 1000 * (e - b) / calls
                    for m, b, e in zip(MEASURES, began, ended, strict=True)
                }
            return figures

        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        print(json.dumps(asyncio.run(run())))


def _round(src: Path | None, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    command = [sys.executable, __file__, "--inside", "--database-url", args.database_url]
    command += ["--calls", str(args.calls)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"a round failed:\n{done.stderr[-3000:]}")
    figures: dict[str, dict[str, float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="postgresql://... on this machine")
    parser.add_argument("--before", type=Path, help="the src of a tree to compare (required)")
    parser.add_argument("--calls", type=int, default=400, help="calls of each kind a round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each tree, taking turns")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inside:
        _inside(args.database_url, args.calls)
        return 0
    from lifecycle import load_average

    if args.before is None:
        parser.error("--before is required")
    if not args.database_url.startswith("postgresql"):
        raise SystemExit("PostgreSQL only: the backends' CPU is read from /proc")
    print(f"load average before: {load_average()}", file=sys.stderr)
    trees: dict[str, Path | None] = {"before": args.before.resolve(), "this tree": None}
    results: dict[str, list[dict[str, dict[str, float]]]] = {name: [] for name in trees}
    for r in range(args.rounds):
        for name, src in trees.items():
            results[name].append(_round(src, args))
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
    print(f"\n{args.rounds} rounds of {args.calls} calls of each kind, PostgreSQL on this machine")
    print("milliseconds per call (medians over the rounds)\n")
    print("| call | measure | before | this tree | this tree ÷ before |")
    print("|---|---|---:|---:|---:|")
    names = {"wall": "wall time", "cpu": "service process CPU", "db_cpu": "PostgreSQL CPU"}
    for kind in KINDS:
        for measure in MEASURES:
            a = statistics.median(r[kind][measure] for r in results["before"])
            b = statistics.median(r[kind][measure] for r in results["this tree"])
            print(f"| {kind} | {names[measure]} | {a:.3f} | {b:.3f} | {b / a:.2f} |")
    print(f"\nload average after: {load_average()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
