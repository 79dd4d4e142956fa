"""CPU per API call: claim and complete against a one-statement floor, and the 12-task lifecycle
with one and two server processes, in one run on one PostgreSQL database.

    .venv/bin/python bench/cpu_per_call.py --database-url postgresql://postgres@127.0.0.1:5432/test

One run starts, on 127.0.0.1 and one new schema (dropped after): two `bpmn-service serve`
processes and the floor (bench/floor_app.py: one FastAPI endpoint doing one `UPDATE ...
RETURNING`, same uvicorn options, same engine settings). It deploys bench/lifecycle12.bpmn (twelve
user tasks, 5-7 in parallel, a rework loop taken once per instance: 14 tasks, 29 API calls) and
then takes turns, round after round, between:

  F   the floor: N sequential calls over one keep-alive client;
  CL  claim: N instances are started (not timed), then their first tasks are claimed, timed;
  CO  complete: the N claimed tasks are completed, timed;
  L1  the lifecycle over HTTP: `--clients` client processes against server 1;
  L2  the same clients split over servers 1 and 2.

For each it records the calls (or instances) per second of wall time and the CPU time the server
processes used (utime + stime from /proc/PID/stat), so CPU per call is known even when other work
shares the machine. For L1 and L2 it also records PostgreSQL's CPU (the processes named
`postgres`), the client processes' and how many of the machine's cores were busy (/proc/stat), to
say where the machine's CPU went per instance. Ratios are taken within each round and their
median is reported. Before the rounds, the service layer is called in-process on the same
database with a SQLAlchemy listener that counts the statements of each call (BEGIN and COMMIT not
counted; pool pings neither), then times the CPU of this process per call over
`--service-instances` more instances (the service layer without HTTP: engine, SQLAlchemy,
psycopg; PostgreSQL's own CPU not included).
Markdown on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lifecycle import (
    API,
    HOST,
    ROOT,
    USERS_FILE,
    Database,
    DemoUser,
    auth,
    bench_settings,
    deploy,
    free_port,
    fresh_database,
    group_users,
    load_average,
    machine,
    running_server,
    tail,
    user_for,
    versions,
)

BPMN = Path(__file__).resolve().with_name("lifecycle12.bpmn")
FLOOR_APP = Path(__file__).resolve().with_name("floor_app.py")
START_GROUP = "hall_clerk"
START_VARIABLES = {"applicant": "Bench Factory Ltd", "capacityKva": 630}
TASK_VALUES: dict[str, dict[str, Any]] = {
    "accept": {"documentsComplete": True},
    "survey": {"surveyResult": "OK"},
    "plan": {"supplyVoltage": "10kV"},
    "approvePlan": {"planApproved": True},
    "meteringPrep": {"meterType": "three-phase"},
    "dispatchPrep": {"outageWindow": "Sunday 02:00"},
    "omPrep": {"crewReady": True},
    "construct": {"constructionNote": "done"},
    "connect": {"connected": True},
    "sign": {"signed": True},
    "archive": {"archived": True},
}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def values_for(element_id: str, inspections: int) -> dict[str, Any]:
    """Form values; the first inspection sends the work back (the rework loop), the second
    passes."""
    if element_id == "inspect":
        return {"inspectionResult": "REWORK" if inspections == 0 else "PASS"}
    return dict(TASK_VALUES[element_id])


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (its threads included), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def database_cpu_seconds() -> float:
    """CPU seconds used so far by the processes named `postgres` that still run (the backends,
    the WAL writer, the checkpointer): the database's share of the machine, when it runs here."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            total += cpu_seconds(int(entry.name))
        except (FileNotFoundError, ProcessLookupError):  # ended meanwhile
            continue
    return total


def machine_busy_seconds() -> float:
    """CPU seconds all processes of the machine used so far, by every core (/proc/stat: every
    state but idle and iowait): other jobs' work included."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    ticks = [int(f) for f in fields[:8]]
    return (sum(ticks) - ticks[3] - ticks[4]) / CLK_TCK


# --------------------------------------------------------------------------- the clients


class Client:
    """One keep-alive HTTP client working instances of the 12-task process."""

    def __init__(self, base: str, users: dict[str, DemoUser], key: str) -> None:
        # Idle connections are dropped after 2 s, before the server's keep-alive timeout (5 s):
        # a request sent on a connection the server is closing at that moment fails with a
        # reset (ab_servers.py leaves one side idle while the other runs two blocks).
        self.http = httpx.Client(
            base_url=base + API, timeout=120, limits=httpx.Limits(keepalive_expiry=2.0)
        )
        self.users = users
        self.key = key
        self.calls = 0

    def close(self) -> None:
        self.http.close()

    def post(self, path: str, token: str, body: Any = None) -> Any:
        response = self.http.post(path, headers=auth(token), json=body)
        self.calls += 1
        if response.status_code >= 300:
            raise RuntimeError(f"POST {path}: HTTP {response.status_code} {response.text[:300]}")
        return response.json()

    def start(self, business_key: str) -> dict[str, Any]:
        return dict(
            self.post(
                f"/process-definitions/{self.key}/instances",
                self.users[START_GROUP].token,
                {"business_key": business_key, "variables": START_VARIABLES},
            )
        )

    def token_for(self, task: dict[str, Any]) -> str:
        return user_for(self.users, task.get("candidate_groups")).token

    def claim(self, task: dict[str, Any]) -> None:
        self.post(f"/tasks/{task['id']}/claim", self.token_for(task))

    def complete(self, task: dict[str, Any], inspections: int = 0) -> dict[str, Any]:
        body = {"variables": values_for(task["element_id"], inspections)}
        return dict(self.post(f"/tasks/{task['id']}/complete", self.token_for(task), body))

    def run_instance(self, business_key: str) -> int:
        """Start one instance and work it to the end; returns the tasks completed."""
        started = self.start(business_key)
        pending, done, inspections, status = list(started["tasks"]), 0, 0, started["status"]
        while pending:
            task = pending.pop(0)
            self.claim(task)
            result = self.complete(task, inspections)
            inspections += task["element_id"] == "inspect"
            pending.extend(result["next_tasks"])
            status = result["instance_status"]
            done += 1
        if status != "completed" or done != 14:
            raise RuntimeError(f"{business_key}: {status} after {done} tasks (expected 14)")
        return done


# Client processes: the lifecycle measurements run their clients in processes of their own, so a
# client's CPU does not compete with another's for one interpreter lock.
_worker: dict[str, Any] = {}


def _worker_init(users: dict[str, DemoUser], key: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker.update(users=users, key=key, clients={})


def _worker_run(base: str, prefix: str, n: int, not_before: float) -> float:
    """Works n instances; returns the CPU seconds this client process spent on them."""
    clients: dict[str, Client] = _worker["clients"]
    if base not in clients:
        clients[base] = Client(base, _worker["users"], _worker["key"])
    client = clients[base]
    while time.time() < not_before:
        time.sleep(0.001)
    began = time.process_time()
    for i in range(n):
        client.run_instance(f"{prefix}-{i}")
    return time.process_time() - began


def lifecycle_rate(
    pool: Any, bases: list[str], clients: int, instances: int, prefix: str
) -> tuple[float, float, float]:
    """Instances/s of `instances` worked by `clients` client processes; client c talks to
    bases[c % len(bases)]. Returns (instances/s, wall seconds, the clients' CPU seconds)."""
    counts = [instances // clients + (1 if c < instances % clients else 0) for c in range(clients)]
    not_before = time.time() + 0.3  # every client starts at the same moment
    jobs = [
        pool.apply_async(
            _worker_run, (bases[c % len(bases)], f"{prefix}-{c}", counts[c], not_before)
        )
        for c in range(clients)
    ]
    client_cpu = sum(job.get() for job in jobs)
    elapsed = time.time() - not_before
    return instances / elapsed, elapsed, client_cpu


# --------------------------------------------------------------------------- the servers


@contextlib.contextmanager
def floor_server(db: Database, workdir: Path, port: int) -> Iterator[tuple[str, int]]:
    env = {**os.environ, "BPMN_DATABASE_URL": db.url, "BPMN_DATABASE_SCHEMA": db.schema or ""}
    log_path = workdir / "floor.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(FLOOR_APP), "--host", HOST, "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    base = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the floor exited:\n{tail(log_path)}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the floor did not become ready:\n{tail(log_path)}")
            time.sleep(0.1)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def server_pid(port: int) -> int:
    """The pid of the `serve` process listening on `port` (running_server does not expose it)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in cmdline and str(port).encode() in cmdline and b"--port" in cmdline:
            return int(entry.name)
    raise RuntimeError(f"no server process on port {port}")


# --------------------------------------------------------------------------- statements per call


COLD = "every state loaded (BPMN_WARM_WORKFLOWS=0)"


def count_statements(
    db: Database, workdir: Path, users: dict[str, DemoUser], timed_instances: int = 1
) -> dict[str, Any]:
    """Statements per call of start, claim and complete, counted in-process (service layer on the
    same database) with a SQLAlchemy listener, over one instance of the 12-task process; then
    the CPU time of this process per call (the service layer: engine, SQLAlchemy, psycopg; not
    PostgreSQL's) over `timed_instances` more, without the listener."""
    from sqlalchemy import event

    from bpmn_service import engine
    from bpmn_service.context import AppContext
    from bpmn_service.identity import Principal
    from bpmn_service.services import deployments, instances, tasks

    ctx = AppContext.create(bench_settings(db, workdir))
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(ctx.engine, "before_cursor_execute", note)
    per_op: dict[str, list[int]] = defaultdict(list)
    kinds: Counter[str] = Counter()
    cpu: dict[str, list[float]] = defaultdict(list)
    try:
        analyst, clerk = users["analyst"], users[START_GROUP]
        files = [deployments.BpmnFile(BPMN.name, BPMN.read_bytes())]
        key = (
            deployments.deploy(ctx, files, Principal(analyst.user_id, analyst.groups), source="api")
            .definitions[0]
            .key
        )

        timing = False

        warm: Any = getattr(ctx.runner, "warm", None)
        # An older source tree (first on PYTHONPATH) keeps no warm workflows: no comparison.
        keeps = getattr(engine, "WarmWorkflows", None)
        cold: Any = keeps(0) if keeps is not None else None

        def counted(op: str, call: Any) -> Any:
            del seen[:]
            began = time.process_time()
            result = call()
            if timing:
                cpu[op if getattr(ctx.runner, "warm", None) is warm else f"{op}, {COLD}"].append(
                    time.process_time() - began
                )
            else:
                per_op[op].append(len(seen))
                kinds.update(seen)
            return result

        starter = Principal(clerk.user_id, clerk.groups)
        # The first run warms the caches (spec, form); the second is counted; the rest timed.
        for run in range(2 + timed_instances):
            if run == 2:
                event.remove(ctx.engine, "before_cursor_execute", note)
                timing = True
            if run < 2:
                per_op.clear()
                kinds.clear()
            # Timed instances take turns: with warm workflows (the server's default), and with
            # every stored state loaded (BPMN_WARM_WORKFLOWS=0), so one run compares the two.
            if cold is not None:
                ctx.runner.warm = cold if run > 2 and run % 2 else warm
            started = counted(
                "start",
                lambda: instances.start_instance(
                    ctx, key, f"STMT-{uuid.uuid4().hex[:8]}", dict(START_VARIABLES), starter
                ),
            )
            pending, candidates, inspections = list(started.tasks), dict(started.candidates), 0
            while pending:
                task = pending.pop(0)
                user = user_for(users, candidates.get(task.id, {}).get("group"))
                who = Principal(user.user_id, user.groups)
                counted("claim", lambda t=task, w=who: tasks.claim_task(ctx, t.id, w))
                values = values_for(task.element_id, inspections)
                done = counted(
                    "complete",
                    lambda t=task, w=who, v=values: tasks.complete_task(ctx, t.id, w, v),
                )
                inspections += task.element_id == "inspect"
                pending.extend(done.next_tasks)
                candidates.update(done.candidates)
    finally:
        ctx.engine.dispose()
    return {"per_op": dict(per_op), "kinds": kinds, "cpu": dict(cpu)}


# --------------------------------------------------------------------------- the report


@dataclass
class Measure:
    label: str
    unit: str
    rates: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # server CPU ms per call (or instance)
    # The lifecycle's: PostgreSQL's and the client processes' CPU ms per instance, and how many
    # of the machine's cores were busy (every process, other jobs' too) during the measurement.
    database_ms: list[float] = field(default_factory=list)
    clients_ms: list[float] = field(default_factory=list)
    cores_busy: list[float] = field(default_factory=list)

    def median(self) -> float:
        return statistics.median(self.rates)

    def spread(self) -> str:
        return f"{min(self.rates):.3g}-{max(self.rates):.3g}"


def ratio(a: list[float], b: list[float]) -> tuple[float, str]:
    per_round = [x / y for x, y in zip(a, b, strict=True)]
    return statistics.median(per_round), ", ".join(f"{r:.2f}" for r in per_round)


def report(
    db: Database,
    measures: dict[str, Measure],
    statements: dict[str, Any],
    args: argparse.Namespace,
    seconds: float,
    load: str,
) -> None:
    f, cl, co, l1, l2 = (measures[k] for k in ("F", "CL", "CO", "L1", "L2"))
    print(f"\n### {db.label}\n")
    print(
        f"{args.rounds} interleaved rounds; per round {args.calls} floor calls, {args.calls} "
        f"claims and {args.calls} completes (one keep-alive client, sequential), and "
        f"{args.instances} lifecycle instances (29 API calls each) worked by {args.clients} client "
        f"processes against one server, then split over two. Whole run {seconds:.0f} s; load "
        f"average (1, 5, 15 min) {load}.\n"
    )
    print("| measurement | median | rounds (min-max) | server CPU per call (median) |")
    print("|---|---:|---:|---:|")
    for m in (f, cl, co, l1, l2):
        per = "instance" if m in (l1, l2) else "call"
        print(
            f"| {m.label} | {m.median():.3g} {m.unit} | {m.spread()} | "
            f"{statistics.median(m.cpu_ms):.2f} ms per {per} |"
        )
    print("\n| ratio (within each round) | median | per round | target |")
    print("|---|---:|---:|---:|")
    rows = [
        ("claim calls/s / floor calls/s", ratio(cl.rates, f.rates), ">= 0.60"),
        ("complete calls/s / floor calls/s", ratio(co.rates, f.rates), ">= 0.30"),
        ("floor CPU per call / claim CPU per call", ratio(f.cpu_ms, cl.cpu_ms), ""),
        ("floor CPU per call / complete CPU per call", ratio(f.cpu_ms, co.cpu_ms), ""),
        ("two servers / one server (instances/s)", ratio(l2.rates, l1.rates), ">= 1.7"),
    ]
    for name, (median, rounds), target in rows:
        print(f"| {name} | {median:.2f} | {rounds} | {target} |")
    print(f"\nTwo servers: {l2.median():.1f} instances/s (target >= 25).\n")
    cores = os.cpu_count() or 1
    print(
        "| the lifecycle's CPU per instance (median ms) | servers | PostgreSQL | clients | "
        f"all three | cores busy (of {cores}, every process) | instances/s if the {cores} "
        "cores did only this |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for m in (l1, l2):
        parts = [statistics.median(x) for x in (m.cpu_ms, m.database_ms, m.clients_ms)]
        print(
            f"| {m.label.split('.')[0]} | {parts[0]:.1f} | {parts[1]:.1f} | {parts[2]:.1f} | "
            f"{sum(parts):.1f} | {statistics.median(m.cores_busy):.2f} | "
            f"{1000 * cores / sum(parts):.1f} |"
        )
    print()
    per_op = statements["per_op"]
    print("| statements per call (service layer, one instance, counted) | n | mean | min | max |")
    print("|---|---:|---:|---:|---:|")
    total = 0
    for op in ("start", "claim", "complete"):
        counts = per_op.get(op, [])
        total += sum(counts)
        if counts:
            print(
                f"| {op} | {len(counts)} | {statistics.fmean(counts):.1f} | {min(counts)} | "
                f"{max(counts)} |"
            )
    kinds = ", ".join(f"{n} {k}" for k, n in statements["kinds"].most_common())
    print(f"\nPer instance: {total} statements ({kinds}).")
    cpu = statements["cpu"]
    if cpu:
        print(
            f"\n| service layer in-process, CPU per call ({args.service_instances} instances) "
            "| n | median ms | mean ms |"
        )
        print("|---|---:|---:|---:|")
        for op in ("start", "claim", "complete", f"complete, {COLD}"):
            ms = [1000 * c for c in cpu.get(op, [])]
            if ms:
                print(
                    f"| {op} | {len(ms)} | {statistics.median(ms):.2f} | "
                    f"{statistics.fmean(ms):.2f} |"
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="postgresql://user@host:port/db")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=120, help="floor/claim/complete calls a round")
    parser.add_argument("--instances", type=int, default=40, help="lifecycle instances a round")
    parser.add_argument("--clients", type=int, default=4, help="lifecycle client processes")
    parser.add_argument(
        "--service-instances",
        type=int,
        default=8,
        help="instances worked in-process to time the service layer's CPU per call (0: none)",
    )
    parser.add_argument("--log-level", default="INFO", help="the servers' BPMN_LOG_LEVEL")
    parser.add_argument(
        "--port-base", type=int, default=0, help="ports P, P+1 (servers), P+2 (floor); free ones"
    )
    args = parser.parse_args(argv)
    if not args.database_url.startswith("postgresql"):
        parser.error("this benchmark compares against PostgreSQL: give a postgresql:// URL")
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(143))
    os.chdir(ROOT)
    users = group_users(USERS_FILE)
    run_id = uuid.uuid4().hex[:8]
    began = time.perf_counter()
    load_before = load_average()
    progress(f"machine: {machine()}; load average {load_before}")
    progress(f"packages: {versions()}")
    ports = (
        [args.port_base + i for i in range(3)]
        if args.port_base
        else [free_port() for _ in range(3)]
    )
    measures = {
        "F": Measure("F. floor: one UPDATE ... RETURNING per call", "calls/s"),
        "CL": Measure("CL. claim (first task of a started instance)", "calls/s"),
        "CO": Measure("CO. complete (the claimed task; the engine runs)", "calls/s"),
        "L1": Measure(f"L1. 12-task lifecycle, 1 server, {args.clients} clients", "instances/s"),
        "L2": Measure(f"L2. 12-task lifecycle, 2 servers, {args.clients} clients", "instances/s"),
    }
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bpmn-bench-")))
        db = stack.enter_context(fresh_database(args.database_url, tmp))
        progress(f"database: {db.label}; starting two servers and the floor")
        bases = [stack.enter_context(running_server(db, tmp, args.log_level, ports[0]))]
        (tmp / "2").mkdir()
        bases.append(stack.enter_context(running_server(db, tmp / "2", args.log_level, ports[1])))
        pids = [server_pid(ports[0]), server_pid(ports[1])]
        floor_base, floor_pid = stack.enter_context(floor_server(db, tmp, ports[2]))
        key = deploy(bases[0], users, BPMN)
        statements = count_statements(db, tmp, users, args.service_instances)
        ctx = multiprocessing.get_context("fork")
        pool = ctx.Pool(args.clients, initializer=_worker_init, initargs=(users, key))
        # close + join, not the context manager's terminate: a worker killed while it holds the
        # task queue's lock left another waiting on it, and the run hung at its end.
        stack.callback(pool.join)
        stack.callback(pool.close)
        client = Client(bases[0], users, key)
        stack.callback(client.close)
        floor = httpx.Client(base_url=floor_base, timeout=60)
        stack.callback(floor.close)

        def floor_calls(n: int) -> None:
            for i in range(n):
                response = floor.post(f"/floor/{i}")
                if response.status_code != 200:
                    raise RuntimeError(f"floor: HTTP {response.status_code}")

        progress("warming up")
        floor_calls(50)
        for i in range(2):
            client.run_instance(f"WARM-{run_id}-{i}")
        lifecycle_rate(pool, bases, args.clients, args.clients, f"WARM-{run_id}-L")

        def timed(pid_list: list[int], work: Any) -> tuple[float, float]:
            cpu0 = sum(cpu_seconds(p) for p in pid_list)
            t0 = time.perf_counter()
            work()
            wall = time.perf_counter() - t0
            return wall, sum(cpu_seconds(p) for p in pid_list) - cpu0

        n = args.calls
        for r in range(args.rounds):
            progress(f"round {r + 1}/{args.rounds}")
            wall, cpu = timed([floor_pid], lambda: floor_calls(n))
            measures["F"].rates.append(n / wall)
            measures["F"].cpu_ms.append(1000 * cpu / n)
            firsts = [client.start(f"CC-{run_id}-{r}-{i}")["tasks"][0] for i in range(n)]
            wall, cpu = timed(pids, lambda f=firsts: [client.claim(t) for t in f])
            measures["CL"].rates.append(n / wall)
            measures["CL"].cpu_ms.append(1000 * cpu / n)
            wall, cpu = timed(pids, lambda f=firsts: [client.complete(t) for t in f])
            measures["CO"].rates.append(n / wall)
            measures["CO"].cpu_ms.append(1000 * cpu / n)
            for label, servers in (("L1", bases[:1]), ("L2", bases)):
                prefix = f"{label}-{run_id}-{r}"
                cpu0 = sum(cpu_seconds(p) for p in pids)
                db0, busy0 = database_cpu_seconds(), machine_busy_seconds()
                rate, wall, clients_cpu = lifecycle_rate(
                    pool, servers, args.clients, args.instances, prefix
                )
                cpu = sum(cpu_seconds(p) for p in pids) - cpu0
                db_cpu, busy = database_cpu_seconds() - db0, machine_busy_seconds() - busy0
                m = measures[label]
                m.rates.append(rate)
                m.cpu_ms.append(1000 * cpu / args.instances)
                m.database_ms.append(1000 * db_cpu / args.instances)
                m.clients_ms.append(1000 * clients_cpu / args.instances)
                m.cores_busy.append(busy / wall)
        load = f"{load_before} before, {load_average()} after"
        report(db, measures, statements, args, time.perf_counter() - began, load)
    return 0


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
