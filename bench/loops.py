"""Loops without limit: the cost of one pass of a rework loop, early and after thousands of passes.

    .venv/bin/python bench/loops.py [--passes 5000] [--layer engine|service|both|timer]
                                    [--database-url URL]

bench/rework_loop.bpmn is a one-task loop (a user task, then an exclusive gateway back to it).
Each pass completes the task with `redo = true`:

  engine   the engine facade (ProcessRunner.complete), the state dumped and loaded at every pass
           as the service does; no database.
  service  the service layer in-process (services.tasks claim + complete) on a fresh SQLite file
           or a new schema of the given PostgreSQL database (dropped after): engine, task
           projection, history and commit, minus HTTP.
  timer    the engine facade on bench/hourly_reminder.bpmn instead: a user task with a
           non-interrupting boundary timer `R/PT1H` whose path runs a script and ends; a pass
           is one firing (ProcessRunner.fire_timers an hour later), the task stays open.

For each layer it prints the CPU time (time.process_time) and the wall time of a pass, as the
median over passes 1–20 ("pass 10") and over the last 20 passes, their ratio, and the stored
state's size and engine task count at pass 10 and at the end. CPU time depends little on what
else the machine runs; the service layer's CPU time includes SQLite's work (in-process) but not
PostgreSQL's (another process). Before compaction (state format 3) the 500th pass failed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(1, str(ROOT / "bench"))

import lifecycle  # noqa: E402

from bpmn_service.engine import ProcessRunner, SpecCache, compile_bpmn  # noqa: E402

BPMN = Path(__file__).resolve().with_name("rework_loop.bpmn")
TIMER_BPMN = Path(__file__).resolve().with_name("hourly_reminder.bpmn")
WINDOW = 20

# one pass; the stored state now; what to do at the end
Pass = Callable[[int], None]
Layer = tuple[Pass, Callable[[], str], Callable[[], None]]


def engine_passes() -> Layer:
    compiled = compile_bpmn(BPMN.read_bytes(), BPMN.name, lambda _key, _lane: True)
    runner = ProcessRunner(SpecCache())

    def load() -> str:
        return compiled.spec_json

    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    result = runner.start("rework_loop", load, {}, now=now)

    def one(i: int) -> None:
        nonlocal result
        (task,) = result.ready_tasks
        values = {"redo": True, "pass": i}
        result = runner.complete(
            "rework_loop", load, result.state, task.id, values, "bench", now=now + timedelta(i)
        )

    return one, lambda: result.state, lambda: None


def timer_passes() -> Layer:
    compiled = compile_bpmn(TIMER_BPMN.read_bytes(), TIMER_BPMN.name, lambda _key, _lane: True)
    runner = ProcessRunner(SpecCache())

    def load() -> str:
        return compiled.spec_json

    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    result = runner.start("hourly_reminder", load, {"reminders": 0}, now=start)

    def one(i: int) -> None:
        nonlocal result
        now = start + timedelta(hours=i, minutes=1)
        result = runner.fire_timers("hourly_reminder", load, result.state, now=now)
        assert [s.element_id for s in result.steps] == ["count", "counted"], result.steps

    return one, lambda: result.state, lambda: None


def service_passes(db: lifecycle.Database, workdir: Path) -> Layer:
    from sqlalchemy import select

    from bpmn_service.config import Settings
    from bpmn_service.context import AppContext
    from bpmn_service.db import migrate
    from bpmn_service.db.models import ProcessInstance
    from bpmn_service.identity import Principal
    from bpmn_service.services import deployments, instances, tasks

    (workdir / "processes").mkdir()
    settings = Settings(
        database_url=db.url,
        database_schema=db.schema,
        users_file=lifecycle.USERS_FILE,
        processes_dir=workdir / "processes",
        lane_groups_file=ROOT / "processes" / "lane-groups.toml",
        registry_file=ROOT / "config" / "construction-units.toml",
    )
    ctx = AppContext.create(settings)
    migrate.upgrade(ctx.engine)
    users = lifecycle.group_users(lifecycle.USERS_FILE)
    analyst, clerk = users["analyst"], users["hall_clerk"]
    deployments.deploy(
        ctx,
        [deployments.BpmnFile(BPMN.name, BPMN.read_bytes())],
        Principal(analyst.user_id, analyst.groups),
        source="api",
    )
    principal = Principal(clerk.user_id, clerk.groups)
    started = instances.start_instance(ctx, "rework_loop", "LOOP-1", {}, principal)
    assert isinstance(started, instances.StartResult)
    task_id = started.tasks[0].id
    instance_id = started.instance.id

    def one(i: int) -> None:
        nonlocal task_id
        tasks.claim_task(ctx, task_id, principal)
        done = tasks.complete_task(ctx, task_id, principal, {"redo": True, "pass": i})
        assert isinstance(done, tasks.CompletionResult)
        (task,) = done.next_tasks
        task_id = task.id

    def state() -> str:
        with ctx.sessions() as session:
            stored = session.scalars(
                select(ProcessInstance.state).where(ProcessInstance.id == instance_id)
            ).one()
        return str(stored)

    return one, state, ctx.engine.dispose


def measure(label: str, layer: Layer, passes: int) -> dict[str, Any]:
    one, state_now, _ = layer
    cpu: list[float] = []
    wall: list[float] = []
    states: dict[int, str] = {}
    for i in range(1, passes + 1):
        c0, w0 = time.process_time(), time.perf_counter()
        one(i)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
        if i in (10, passes):
            states[i] = state_now()
        if i % 500 == 0:
            lifecycle.progress(f"{label}: {i} passes")
    early, late = slice(0, WINDOW), slice(passes - WINDOW, passes)

    def sizes(state: str) -> tuple[int, int]:
        stored = json.loads(state)
        return len(state), len(stored["tasks"])

    return {
        "label": label,
        "cpu": (statistics.median(cpu[early]) * 1e3, statistics.median(cpu[late]) * 1e3),
        "wall": (statistics.median(wall[early]) * 1e3, statistics.median(wall[late]) * 1e3),
        "state": (sizes(states[10]), sizes(states[passes])),
        "compacted": json.loads(states[passes]).get("compacted"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passes", type=int, default=5000)
    parser.add_argument("--layer", choices=["engine", "service", "both", "timer"], default="both")
    parser.add_argument("--database-url", help="postgresql://… (default: a fresh SQLite file)")
    args = parser.parse_args()
    if args.passes < 2 * WINDOW:
        parser.error(f"--passes must be at least {2 * WINDOW}")
    rows = []
    if args.layer == "timer":
        rows.append(measure("engine facade, hourly timer", timer_passes(), args.passes))
    if args.layer in ("engine", "both"):
        rows.append(measure("engine facade", engine_passes(), args.passes))
    if args.layer in ("service", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            with lifecycle.fresh_database(args.database_url, workdir) as db:
                layer = service_passes(db, workdir)
                try:
                    rows.append(measure(f"service layer, {db.label}", layer, args.passes))
                finally:
                    layer[2]()
    n = args.passes
    model = TIMER_BPMN.name if args.layer == "timer" else BPMN.name
    print(f"{lifecycle.machine()}; {n} passes of bench/{model}\n")
    print(
        f"| layer | CPU ms, pass 10 | CPU ms, pass {n} | ratio | wall ms, pass 10 | "
        f"wall ms, pass {n} | ratio | state at 10 | state at {n} | tasks compacted |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        (c10, cn), (w10, wn) = row["cpu"], row["wall"]
        (b10, t10), (bn, tn) = row["state"]
        print(
            f"| {row['label']} | {c10:.2f} | {cn:.2f} | {cn / c10:.2f} | {w10:.2f} | {wn:.2f} | "
            f"{wn / w10:.2f} | {b10} B, {t10} tasks | {bn} B, {tn} tasks | {row['compacted']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
