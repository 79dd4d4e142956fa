"""Full-lifecycle benchmark: real HTTP against a real server, versus the same work in-process.

    .venv/bin/python bench/lifecycle.py [--instances N] [--database-url URL]

One run measures, on the same machine and the same BPMN (bench/sequential6.bpmn: a start form and
six sequential user tasks, each with a form and camunda:candidateGroups):

  A.  HTTP lifecycle: `bpmn-service serve` started here as a subprocess on 127.0.0.1 (free port,
      fresh SQLite file, or a new schema in the given PostgreSQL database); deploy, then per
      instance: start, and for every task claim + complete as a user of the task's candidate group
      (tokens from config/users.toml). One keep-alive httpx client, sequential.
  A4. The same with 4 concurrent clients (--concurrency).
  B.  Baseline: GET /api/v1/health/live over the same keep-alive client (no auth, no database).
  C0. The service layer (services.instances / services.tasks) in-process with the same database:
      everything the endpoints do except HTTP, FastAPI and JSON.
  C1. The engine facade in-process, no database: ProcessRunner start/complete, with the state
      dumped and loaded at every step as the service does.
  C2. Pure SpiffWorkflow in-process: parse once; per instance create the workflow and run every user
      task; no persistence. Stock SpiffWorkflow: the engine's classes are not used here.
The measurements take turns in 3 rounds (A, B, A4, C0, C1, C2; again; again) so that a slow spell
of a shared machine hits all of them; each figure is the median of its rounds and each ratio the
median of the per-round ratios. Prints markdown tables on stdout (progress on stderr). The server
is stopped and the database removed at the end, also on error or Ctrl-C. Only 127.0.0.1 is
contacted, plus the database URL you give.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BENCH_BPMN = Path(__file__).resolve().with_name("sequential6.bpmn")
USERS_FILE = ROOT / "config" / "users.toml"
HOST = "127.0.0.1"
API = "/api/v1"
START_USER_GROUP = "hall_clerk"

START_VARIABLES = {"applicant": "Bench Factory Ltd", "capacityKva": 630}
# Form values submitted per user task (by BPMN element id); unknown elements complete with {}.
TASK_VALUES: dict[str, dict[str, Any]] = {
    "accept": {"documentsComplete": True, "acceptNote": "all documents present"},
    "survey": {"surveyResult": "OK", "surveyNote": "transformer room accessible"},
    "plan": {"supplyVoltage": "10kV", "planNote": "single 10 kV feeder"},
    "review": {"reviewDecision": "APPROVE", "reviewComment": "ok"},
    "inspect": {"inspectionPassed": True, "inspectionDate": "2026-01-15"},
    "sign": {"signed": True, "signComment": "approved"},
}


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class DemoUser:
    user_id: str
    token: str
    groups: frozenset[str]


def group_users(users_file: Path) -> dict[str, DemoUser]:
    """Group -> a non-admin user of that group (and "admin" -> the admin), from the users file."""
    users = tomllib.loads(users_file.read_text(encoding="utf-8")).get("users", {})
    found: dict[str, DemoUser] = {}
    admin = None
    for user_id, entry in users.items():
        if not entry.get("token"):
            continue
        user = DemoUser(user_id, str(entry["token"]), frozenset(entry.get("groups", [])))
        if "admin" in user.groups:
            admin = admin or user
            continue
        for group in sorted(user.groups):
            found.setdefault(group, user)
    if admin is None:
        raise SystemExit(f"{users_file} has no user in group admin")
    found.setdefault("admin", admin)
    return found


def user_for(users: dict[str, DemoUser], candidate_groups: list[str] | None) -> DemoUser:
    """A user of one of the task's candidate groups; the admin may claim anything."""
    for group in candidate_groups or []:
        if group in users:
            return users[group]
    return users["admin"]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Timings:
    """Wall-clock seconds per API operation."""

    by_op: dict[str, list[float]] = field(default_factory=dict)

    def add(self, op: str, seconds: float) -> None:
        self.by_op.setdefault(op, []).append(seconds)

    def merge(self, other: Timings) -> None:
        for op, values in other.by_op.items():
            self.by_op.setdefault(op, []).extend(values)

    @property
    def calls(self) -> int:
        return sum(len(v) for v in self.by_op.values())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


# --------------------------------------------------------------------------- the server


@dataclass
class Database:
    url: str
    schema: str | None
    label: str


@contextlib.contextmanager
def fresh_database(url: str | None, workdir: Path) -> Iterator[Database]:
    """A fresh SQLite file, or a new schema in the given PostgreSQL database (dropped after)."""
    if url is None:
        yield Database(f"sqlite:///{workdir / 'bench.db'}", None, "SQLite (fresh file, WAL)")
        return
    if url.startswith("sqlite"):
        yield Database(url, None, f"SQLite ({url})")
        return
    if not url.startswith("postgresql"):
        raise SystemExit(f"unsupported database URL {url!r}: use sqlite:/// or postgresql://")
    from sqlalchemy import create_engine, text

    admin_url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = create_engine(admin_url)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        version = conn.execute(text("SHOW server_version")).scalar()
    try:
        yield Database(url, schema, f"PostgreSQL {version} (schema {schema}, dropped after)")
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def bench_settings(db: Database, workdir: Path, **extra: Any) -> Any:
    """The service's settings for a benchmark that works in-process on `db`: the demo users, the
    shipped lane groups and registry, processes from `workdir / "processes"` (none deployed)."""
    from bpmn_service.config import Settings

    return Settings(
        database_url=db.url,
        database_schema=db.schema,
        users_file=USERS_FILE,
        processes_dir=workdir / "processes",
        lane_groups_file=ROOT / "processes" / "lane-groups.toml",
        registry_file=ROOT / "config" / "construction-units.toml",
        **extra,
    )


@contextlib.contextmanager
def running_server(
    db: Database, workdir: Path, log_level: str, port: int | None = None
) -> Iterator[str]:
    """Start `bpmn-service serve` on `port` (a free local port by default); always stop it."""
    port = port or free_port()
    processes_dir = workdir / "processes"  # empty: deploy-on-start has nothing to do
    processes_dir.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "BPMN_DATABASE_URL": db.url,
        "BPMN_USERS_FILE": str(USERS_FILE),
        "BPMN_PROCESSES_DIR": str(processes_dir),
        "BPMN_LANE_GROUPS_FILE": str(ROOT / "processes" / "lane-groups.toml"),
        "BPMN_REGISTRY_FILE": str(ROOT / "config" / "construction-units.toml"),
        "BPMN_MODE": "development",
        "BPMN_LOG_LEVEL": log_level,
        "BPMN_REFERENCE_WORKERS": "false",  # the benchmark plays the workers itself
    }
    env.pop("BPMN_DATABASE_SCHEMA", None)
    if db.schema:
        env["BPMN_DATABASE_SCHEMA"] = db.schema
    log_path = workdir / "server.log"
    command = [sys.executable, "-m", "bpmn_service.cli", "serve", "--host", HOST]
    command += ["--port", str(port)]
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with {server.returncode}:\n{tail(log_path)}")
            try:
                if httpx.get(f"{base}{API}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not become ready:\n{tail(log_path)}")
            time.sleep(0.1)
        yield base
    except BaseException:
        print(f"--- server log (last lines)\n{tail(log_path)}", file=sys.stderr)
        raise
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --------------------------------------------------------------------------- A: HTTP lifecycle

Runner = Callable[[int], int]  # runs instance number i to the end; returns the tasks completed


class LifecycleClient:
    def __init__(self, base: str, users: dict[str, DemoUser], process_key: str) -> None:
        self.client = httpx.Client(base_url=base + API, timeout=60)
        self.users = users
        self.key = process_key
        self.timings = Timings()

    def close(self) -> None:
        self.client.close()

    def call(self, op: str, method: str, path: str, token: str, **kw: Any) -> Any:
        t0 = time.perf_counter()
        response = self.client.request(method, path, headers=auth(token), **kw)
        self.timings.add(op, time.perf_counter() - t0)
        if response.status_code >= 300:
            raise RuntimeError(f"{op} {path}: HTTP {response.status_code} {response.text[:500]}")
        return response.json()

    def run_instance(self, business_key: str) -> int:
        """Start one instance and work it to the end; returns the number of tasks completed."""
        started = self.call(
            "start",
            "POST",
            f"/process-definitions/{self.key}/instances",
            self.users[START_USER_GROUP].token,
            json={"business_key": business_key, "variables": START_VARIABLES},
        )
        pending = list(started["tasks"])
        done = 0
        status = started["status"]
        while pending:
            task = pending.pop(0)
            token = user_for(self.users, task.get("candidate_groups")).token
            self.call("claim", "POST", f"/tasks/{task['id']}/claim", token)
            result = self.call(
                "complete",
                "POST",
                f"/tasks/{task['id']}/complete",
                token,
                json={"variables": TASK_VALUES.get(task["element_id"], {})},
            )
            pending.extend(result["next_tasks"])
            status = result["instance_status"]
            done += 1
        if status != "completed":
            raise RuntimeError(f"instance {business_key} ended with status {status}")
        return done


def deploy(base: str, users: dict[str, DemoUser], bpmn: Path) -> str:
    with httpx.Client(base_url=base + API, timeout=60) as client:
        files = [("files", (bpmn.name, bpmn.read_bytes(), "application/xml"))]
        response = client.post("/deployments", headers=auth(users["analyst"].token), files=files)
        if response.status_code != 201:
            raise RuntimeError(f"deploy: HTTP {response.status_code} {response.text[:500]}")
        return str(response.json()["definitions"][0]["key"])


def http_concurrent(clients: list[LifecycleClient], first: int, n: int, prefix: str) -> float:
    """Instances/s of n instances worked by len(clients) threads, one keep-alive client each."""
    workers = len(clients)
    counts = [n // workers + (1 if w < n % workers else 0) for w in range(workers)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(workers + 1)

    def work(w: int) -> None:
        barrier.wait()
        try:
            for i in range(counts[w]):
                clients[w].run_instance(f"{prefix}-{w}-{first + i}")
        except BaseException as exc:  # re-raised after the join
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in range(workers)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return n / elapsed


def http_live(client: LifecycleClient, n: int) -> float:
    """Requests per second of GET /health/live over the client's keep-alive connection."""
    t0 = time.perf_counter()
    for _ in range(n):
        response = client.client.get("/health/live")
        if response.status_code != 200:
            raise RuntimeError(f"/health/live: HTTP {response.status_code}")
    return n / (time.perf_counter() - t0)


# --------------------------------------------------------------------------- C: in-process


@contextlib.contextmanager
def service_layer(
    db: Database, workdir: Path, users: dict[str, DemoUser], bpmn: Path, prefix: str
) -> Iterator[Runner]:
    """C0: the service layer (validation, engine, task projection, history, commit) on the same
    database, called in-process: what the endpoints do, minus HTTP, FastAPI and JSON."""
    from bpmn_service.context import AppContext
    from bpmn_service.identity import Principal
    from bpmn_service.services import deployments, instances, tasks

    ctx = AppContext.create(bench_settings(db, workdir))
    analyst, clerk = users["analyst"], users[START_USER_GROUP]
    try:
        files = [deployments.BpmnFile(bpmn.name, bpmn.read_bytes())]
        result = deployments.deploy(
            ctx, files, Principal(analyst.user_id, analyst.groups), source="api"
        )
        key = result.definitions[0].key

        def one(i: int) -> int:
            started = instances.start_instance(
                ctx,
                key,
                f"{prefix}-{i}",
                dict(START_VARIABLES),
                Principal(clerk.user_id, clerk.groups),
            )
            pending = list(started.tasks)
            candidates = dict(started.candidates)
            status = started.instance.status
            done = 0
            while pending:
                task = pending.pop(0)
                user = user_for(users, candidates.get(task.id, {}).get("group"))
                principal = Principal(user.user_id, user.groups)
                tasks.claim_task(ctx, task.id, principal)
                values = dict(TASK_VALUES.get(task.element_id, {}))
                completed = tasks.complete_task(ctx, task.id, principal, values)
                pending.extend(completed.next_tasks)
                candidates.update(completed.candidates)
                status = completed.instance_status
                done += 1
            if status != "completed":
                raise RuntimeError(f"instance {prefix}-{i} ended with status {status}")
            return done

        yield one
    finally:
        ctx.engine.dispose()


def engine_facade(bpmn: Path) -> Runner:
    """C1: ProcessRunner start/complete, the state dumped and loaded at every step as the service
    does; no database."""
    from bpmn_service.engine import ProcessRunner, compile_bpmn

    compiled = compile_bpmn(bpmn.read_bytes(), bpmn.name, lambda _key, _lane: False)
    definition_id = f"{compiled.key}:1:bench"
    runner = ProcessRunner()

    # Newer facades take the service clock as `now=`; pass it when the signature asks for it.
    takes_now = "now" in inspect.signature(runner.start).parameters

    def now() -> dict[str, Any]:
        return {"now": datetime.now(UTC)} if takes_now else {}

    def load() -> str:
        return compiled.spec_json

    def one(i: int) -> int:
        data = {**START_VARIABLES, "businessKey": f"F-{i}", "initiator": "clerk"}
        result = runner.start(definition_id, load, data, **now())
        done = 0
        while result.ready_tasks:
            task = result.ready_tasks[0]
            values = TASK_VALUES.get(task.element_id, {})
            result = runner.complete(
                definition_id, load, result.state, task.id, values, "bench", **now()
            )
            done += 1
        if not result.completed:
            raise RuntimeError("the facade instance did not complete")
        return done

    return one


def pure_spiff(bpmn: Path) -> Runner:
    """C2: stock SpiffWorkflow, parsed once; per instance create the workflow and run every user
    task; no persistence."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.parser import BpmnParser
    from SpiffWorkflow.util.task import TaskState

    parser = BpmnParser()
    parser.add_bpmn_file(str(bpmn))
    key = parser.get_process_ids()[0]
    spec = parser.get_spec(key)
    subprocesses = parser.get_subprocess_specs(key)

    def one(_i: int) -> int:
        workflow = BpmnWorkflow(spec, subprocesses)
        start = workflow.get_tasks(state=TaskState.READY)
        (start[0] if start else workflow.task_tree).data.update(START_VARIABLES)
        workflow.do_engine_steps()
        done = 0
        while ready := workflow.get_tasks(state=TaskState.READY, manual=True):
            for task in ready:
                task.data.update(TASK_VALUES.get(task.task_spec.bpmn_id, {}))
                task.run()
                done += 1
            workflow.do_engine_steps()
        if not workflow.is_completed():
            raise RuntimeError("the SpiffWorkflow instance did not complete")
        return done

    return one


def timed(one: Runner, first: int, n: int) -> tuple[float, int]:
    """Instances/s of instances first .. first + n - 1, and the tasks completed per instance."""
    t0 = time.perf_counter()
    tasks = sum(one(first + i) for i in range(n))
    return n / (time.perf_counter() - t0), tasks // n


# --------------------------------------------------------------------------- report


def versions() -> str:
    names = ["bpmn-service", "SpiffWorkflow", "fastapi", "starlette", "uvicorn", "sqlalchemy"]
    names += ["psycopg", "httpx", "pydantic", "lxml"]
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> str:
    try:
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        ram = f"{mem_kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, StopIteration):
        ram = "RAM unknown"
    return (
        f"{os.cpu_count()} CPUs ({cpu_model()}), {ram}, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


@dataclass
class Series:
    """Per-round rates of one measurement; rounds are interleaved with the other measurements."""

    label: str
    unit: str
    rates: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.rates)

    def spread(self) -> str:
        return f"{min(self.rates):.3g}-{max(self.rates):.3g}"

    def ratio_to(self, other: Series, scale: float = 1.0) -> float:
        """Median over rounds of this round's rate / the other's rate in the same round."""
        return statistics.median(
            a / (b * scale) for a, b in zip(self.rates, other.rates, strict=True)
        )


def report(
    db: Database,
    series: list[Series],
    timings: Timings,
    calls_per_instance: float,
    tasks_per_instance: int,
    http_n: int,
    engine_n: int,
    rounds: int,
    seconds: float,
    load: str,
) -> None:
    by_key = {s.label.split(".")[0]: s for s in series}
    a = by_key["A"]
    print()
    print(f"### {db.label}")
    print()
    print(
        f"{rounds} interleaved rounds; per round {http_n} instances per HTTP or service-layer "
        f"measurement and {engine_n} per engine measurement; {tasks_per_instance} user tasks and "
        f"{calls_per_instance:g} API calls per instance (start, then claim + complete per task). "
        f"Medians over the rounds; a ratio is the median of the per-round ratios. "
        f"Whole run {seconds:.0f} s; load average (1, 5, 15 min) {load}."
    )
    print()
    print("| measurement | median | rounds (min-max) | ratio |")
    print("|---|---:|---:|---:|")
    for s in series:
        key = s.label.split(".")[0]
        if key == "A":
            extra = f" = {a.median * calls_per_instance:.0f} calls/s"
            ratio = "1"
        elif key == "B":
            extra = f" ({1000 / s.median:.2f} ms per call)"
            ratio = f"{s.ratio_to(a, calls_per_instance):.1f} x A's calls/s"
        else:
            extra = ""
            ratio = f"{s.ratio_to(a):.2f} x A" if key == "A4" else f"{s.ratio_to(a):.1f} x A"
            if key == "C2" and "C1" in by_key:
                ratio += f", {s.ratio_to(by_key['C1']):.1f} x C1"
        print(f"| {s.label} | {s.median:.3g} {s.unit}{extra} | {s.spread()} | {ratio} |")
    print()
    print("| API call (A, sequential client) | n | mean ms | p50 | p95 | max |")
    print("|---|---:|---:|---:|---:|---:|")
    for op in ("start", "claim", "complete"):
        values = [1000 * v for v in timings.by_op.get(op, [])]
        if values:
            print(
                f"| {op} | {len(values)} | {statistics.fmean(values):.1f} | "
                f"{percentile(values, 0.5):.1f} | {percentile(values, 0.95):.1f} | "
                f"{max(values):.1f} |"
            )
    print()
    per_instance = [f"{1000 / a.median:.0f} ms over HTTP (A)"]
    for s in series:
        key = s.label.split(".")[0]
        if key.startswith("C"):
            per_instance.append(f"{1000 / s.median:.1f} ms in {key}")
    print(f"Time per instance (medians): {', '.join(per_instance)}.")


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Full-lifecycle benchmark: HTTP against a local server vs. in-process."
    )
    parser.add_argument(
        "--instances",
        type=int,
        default=36,
        help="instances per HTTP and service-layer measurement, over all rounds (default 36)",
    )
    parser.add_argument(
        "--database-url",
        help="sqlite:///path, or postgresql://user@127.0.0.1:5432/db (a schema is created and "
        "dropped at the end); default: a fresh SQLite file in a temporary directory",
    )
    parser.add_argument(
        "--concurrency", type=int, default=4, help="clients of measurement A4 (4); 0 skips it"
    )
    parser.add_argument(
        "--engine-instances",
        type=int,
        default=0,
        help="instances per in-process engine measurement (C1, C2); default 5 x --instances",
    )
    parser.add_argument(
        "--live-requests", type=int, default=600, help="requests of the /health/live baseline"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument(
        "--log-level", default="INFO", help="the server's BPMN_LOG_LEVEL (INFO logs each request)"
    )
    parser.add_argument("--port", type=int, default=None, help="the server's port (default: free)")
    args = parser.parse_args(argv)
    if args.instances < args.rounds or args.rounds < 1:
        parser.error("--instances must be at least --rounds, and --rounds at least 1")
    rounds = args.rounds
    http_n = args.instances // rounds
    engine_n = (args.engine_instances or 5 * args.instances) // rounds or 1
    live_n = max(1, args.live_requests // rounds)
    # SIGTERM (kill, CI timeouts) unwinds like Ctrl-C: the server is stopped, the schema dropped.
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(143))
    os.chdir(ROOT)  # settings left at their defaults (config/...) resolve as under `make run`
    users = group_users(USERS_FILE)
    run_id = uuid.uuid4().hex[:8]
    began = time.perf_counter()

    load_before = load_average()
    progress(f"machine: {machine()}; load average {load_before}")
    progress(f"packages: {versions()}")
    a = Series("A. HTTP lifecycle, 1 keep-alive client, sequential", "instances/s")
    a4 = Series(f"A4. HTTP lifecycle, {args.concurrency} concurrent clients", "instances/s")
    b = Series("B. GET /api/v1/health/live, same client", "requests/s")
    c0 = Series("C0. service layer in-process, same database, no HTTP", "instances/s")
    c1 = Series("C1. engine facade in-process (state dump/load per step), no DB", "instances/s")
    c2 = Series("C2. pure SpiffWorkflow in-process, no persistence", "instances/s")
    series = [a] + ([a4] if args.concurrency > 0 else []) + [b, c0, c1, c2]

    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bpmn-bench-")))
        db = stack.enter_context(fresh_database(args.database_url, tmp))
        progress(f"database: {db.label}; starting the server")
        base = stack.enter_context(running_server(db, tmp, args.log_level, args.port))
        key = deploy(base, users, BENCH_BPMN)
        client = LifecycleClient(base, users, key)
        stack.callback(client.close)
        pool = [LifecycleClient(base, users, key) for _ in range(max(0, args.concurrency))]
        for c in pool:
            stack.callback(c.close)
        services = stack.enter_context(service_layer(db, tmp, users, BENCH_BPMN, f"SVC-{run_id}"))
        facade = engine_facade(BENCH_BPMN)
        spiff = pure_spiff(BENCH_BPMN)

        progress("warming up")
        for i in range(3):
            client.run_instance(f"WARM-{run_id}-{i}")
            services(-i - 1)
            facade(-i - 1)
            spiff(-i - 1)
        for c in pool:
            c.run_instance(f"WARM-{run_id}-{uuid.uuid4().hex[:6]}")
        http_live(client, 50)
        client.timings = Timings()

        tasks_per_instance = 0
        for r in range(rounds):
            progress(
                f"round {r + 1}/{rounds}: A, B, A4, C0 ({http_n} instances), C1, C2 ({engine_n})"
            )
            rate, tasks_per_instance = timed(
                lambda i: client.run_instance(f"SEQ-{run_id}-{i}"), r * http_n, http_n
            )
            a.rates.append(rate)
            b.rates.append(http_live(client, live_n))
            if pool:
                a4.rates.append(http_concurrent(pool, r * http_n, http_n, f"CON-{run_id}"))
            c0.rates.append(timed(services, r * http_n, http_n)[0])
            c1.rates.append(timed(facade, r * engine_n, engine_n)[0])
            c2.rates.append(timed(spiff, r * engine_n, engine_n)[0])
        calls = client.timings.calls / (rounds * http_n)
        seconds = time.perf_counter() - began
        load = f"{load_before} before, {load_average()} after"
        report(
            db,
            series,
            client.timings,
            calls,
            tasks_per_instance,
            http_n,
            engine_n,
            rounds,
            seconds,
            load,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
