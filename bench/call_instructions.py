"""Instructions per API call, counted by callgrind: a measure a shared machine does not disturb.

    .venv/bin/python bench/call_instructions.py --database-url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/call_instructions.py --before /path/to/other/src --database-url ...

CPU time per call moves with whatever else the machine runs (a busy sibling core, a cold cache,
the kernel's 10 ms ticks); the number of instructions a call executes does not. This runs the
service's FastAPI app in a process under `valgrind --tool=callgrind` and drives it through ASGI as
bench/stack_split.py does (no uvicorn, no socket: middlewares, routing, authentication, the
service layer, SQLAlchemy, psycopg and libpq, all in this process; PostgreSQL's own work is in
its processes and not counted). Callgrind counts nothing while the database is set up, the
process deployed and a few instances warmed up; then, for --calls instances of
bench/lifecycle12.bpmn each: starting them (`POST .../instances`), reading each first task
(`GET /tasks/{id}`), claiming it and completing it, each kind dumped apart. Counts are user-space
instructions: the kernel's work for a round trip (a system call, a context switch) is not in
them, so a change that saves round trips saves more time than they show.

With --before, a tree given as its `src` directory (e.g. a `git archive` of an older commit) is
measured the same way in turn with this checkout, --runs times each, and the ratio printed. Two
runs of one tree agree to within about half a per cent. Needs Debian's valgrind.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_per_call import START_VARIABLES, values_for
from inprocess import deployed
from stack_split import asgi_request

KINDS = ("start", "get", "claim", "complete")
API = "/api/v1"


def _control(*args: str) -> None:
    """A callgrind_control command to this process. Callgrind reads commands while the program
    runs, so the process keeps running a little loop until the command is answered; that loop's
    instructions are measured apart ("idle") and taken off each kind."""
    done = subprocess.Popen(
        ["callgrind_control", *args, str(os.getpid())], stdout=subprocess.DEVNULL
    )
    while done.poll() is None:
        sum(range(1000))


def _measure(database_url: str | None, calls: int) -> None:
    """Inside callgrind: set up untimed, then each kind of call between two dumps."""
    from bpmn_service.main import create_app

    with deployed(database_url, "bpmn-instr-") as setup:
        app = create_app(ctx=setup.ctx)
        key, token = setup.key, setup.clerk.token
        first_tasks: list[tuple[str, str]] = []  # (task id, element id)

        async def call(kind: str, task_id: str, element_id: str) -> None:
            if kind == "start":
                body = {"business_key": f"I-{uuid.uuid4().hex[:12]}", "variables": START_VARIABLES}
                path = f"{API}/process-definitions/{key}/instances"
                status, answer = await asgi_request(app, path, token, body)
                task = json.loads(answer)["tasks"][0] if status == 201 else {}
                first_tasks.append((task.get("id", ""), task.get("element_id", "")))
            elif kind == "get":
                path = f"{API}/tasks/{task_id}"
                status, _ = await asgi_request(app, path, token, method="GET")
            elif kind == "claim":
                status, _ = await asgi_request(app, f"{API}/tasks/{task_id}/claim", token)
            else:
                body = {"variables": values_for(element_id, 0)}
                path = f"{API}/tasks/{task_id}/complete"
                status, _ = await asgi_request(app, path, token, body)
            if status != (201 if kind == "start" else 200):
                raise SystemExit(f"{kind} answered {status}")

        async def one_of_each(n: int, dump: bool) -> None:
            first_tasks.clear()
            for _ in range(n):
                await call("start", "", "")
            if dump:
                _control("--dump=start")
            for kind in KINDS[1:]:
                for task_id, element_id in first_tasks:
                    await call(kind, task_id, element_id)
                if dump:
                    _control(f"--dump={kind}")

        async def run() -> None:
            await one_of_each(8, dump=False)  # warm up: caches, prepared statements, the pool
            _control("--instr=on")
            _control("--zero")
            _control("--dump=idle")
            await one_of_each(calls, dump=True)
            _control("--instr=off")

        asyncio.run(run())


def _counts(directory: Path) -> dict[str, int]:
    """Instructions of each dump, by its trigger (the kind of call)."""
    counts: dict[str, int] = {}
    for dump in directory.glob("cg.*.*"):
        text = dump.read_text(errors="replace")
        trigger = re.search(r"^desc: Trigger: .*dump (\w+)", text, re.M)
        totals = re.search(r"^totals: (\d+)", text, re.M)
        if trigger and totals:
            counts[trigger.group(1)] = int(totals.group(1))
    return counts


def _one_run(src: Path | None, args: argparse.Namespace) -> dict[str, float]:
    """Instructions per call of each kind, for the tree `src` (None: this checkout)."""
    with tempfile.TemporaryDirectory(prefix="bpmn-callgrind-") as out:
        env = dict(os.environ)
        if src is not None:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}/cg.%p",
            sys.executable,
            __file__,
            "--inside",
            "--calls",
            str(args.calls),
        ]
        if args.database_url:
            command += ["--database-url", args.database_url]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        counts = _counts(Path(out))
        if done.returncode != 0 or set(counts) != {"idle", *KINDS}:
            raise SystemExit(f"the run under callgrind failed:\n{done.stderr[-3000:]}")
    return {kind: (counts[kind] - counts["idle"]) / args.calls for kind in KINDS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="postgresql://...; a SQLite file without it")
    parser.add_argument("--before", type=Path, help="the src directory of a tree to compare")
    parser.add_argument("--calls", type=int, default=60, help="calls of each kind per run")
    parser.add_argument("--runs", type=int, default=2, help="runs of each tree, taking turns")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inside:
        _measure(args.database_url, args.calls)
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    trees: dict[str, Path | None] = {"this tree": None}
    if args.before is not None:
        trees = {"before": args.before.resolve(), "this tree": None}
    per_tree: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for run in range(args.runs):
        for name, src in trees.items():
            per_tree[name].append(_one_run(src, args))
            print(f"run {run + 1}/{args.runs}: {name}", file=sys.stderr)
    print(f"\n{args.calls} calls of each kind per run, {args.runs} runs; millions of instructions")
    print("per call (the runs' values in brackets)\n")
    names = list(trees)
    header = " | ".join(names)
    ratio = " | this tree ÷ before" if args.before is not None else ""
    print(f"| call | {header}{ratio} |")
    print("|---|" + "---:|" * (len(names) + (1 if ratio else 0)))
    for kind in KINDS:
        cells = []
        medians = {}
        for name in names:
            values = [r[kind] for r in per_tree[name]]
            medians[name] = statistics.median(values)
            spread = ", ".join(f"{v / 1e6:.2f}" for v in values)
            cells.append(f"{medians[name] / 1e6:.2f} ({spread})")
        row = f"| {kind} | " + " | ".join(cells)
        if ratio:
            row += f" | {medians['this tree'] / medians['before']:.3f}"
        print(row + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
