"""The inbox at a million open tasks: its queries' p95 against the same queries at ten thousand.

    .venv/bin/python bench/inbox.py --database-url postgresql://postgres@127.0.0.1:5432/test \\
        [--sizes 10000,1000000] [--repeat 40] [--keep] [--explain]
    .venv/bin/python bench/inbox.py --sizes 2000,50000          # SQLite files (smaller sizes)

For each size it builds a database of that many open user tasks in a new PostgreSQL schema (or a
fresh SQLite file), with the service's own migrations and tables:

* The task kinds are those the shipped models (processes/yekuo_*.bpmn) really create: each
  recorded path of processes/paths is replayed through the engine facade and every ready user
  task it shows is one kind (element, name, lane, candidate groups and users, form values), as
  often as the paths show it. Each generated task is such a kind, in an instance of its process
  (one instance row per 1.5 tasks), created over the last 120 days, due 1–20 working days after
  (some with no due date), 25 % claimed by a member of its first candidate group
  (config/users.toml), its candidate rows as the projection writes them.
* Rows go in with bulk inserts in batches (COPY-like executemany), then VACUUM ANALYZE. The instance
  rows carry a placeholder engine state: the inbox never reads it (do not run the doctor on a
  bench database).

Then it times the service layer's inbox call (services.tasks.list_tasks: the bounded count, the
page and the candidates, everything GET /api/v1/tasks does but HTTP) for each query at each size,
the sizes taking turns in --repeat rounds so that a slow spell of a shared machine hits all of
them, and prints p50/p95 per query and size and the p95 ratio of the largest size to the smallest.
Deep pages are asked for with a cursor taken at the same relative depth (`after`) and with an
offset of 500. The schemas (or files) are removed at the end, unless --keep is given: then each
size lives in a schema named bench_inbox_<size> (SQLite: var/bench-inbox/<size>.db) that is kept,
and a later run with --keep reuses it when it holds that many open tasks, after applying any newer
migrations to it (so a migration's backfill is timed on a million rows too). Remove kept data with
`DROP SCHEMA bench_inbox_1000000 CASCADE` (or by deleting the file). With --explain (PostgreSQL)
it also runs each call's statements once under EXPLAIN (ANALYZE, BUFFERS) and prints the pages
they touched and their execution time per size: the database's own work, which a busy machine
disturbs far less than the wall time.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import tomllib
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(1, str(ROOT / "bench"))
sys.path.insert(1, str(ROOT / "tests" / "engine"))

import lifecycle  # noqa: E402
import replay  # noqa: E402

from bpmn_service.engine import compile_bpmn  # noqa: E402

PROCESSES = ("yekuo_current", "yekuo_streamlined")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BATCH = 5_000


@dataclass(frozen=True)
class Kind:
    process: str
    element_id: str
    spec_name: str
    name: str
    lane: str | None
    groups: tuple[str, ...]
    users: tuple[str, ...]
    form_values: dict[str, Any]


def task_kinds() -> list[Kind]:
    """Every ready user task the recorded paths of the shipped models show, with repeats."""
    from bpmn_service.lanes import LaneGroups

    replay.register_domain_functions()
    lanes = LaneGroups.load(ROOT / "processes" / "lane-groups.toml")
    kinds: list[Kind] = []
    for key in PROCESSES:
        data = (ROOT / "processes" / f"{key}.bpmn").read_bytes()
        compiled = compile_bpmn(data, f"{key}.bpmn", lambda _key, _lane: True)
        start_form = [f.to_dict() for f in compiled.start_form]
        for path_name, steps in replay.paths(key)["paths"].items():
            run = replay.Replay(key, compiled.spec_json, start_form)
            result = run.start(path_name, f"KIND-{path_name}")
            for element, values in [*steps, (None, None)]:
                for task in result.ready_tasks:
                    kinds.append(
                        Kind(
                            key,
                            task.element_id,
                            task.spec_name,
                            task.name,
                            task.lane,
                            # the projection's rule: no candidates named, the lane's groups
                            tuple(
                                lanes.groups_for(key, task.lane)
                                if task.candidate_groups is None
                                else task.candidate_groups
                            ),
                            tuple(task.candidate_users or ()),
                            dict(task.form_values),
                        )
                    )
                if element is None:
                    break
                result = run.step(element, values)
    return kinds


def all_users() -> dict[str, frozenset[str]]:
    """User id -> groups, from config/users.toml."""
    entries = tomllib.loads(lifecycle.USERS_FILE.read_text(encoding="utf-8")).get("users", {})
    return {user_id: frozenset(e.get("groups", [])) for user_id, e in entries.items()}


def members(groups: tuple[str, ...], users: dict[str, frozenset[str]]) -> list[str]:
    return sorted(u for u, of in users.items() if of & set(groups) and "admin" not in of)


def build(ctx: Any, size: int, kinds: list[Kind], seed: int) -> None:
    """`size` open tasks of the given kinds, with their instances and candidate rows."""
    from sqlalchemy import insert, text

    from bpmn_service.db.models import ProcessDefinition, ProcessInstance, Task, TaskCandidate

    rng = random.Random(seed)
    users = all_users()
    with ctx.sessions() as session:
        definitions = {
            d.key: d.id
            for d in session.query(ProcessDefinition).filter(ProcessDefinition.key.in_(PROCESSES))
        }
    assignable = {k.groups: members(k.groups, users) for k in kinds}
    instances: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    candidates: list[dict[str, Any]] = []
    instance_id = ""
    made = 0

    def flush(final: bool = False) -> None:
        if not tasks or (not final and len(tasks) < BATCH):
            return
        with ctx.engine.begin() as conn:
            if instances:
                conn.execute(insert(ProcessInstance.__table__), instances)
            conn.execute(insert(Task.__table__), tasks)
            if candidates:
                conn.execute(insert(TaskCandidate.__table__), candidates)
        instances.clear()
        tasks.clear()
        candidates.clear()

    while made < size:
        kind = rng.choice(kinds)
        if not instance_id or rng.random() < 1 / 1.5:
            instance_id = str(uuid.uuid4())
            started = NOW - timedelta(days=rng.uniform(0, 120))
            business_key = f"YK-{seed}-{made:08d}"
            instances.append(
                {
                    "id": instance_id,
                    "definition_id": definitions[kind.process],
                    "definition_key": kind.process,
                    "version": 1,
                    "business_key": business_key,
                    "status": "running",
                    "state": '{"bench": "placeholder state; the inbox never reads it"}',
                    "state_format": 3,
                    "variables": {},
                    "started_at": started,
                    "started_by": "clerk",
                    "category": None,
                    "row_version": 1,
                }
            )
        created = started + timedelta(hours=rng.uniform(0, 24 * 10))
        due = None if rng.random() < 0.1 else created + timedelta(days=rng.uniform(1, 28))
        assignee = None
        if rng.random() < 0.25 and assignable[kind.groups]:
            assignee = rng.choice(assignable[kind.groups])
        task_id = str(uuid.uuid4())
        tasks.append(
            {
                "id": task_id,
                "instance_id": instance_id,
                "definition_id": definitions[kind.process],
                "definition_key": kind.process,
                "business_key": business_key,
                "element_id": kind.element_id,
                "spec_name": kind.spec_name,
                "name": kind.name,
                "lane": kind.lane,
                "assignee": assignee,
                "priority": 50,
                "due_at": due,
                "follow_up_at": None,
                "created_at": created,
                "claimed_at": created + timedelta(hours=1) if assignee else None,
                "form_values": kind.form_values,
                "properties": {},
                "row_version": 1,
            }
        )
        candidates.extend({"task_id": task_id, "kind": "group", "ref": g} for g in kind.groups)
        candidates.extend({"task_id": task_id, "kind": "user", "ref": u} for u in kind.users)
        made += 1
        flush()
        if made % 100_000 == 0:
            lifecycle.progress(f"  {made} tasks")
    flush(final=True)
    with ctx.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        # PostgreSQL: as autovacuum would leave it (index-only scans work)
        postgres = ctx.engine.dialect.name == "postgresql"
        conn.execute(text("VACUUM ANALYZE" if postgres else "ANALYZE"))


@dataclass
class Query:
    label: str
    user: str
    params: dict[str, Any]
    depth: float | None = None  # a cursor page this far into the matching tasks (0–1)


QUERIES = [
    Query(
        "group inbox, unassigned, by due",
        "clerk",
        {"candidate_group": "hall_clerk", "unassigned": True, "sort": "due"},
    ),
    Query(
        "  …deep page by cursor (half-way)",
        "clerk",
        {"candidate_group": "hall_clerk", "unassigned": True, "sort": "due"},
        depth=0.5,
    ),
    Query(
        "  …offset 500",
        "clerk",
        {"candidate_group": "hall_clerk", "unassigned": True, "sort": "due", "offset": 500},
    ),
    Query("my inbox, by created", "clerk", {"sort": "created"}),
    Query("my inbox, newest first", "clerk", {"sort": "-created"}),
    Query("claimed by me", "clerk", {"assignee": "clerk", "sort": "due"}),
]


@contextmanager
def kept_database(url: str | None, size: int) -> Iterator[lifecycle.Database]:
    """The schema bench_inbox_<size> (or SQLite file var/bench-inbox/<size>.db), created when
    missing and never dropped."""
    if url is None or url.startswith("sqlite"):
        path = ROOT / "var" / "bench-inbox" / f"{size}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        yield lifecycle.Database(f"sqlite:///{path}", None, f"SQLite (kept file {path.name})")
        return
    from sqlalchemy import create_engine, text

    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    schema = f"bench_inbox_{size}"
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            version = conn.execute(text("SHOW server_version")).scalar()
    finally:
        admin.dispose()
    yield lifecycle.Database(url, schema, f"PostgreSQL {version} (schema {schema}, kept)")


def open_tasks(ctx: Any) -> int:
    from sqlalchemy import func, inspect, select

    from bpmn_service.db.models import Task

    if not inspect(ctx.engine).has_table("task"):
        return 0
    with ctx.sessions() as session:
        return session.scalar(select(func.count()).select_from(Task)) or 0


@contextmanager
def bench_database(url: str | None, size: int, workdir: Path, keep: bool) -> Iterator[Any]:
    """(context, database, reused): a database of the service's schema with the shipped models
    deployed; reused (and not to be built again) when a kept one holds `size` open tasks."""
    from bpmn_service.config import Settings
    from bpmn_service.context import AppContext
    from bpmn_service.db import migrate
    from bpmn_service.identity import Principal
    from bpmn_service.services import deployments

    sub = workdir / f"size-{size}"
    (sub / "processes").mkdir(parents=True)
    database = kept_database(url, size) if keep else lifecycle.fresh_database(url, sub)
    with database as db:
        settings = Settings(
            database_url=db.url,
            database_schema=db.schema,
            users_file=lifecycle.USERS_FILE,
            processes_dir=sub / "processes",
            lane_groups_file=ROOT / "processes" / "lane-groups.toml",
            registry_file=ROOT / "config" / "construction-units.toml",
        )
        ctx = AppContext.create(settings)
        try:
            existing = open_tasks(ctx) if keep else 0
            if existing not in (0, size):
                raise SystemExit(f"{db.label} holds {existing} open tasks, not {size}: drop it")
            started = time.perf_counter()
            migrate.upgrade(ctx.engine)
            if existing:
                lifecycle.progress(f"  migrated in {time.perf_counter() - started:.0f} s")
                yield ctx, db, True
                return
            users = lifecycle.group_users(lifecycle.USERS_FILE)
            analyst = users["analyst"]
            files = [
                deployments.BpmnFile(f"{k}.bpmn", (ROOT / "processes" / f"{k}.bpmn").read_bytes())
                for k in PROCESSES
            ]
            deployments.deploy(ctx, files, Principal(analyst.user_id, analyst.groups), source="api")
            yield ctx, db, False
        finally:
            ctx.engine.dispose()


def principal_of(user: str) -> Any:
    from bpmn_service.identity import Principal

    return Principal(user, all_users()[user])


def cursor_at(ctx: Any, query: Query, size_share: float) -> str | None:
    """The cursor of the row `size_share` into the query's matches (built from that row)."""
    from bpmn_service.db import queries
    from bpmn_service.services import cursors, tasks

    params = {k: v for k, v in query.params.items() if k != "offset"}
    first = tasks.list_tasks(ctx, principal_of(query.user), limit=1, offset=0, **params)
    with ctx.sessions() as session:
        flt = queries.TaskFilter(
            candidate_group=params.get("candidate_group"),
            unassigned=params.get("unassigned"),
        )
        count = queries.list_tasks(
            session, principal_of(query.user), flt, sort=params["sort"], limit=0, offset=0
        )[1]
        position = int(count.total * size_share)
        rows, _ = queries.list_tasks(
            session,
            principal_of(query.user),
            flt,
            sort=params["sort"],
            limit=1,
            offset=position,
        )
    del first
    return cursors.encode(params["sort"], rows[0]) if rows else None


def timed_call(ctx: Any, query: Query, after: str | None) -> Callable[[], float]:
    from bpmn_service.services import tasks

    principal = principal_of(query.user)
    params = dict(query.params)
    offset = params.pop("offset", 0)

    def call() -> float:
        started = time.perf_counter()
        page = tasks.list_tasks(ctx, principal, limit=50, offset=offset, after=after, **params)
        elapsed = time.perf_counter() - started
        assert page.tasks or offset, query.label
        return elapsed

    return call


def database_work(ctx: Any, query: Query, after: str | None) -> tuple[int, float]:
    """(buffers, ms): what PostgreSQL's EXPLAIN (ANALYZE, BUFFERS) reports for the statements of
    one inbox call, summed: pages of 8 KiB touched (in its cache or read) and execution time. A
    steadier measure than wall time on a shared machine."""
    import json

    from sqlalchemy import event

    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "SET")):
            statements.append((statement, parameters))

    event.listen(ctx.engine, "before_cursor_execute", capture)
    try:
        timed_call(ctx, query, after)()
    finally:
        event.remove(ctx.engine, "before_cursor_execute", capture)
    buffers, ms = 0, 0.0
    with ctx.engine.begin() as conn:
        for statement, parameters in statements:
            if statement.lstrip().upper().startswith("SET"):
                conn.exec_driver_sql(statement, parameters)
                continue
            explain = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement
            [plan] = conn.exec_driver_sql(explain, parameters).scalar_one()
            plan = plan if isinstance(plan, dict) else json.loads(plan)
            top = plan["Plan"]
            buffers += top["Shared Hit Blocks"] + top["Shared Read Blocks"]
            ms += plan["Execution Time"]
    return buffers, ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="postgresql://… (default: SQLite files)")
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep each size's database (schema bench_inbox_<size>) and reuse it on later runs",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="PostgreSQL: also print each call's database work (EXPLAIN ANALYZE BUFFERS)",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    lifecycle.progress("task kinds from the recorded paths of the shipped models")
    kinds = task_kinds()
    counts = Counter(k.element_id for k in kinds)
    lifecycle.progress(f"{len(kinds)} ready tasks seen, {len(counts)} kinds")
    timings: dict[tuple[str, int], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        calls: dict[int, list[tuple[Query, Callable[[], float]]]] = {}
        afters: dict[tuple[str, int], str | None] = {}
        contexts: dict[int, Any] = {}
        labels = {}
        for size in sizes:
            ctx, db, reused = stack.enter_context(
                bench_database(args.database_url, size, Path(tmp), args.keep)
            )
            labels[size] = db.label
            if reused:
                lifecycle.progress(f"reusing {size} open tasks in {db.label}")
            else:
                lifecycle.progress(f"building {size} open tasks in {db.label}")
                started = time.perf_counter()
                build(ctx, size, kinds, seed=size)
                lifecycle.progress(f"  built in {time.perf_counter() - started:.0f} s")
            calls[size] = []
            contexts[size] = ctx
            for query in QUERIES:
                after = cursor_at(ctx, query, query.depth) if query.depth else None
                afters[(query.label, size)] = after
                call = timed_call(ctx, query, after)
                call()  # warm up
                calls[size].append((query, call))
        for round_ in range(args.repeat):
            for size in sizes:
                for query, call in calls[size]:
                    timings.setdefault((query.label, size), []).append(call())
            if round_ % 10 == 9:
                lifecycle.progress(f"round {round_ + 1}/{args.repeat}")
        work = {}
        if args.explain and args.database_url and args.database_url.startswith("postgresql"):
            for size in sizes:
                for query, _call in calls[size]:
                    after = afters[(query.label, size)]
                    work[(query.label, size)] = database_work(contexts[size], query, after)
    small, large = min(sizes), max(sizes)
    print(f"{lifecycle.machine()}; {labels[large]}; {args.repeat} rounds\n")
    head = " | ".join(f"p50 / p95 ms at {s:,}" for s in sizes)
    print(f"| query (page of 50, service layer) | {head} | p95 ratio {large:,} / {small:,} |")
    print("|---|" + "---|" * len(sizes) + "---|")
    for query in QUERIES:
        cells = []
        for size in sizes:
            values = sorted(timings[(query.label, size)])
            p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
            cells.append(f"{statistics.median(values) * 1e3:.1f} / {p95 * 1e3:.1f}")
        p95s = {}
        for size in (small, large):
            values = sorted(timings[(query.label, size)])
            p95s[size] = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        print(f"| {query.label} | {' | '.join(cells)} | {p95s[large] / p95s[small]:.2f} |")
    if work:
        head = " | ".join(f"buffers / ms at {s:,}" for s in sizes)
        print(f"\n| database work of one call (EXPLAIN ANALYZE) | {head} | buffer ratio |")
        print("|---|" + "---|" * len(sizes) + "---|")
        for query in QUERIES:
            cells = [
                f"{work[(query.label, s)][0]:,} / {work[(query.label, s)][1]:.1f}" for s in sizes
            ]
            ratio = work[(query.label, large)][0] / max(1, work[(query.label, small)][0])
            print(f"| {query.label} | {' | '.join(cells)} | {ratio:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
