"""Property-based API fuzzing with Schemathesis against a real server (the FULL run).

    .venv/bin/python bench/fuzz.py [--cases N] [--seed S] [--database-url URL]
                                   [--tokens demo-admin,demo-clerk] [--modes positive,negative]
                                   [--checks not_a_server_error,...] [--json PATH] [--keep]

What one run does:

1. Starts `bpmn-service serve` as a subprocess on 127.0.0.1 (free port) with a fresh SQLite file,
   or a new schema in the PostgreSQL database given by --database-url (dropped afterwards).
2. Seeds it over HTTP so that generated requests can hit real ids: deploys tests/data/approval.bpmn,
   tests/data/sla_demo.bpmn (external tasks, messages, incidents) and processes/*.bpmn through
   POST /api/v1/deployments, starts instances, claims a task, sends messages, locks an external task
   and raises an incident. Before every batch the pools of ids are refreshed and topped up (fuzzed
   cancels and completions use them up).
3. Loads /openapi.json from the server and, for every token (--tokens; default the admin and the
   low-privilege hall clerk), every generation mode (positive and negative) and every operation,
   generates cases with Hypothesis (seeded, so a run is reproducible on a fresh database). About
   half of the path parameters, and some query and body fields, are replaced by ids that exist;
   some variables and string fields get lone surrogates, NaN or Infinity (which must be 422).
   Each case is sent with `Authorization: Bearer <token>` and every check of --checks runs on its
   own.
   Batches are topped up until at least --cases cases have been sent (default 10,000).
4. Sends explicit size probes: JSON bodies above BPMN_MAX_BODY_BYTES (with and without
   Content-Length) and uploads above BPMN_MAX_UPLOAD_BYTES and above the request limit; each must
   be answered 413 with the error body, and 413 must be declared in the OpenAPI.
5. Prints a summary on stdout: cases sent (by token, mode and status class), failures by check,
   every distinct finding with its shortest reproduction (curl), the unhandled exceptions the
   server logged (with the innermost frame under src/), and the command. Progress goes to stderr.

Exit status: 0 when no check failed, 1 otherwise. Only 127.0.0.1 is contacted, plus the database
URL you give. The server is stopped and the database removed at the end, also on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
PATHS_DATA = ROOT / "processes" / "paths"
HOST = "127.0.0.1"
API = "/api/v1"
WORKER_ID = "fuzz-worker"

DEFAULT_SEED = 20260514
DEFAULT_TOKENS = ("demo-admin", "demo-clerk")
DEFAULT_MODES = ("positive", "negative")
DEFAULT_CHECKS = ("not_a_server_error", "response_schema_conformance", "status_code_conformance")
ANONYMOUS = "-"  # in --tokens: send no Authorization header

# Start variables of the seeded processes that have no processes/paths/<key>.json.
START_VARIABLES: dict[str, dict[str, Any]] = {
    "approval": {"amount": 120, "purpose": "fuzz seed"},
    "sla_demo": {"category": "RES"},
}
SEED_FILES = [DATA / "approval.bpmn", DATA / "sla_demo.bpmn"]
# Valid form values of the seeded user tasks (by BPMN element id), to get completions past 422.
TASK_VALUES: dict[str, dict[str, Any]] = {
    "review": {"decision": "APPROVE", "comment": "fuzz"},
    "revise": {"amount": 5},
    "reply": {"replied": True},
}


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Database:
    url: str
    schema: str | None
    label: str


@contextlib.contextmanager
def fresh_database(url: str | None, workdir: Path) -> Iterator[Database]:
    """A fresh SQLite file, or a new schema in the given PostgreSQL database (dropped after)."""
    if url is None:
        yield Database(f"sqlite:///{workdir / 'fuzz.db'}", None, "SQLite (fresh file)")
        return
    if not url.startswith("postgresql"):
        raise SystemExit(f"unsupported database URL {url!r}: use postgresql://… (or omit it)")
    from sqlalchemy import create_engine, text

    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    schema = f"fuzz_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        version = conn.execute(text("SHOW server_version")).scalar()
    try:
        yield Database(url, schema, f"PostgreSQL {version} (schema {schema}, dropped after)")
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@dataclass
class Server:
    base: str
    log_path: Path
    process: subprocess.Popen[bytes]
    max_body_bytes: int
    max_upload_bytes: int

    def alive(self) -> bool:
        return self.process.poll() is None


@contextlib.contextmanager
def running_server(db: Database, workdir: Path) -> Iterator[Server]:
    """Start `bpmn-service serve` on a free local port; always stop it."""
    port = free_port()
    processes_dir = workdir / "processes"  # empty: everything is deployed over the API
    processes_dir.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "BPMN_DATABASE_URL": db.url,
        "BPMN_USERS_FILE": str(ROOT / "config" / "users.toml"),
        "BPMN_PROCESSES_DIR": str(processes_dir),
        "BPMN_LANE_GROUPS_FILE": str(ROOT / "processes" / "lane-groups.toml"),
        "BPMN_REGISTRY_FILE": str(ROOT / "config" / "construction-units.toml"),
        "BPMN_CALENDAR_FILE": str(ROOT / "config" / "calendar.toml"),
        "BPMN_TIME_LIMITS_FILE": str(ROOT / "config" / "time-limits.toml"),
        "BPMN_MODE": "development",
        "BPMN_LOG_LEVEL": "WARNING",
        "BPMN_REFERENCE_WORKERS": "false",  # the seed plays the workers itself
    }
    env.pop("BPMN_DATABASE_SCHEMA", None)
    if db.schema:
        env["BPMN_DATABASE_SCHEMA"] = db.schema
    max_body = int(env.get("BPMN_MAX_BODY_BYTES", 1024 * 1024))
    max_upload = int(env.get("BPMN_MAX_UPLOAD_BYTES", 5 * 1024 * 1024))
    log_path = workdir / "server.log"
    command = [sys.executable, "-m", "bpmn_service.cli", "serve", "--host", HOST]
    command += ["--port", str(port)]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    server = Server(f"http://{HOST}:{port}", log_path, process, max_body, max_upload)
    try:
        deadline = time.monotonic() + 60
        while True:
            if not server.alive():
                raise RuntimeError(
                    f"the server exited with {process.returncode}:\n{tail(log_path)}"
                )
            try:
                if httpx.get(f"{server.base}{API}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not become ready:\n{tail(log_path)}")
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- seeding


def auth(token: str) -> dict[str, str]:
    return {} if token == ANONYMOUS else {"Authorization": f"Bearer {token}"}


def start_variables(key: str) -> dict[str, Any] | None:
    """Valid start variables: processes/paths/<key>.json's first start, or START_VARIABLES."""
    path = PATHS_DATA / f"{key}.json"
    if path.is_file():
        starts = json.loads(path.read_text(encoding="utf-8")).get("start") or {}
        if starts:
            return dict(next(iter(starts.values())))
    return START_VARIABLES.get(key)


@dataclass
class Pools:
    """Ids that exist on the server, drawn into generated requests."""

    keys: list[str] = field(default_factory=list)
    business_keys: list[str] = field(default_factory=list)
    instance_ids: list[str] = field(default_factory=list)
    task_ids: list[str] = field(default_factory=list)
    task_elements: dict[str, str] = field(default_factory=dict)
    external_task_ids: list[str] = field(default_factory=list)
    element_ids: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=lambda: ["sms"])
    message_names: list[str] = field(default_factory=lambda: ["docs_supplemented"])


class Seeder:
    """Deploys the seed processes and keeps live instances, tasks and external tasks around."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base + API, timeout=60)
        self.counter = 0
        self.pools = Pools()
        self.warnings: list[str] = []

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, token: str, **kw: Any) -> httpx.Response:
        return self.http.request(method, path, headers=auth(token), **kw)

    def deploy_all(self) -> list[str]:
        files = [*SEED_FILES, *sorted((ROOT / "processes").glob("*.bpmn"))]
        keys: list[str] = []
        for path in files:
            upload = [("files", (path.name, path.read_bytes(), "application/xml"))]
            r = self.call("POST", "/deployments", "demo-admin", files=upload)
            if r.status_code != 201:
                self.warnings.append(f"deploy {path.name}: {r.status_code} {r.text[:200]}")
                continue
            keys += [d["key"] for d in r.json()["definitions"]]
        return keys

    def start(self, key: str, token: str) -> dict[str, Any] | None:
        variables = start_variables(key)
        if variables is None:
            return None
        self.counter += 1
        business_key = f"SEED-{key}-{self.counter}"
        r = self.call(
            "POST",
            f"/process-definitions/{key}/instances",
            token,
            json={"business_key": business_key, "variables": variables},
        )
        if r.status_code != 201:
            self.warnings.append(f"start {key} as {token}: {r.status_code} {r.text[:200]}")
            return None
        body: dict[str, Any] = r.json()
        return body

    def sla_chain(self, incident: bool) -> None:
        """An sla_demo instance driven to its external task (locked; or failed into an incident)."""
        started = self.start("sla_demo", "demo-clerk")
        if not started or not started["tasks"]:
            return
        task_id = started["tasks"][0]["id"]
        self.call("POST", f"/tasks/{task_id}/claim", "demo-clerk")
        self.call("POST", f"/tasks/{task_id}/complete", "demo-clerk", json={"variables": {}})
        r = self.call(
            "POST",
            f"/tasks/{task_id}/complete",
            "demo-clerk",
            json={"variables": {"replied": True}},
        )
        if r.status_code != 200:
            self.warnings.append(f"complete sla reply: {r.status_code} {r.text[:200]}")
        self.call(
            "POST",
            "/messages",
            "demo-admin",
            json={"message_name": "docs_supplemented", "business_key": started["business_key"]},
        )
        locked = self.call(
            "POST",
            "/external-tasks/fetch-and-lock",
            "demo-worker",
            json={
                "worker_id": WORKER_ID,
                "topics": ["sms"],
                "max_tasks": 1,
                "process_instance_id": started["id"],
            },
        )
        if locked.status_code == 200 and locked.json() and incident:
            self.call(
                "POST",
                f"/external-tasks/{locked.json()[0]['id']}/failure",
                "demo-worker",
                json={"worker_id": WORKER_ID, "error_message": "fuzz seed", "retries": 0},
            )

    def seed(self, keys: list[str]) -> None:
        for key in keys:
            if key in ("approval", "sla_demo"):
                continue
            for token in ("demo-admin", "demo-clerk"):
                self.start(key, token)
        for token in ("demo-admin", "demo-admin", "demo-clerk", "demo-clerk"):
            self.start("approval", token)
        self.start("sla_demo", "demo-clerk")
        self.sla_chain(incident=False)
        self.sla_chain(incident=True)
        # A message nobody waits for yet: buffered.
        self.call(
            "POST",
            "/messages",
            "demo-admin",
            json={"message_name": "docs_supplemented", "business_key": "SEED-nobody-waits"},
        )
        self.top_up()

    def top_up(self) -> None:
        """Keep enough live state for the next batch: fuzzed cancels and completions use it up."""
        self.refresh()
        active = self.call("GET", "/process-instances", "demo-admin", params={"status": "active"})
        n_active = active.json()["total"] if active.status_code == 200 else 0
        n_tasks = len(self.pools.task_ids)
        if n_active < 6 or n_tasks < 6:
            self.start("approval", "demo-clerk")
            self.start("approval", "demo-admin")
        if len(self.pools.external_task_ids) < 2:
            self.sla_chain(incident=False)
        # Claimed tasks for each user, so that unclaim and complete get past "not claimed".
        for user, token in (("admin", "demo-admin"), ("clerk", "demo-clerk")):
            mine = self.call("GET", "/tasks", token, params={"assignee": user, "limit": 1})
            if mine.status_code == 200 and mine.json()["total"] < 2:
                free = self.call("GET", "/tasks", token, params={"unassigned": True, "limit": 2})
                for task in free.json()["items"] if free.status_code == 200 else []:
                    self.call("POST", f"/tasks/{task['id']}/claim", token)
        self.refresh()

    def refresh(self) -> None:
        p = self.pools
        r = self.call("GET", "/process-definitions", "demo-admin")
        if r.status_code == 200:
            p.keys = sorted({d["key"] for d in r.json()})
        r = self.call("GET", "/process-instances", "demo-admin", params={"limit": 200})
        if r.status_code == 200:
            items = r.json()["items"]
            p.instance_ids = [i["id"] for i in items]
            p.business_keys = sorted({i["business_key"] for i in items})
        r = self.call("GET", "/tasks", "demo-admin", params={"limit": 200})
        if r.status_code == 200:
            items = r.json()["items"]
            p.task_ids = [t["id"] for t in items]
            p.task_elements = {t["id"]: t["element_id"] for t in items}
            p.element_ids = sorted({t["element_id"] for t in items})
            p.groups = sorted({g for t in items for g in t["candidate_groups"]})
        r = self.call("GET", "/external-tasks", "demo-admin", params={"limit": 200})
        if r.status_code == 200:
            items = r.json()["items"]
            p.external_task_ids = [t["id"] for t in items]
            p.topics = sorted({t["topic"] for t in items} | {"sms"})


# --------------------------------------------------------------------------- real ids in cases


def pool_for(pools: Pools, path: str, name: str) -> list[str]:
    """Existing values for a path or query parameter of an operation (by its path template)."""
    if name in ("key", "process_definition_key"):
        return pools.keys
    if name in ("instance_id", "process_instance_id"):
        return pools.instance_ids
    if name == "task_id":
        return pools.external_task_ids if "/external-tasks/" in path else pools.task_ids
    return {
        "business_key": pools.business_keys,
        "element_id": pools.element_ids,
        "candidate_group": pools.groups,
        "topic": pools.topics,
    }.get(name, [])


BODY_POOLS: dict[str, Callable[[Pools], list[Any]]] = {
    "message_name": lambda p: p.message_names,
    "business_key": lambda p: p.business_keys,
    "process_definition_key": lambda p: p.keys,
    "process_instance_id": lambda p: p.instance_ids,
    "topics": lambda p: [[t] for t in p.topics],
    "worker_id": lambda p: [WORKER_ID],
}


# Values Python's JSON writer sends and strict JSON or the databases do not take.
UNSTORABLE_VALUES: list[Any] = [
    "\ud800",
    "a\udfffb",
    "\udc80 trailing",
    math.nan,
    math.inf,
    -math.inf,
    [1, math.nan],
    {"nested": "\ud83d"},
]


def with_real_ids(case: Any, pools: Pools, draw: Callable[[Any], Any]) -> None:
    """Replace, by Hypothesis draws, some generated values with values that exist on the server."""
    from hypothesis import strategies as st

    path = case.operation.path
    for container in ("path_parameters", "query"):
        values = getattr(case, container)
        if not isinstance(values, dict):
            continue
        for name in list(values):
            pool = pool_for(pools, path, name)
            # Path parameters half the time; query filters less often (they narrow lists to 0).
            chance = 2 if container == "path_parameters" else 4
            if pool and draw(st.integers(0, chance - 1)) == 0:
                values[name] = draw(st.sampled_from(pool))
    body = case.body
    if not isinstance(body, dict):
        return
    for name, pool_of in BODY_POOLS.items():
        pool = pool_of(pools)
        if name in body and pool and draw(st.booleans()):
            body[name] = draw(st.sampled_from(pool))
    # Now and then valid form values, so that starts and completions succeed too.
    params = case.path_parameters or {}
    if "variables" in body and draw(st.integers(0, 2)) == 0:
        if path.endswith("/instances") and "key" in params:
            valid = start_variables(str(params["key"]))
        else:
            valid = TASK_VALUES.get(pools.task_elements.get(str(params.get("task_id")), ""))
        if valid is not None:
            body["variables"] = dict(valid)
    # And now and then a value no database stores faithfully (a lone surrogate, NaN, Infinity,
    # 1e400 as a float): it must be answered 422, never 5xx, and never stored.
    if isinstance(body.get("variables"), dict) and draw(st.integers(0, 4)) == 0:
        name = draw(st.sampled_from(sorted(body["variables"]) or ["comment"]))
        body["variables"][name] = draw(st.sampled_from(UNSTORABLE_VALUES))
    elif draw(st.integers(0, 9)) == 0:
        strings = [k for k, v in body.items() if isinstance(v, str)]
        if strings:
            body[draw(st.sampled_from(strings))] = draw(st.sampled_from(UNSTORABLE_VALUES[:3]))


# --------------------------------------------------------------------------- findings


@dataclass
class Finding:
    check: str
    operation: str
    status: int
    title: str
    detail: str
    count: int = 0
    token: str = ""
    mode: str = ""
    curl: str = ""
    response: str = ""

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.check, self.operation, self.status, self.title)


@dataclass
class Stats:
    cases: int = 0
    by_job: Counter[tuple[str, str]] = field(default_factory=Counter)
    by_status: Counter[tuple[str, int]] = field(default_factory=Counter)
    failing_cases_by_check: Counter[str] = field(default_factory=Counter)
    findings: dict[tuple[str, str, int, str], Finding] = field(default_factory=dict)
    transport_errors: Counter[str] = field(default_factory=Counter)
    auth_negated: int = 0  # negative cases for which Schemathesis itself left the token out
    skipped: list[str] = field(default_factory=list)

    def record(self, finding: Finding) -> None:
        known = self.findings.get(finding.key)
        if known is None:
            finding.count = 1
            self.findings[finding.key] = finding
            return
        known.count += 1
        if len(finding.curl) < len(known.curl):  # keep the shortest reproduction
            known.curl, known.response = finding.curl, finding.response
            known.token, known.mode, known.detail = finding.token, finding.mode, finding.detail


def failure_detail(failure: Any) -> str:
    message = str(getattr(failure, "message", "") or "").strip()
    lines = [line for line in message.splitlines() if line.strip()]
    return " | ".join(lines[:6])[:600]


def response_summary(response: Any) -> str:
    text = response.content.decode("utf-8", errors="replace") if response.content else ""
    return f"{response.status_code} {text[:400]}"


# --------------------------------------------------------------------------- the fuzzing loop


@dataclass
class Job:
    token: str
    mode: str
    operation: Any
    label: str
    exhausted: bool = False


def run_job(
    job: Job,
    n: int,
    seed: int,
    base: str,
    session: Any,
    checks: list[Any],
    pools: Pools,
    stats: Stats,
) -> int:
    """Generate and send up to n cases of one operation as one token; returns the cases sent."""
    import requests
    from hypothesis import (
        HealthCheck,
        Phase,
        given,
        seed as hypothesis_seed,
        settings,
        strategies as st,
    )
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.core.failures import Failure, FailureGroup

    mode = GenerationMode.POSITIVE if job.mode == "positive" else GenerationMode.NEGATIVE
    strategy = job.operation.as_strategy(generation_mode=mode)
    headers = auth(job.token)
    sent = 0

    @hypothesis_seed(seed)
    @settings(
        max_examples=n,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(data=st.data())
    def test(data: Any) -> None:
        nonlocal sent
        case = data.draw(strategy)
        with_real_ids(case, pools, data.draw)
        try:
            response = case.call(base_url=base, session=session, headers=headers, timeout=60)
        except requests.RequestException as exc:
            stats.transport_errors[f"{job.label}: {type(exc).__name__}"] += 1
            sent += 1
            stats.cases += 1
            return
        sent += 1
        stats.cases += 1
        stats.by_status[(job.label, response.status_code)] += 1
        if "Authorization" in headers and "Authorization" not in response.request.headers:
            stats.auth_negated += 1
        curl = ""
        for check in checks:
            try:
                case.validate_response(response, checks=[check], headers=headers)
            except (Failure, FailureGroup) as exc:
                failures = exc.exceptions if isinstance(exc, FailureGroup) else (exc,)
                stats.failing_cases_by_check[check.__name__] += 1
                curl = curl or case.as_curl_command(headers=headers, base_url=base)
                for failure in failures:
                    stats.record(
                        Finding(
                            check=check.__name__,
                            operation=job.label,
                            status=response.status_code,
                            title=str(getattr(failure, "title", type(failure).__name__)),
                            detail=failure_detail(failure),
                            token=job.token,
                            mode=job.mode,
                            curl=curl,
                            response=response_summary(response),
                        )
                    )

    try:
        test()
    except Unsatisfiable:  # negative mode, nothing to negate (no parameters, no body)
        stats.skipped.append(f"{job.label} as {job.token} ({job.mode}): nothing to negate")
        job.exhausted = True
    except Exception as exc:  # any other generation problem skips the batch, and is reported
        stats.skipped.append(
            f"{job.label} as {job.token} ({job.mode}): {type(exc).__name__}: {exc}"
        )
        job.exhausted = True
    if sent < n:
        job.exhausted = True
    return sent


@dataclass
class Probe:
    title: str
    operation: str
    declared: bool  # 413 is in the operation's OpenAPI responses
    status: int = 0
    error_body: bool = False  # the body is the service's error body with code payload_too_large
    answer: str = ""

    @property
    def answered_413(self) -> bool:
        return self.status == 413 and self.error_body


def size_probes(server: Server, stats: Stats, spec: dict[str, Any]) -> list[Probe]:
    """Oversized bodies and uploads must be answered 413 with the error body, and declare it."""
    token = auth("demo-admin")
    big_json = json.dumps({"business_key": "BIG", "variables": {"x": "a" * server.max_body_bytes}})
    bpmn_path = f"{API}/process-definitions/approval/instances"

    def chunks(data: bytes) -> Iterator[bytes]:
        for i in range(0, len(data), 65536):
            yield data[i : i + 65536]

    probes: list[tuple[str, str, dict[str, Any]]] = [
        (
            "JSON body over BPMN_MAX_BODY_BYTES, with Content-Length",
            f"POST {bpmn_path}",
            {"content": big_json, "headers": {**token, "Content-Type": "application/json"}},
        ),
        (
            "JSON body over BPMN_MAX_BODY_BYTES, chunked (no Content-Length)",
            f"POST {bpmn_path}",
            {
                "content": chunks(big_json.encode()),
                "headers": {**token, "Content-Type": "application/json"},
            },
        ),
        (
            "message over BPMN_MAX_BODY_BYTES",
            f"POST {API}/messages",
            {"content": big_json, "headers": {**token, "Content-Type": "application/json"}},
        ),
        (
            "one BPMN file over BPMN_MAX_UPLOAD_BYTES",
            f"POST {API}/deployments",
            {
                "files": [("files", ("big.bpmn", b" " * (server.max_upload_bytes + 1)))],
                "headers": token,
            },
        ),
        (
            "upload request over 4 x BPMN_MAX_UPLOAD_BYTES",
            f"POST {API}/deployments",
            {
                "files": [("files", ("huge.bpmn", b" " * (4 * server.max_upload_bytes + 1)))],
                "headers": token,
            },
        ),
        (
            "low-privilege token, JSON body over the limit",
            f"POST {API}/messages",
            {
                "content": big_json,
                "headers": {**auth("demo-clerk"), "Content-Type": "application/json"},
            },
        ),
    ]
    results: list[Probe] = []
    with httpx.Client(base_url=server.base, timeout=120) as client:
        for title, label, kwargs in probes:
            method, path = label.split(" ", 1)
            template = path if path.endswith(("/messages", "/deployments")) else None
            template = template or f"{API}/process-definitions/{{key}}/instances"
            declared = spec["paths"].get(template, {}).get(method.lower(), {}).get("responses", {})
            probe = Probe(title, f"{method} {template}", "413" in declared)
            try:
                r = client.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                probe.answer = f"{type(exc).__name__}: {exc}"
                results.append(probe)
                continue
            stats.by_status[(f"probe {label}", r.status_code)] += 1
            probe.status = r.status_code
            probe.answer = r.text[:200]
            with contextlib.suppress(ValueError, AttributeError):
                probe.error_body = r.json().get("code") == "payload_too_large"
            progress(f"  probe: {title} -> {r.status_code}")
            results.append(probe)
    return results


# --------------------------------------------------------------------------- server log


SRC_FRAME = re.compile(r'\s+File ".*?/(src/bpmn_service/[^"]+)", line (\d+), in (\S+)')
ERROR_LINE = re.compile(r"[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)\w*: ")


def server_exceptions(log_path: Path) -> list[tuple[int, str]]:
    """Distinct unhandled exceptions in the server log: (count, 'route | src frame | error').

    The frame is the innermost one under src/ of the whole chained traceback, the error the last
    exception line (the one the service let through)."""
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    found: Counter[str] = Counter()
    starts = [i for i, line in enumerate(lines) if line.startswith("unhandled error on")]
    for n, i in enumerate(starts):
        route = lines[i].removeprefix("unhandled error on ").strip()
        # Generated ids with control or non-ASCII characters: one route, not one line each.
        route = re.sub(r"/[^/?]*[^\x21-\x7e][^/?]*", "/…", route)
        frame = error = ""
        for line in lines[i + 1 : starts[n + 1] if n + 1 < len(starts) else len(lines)]:
            if line.startswith("{"):  # the next JSON log record
                break
            m = SRC_FRAME.match(line)
            if m:
                frame = f"{m.group(1)}:{m.group(2)} in {m.group(3)}"
            elif ERROR_LINE.match(line):  # chained: the last one is what the service let through
                error = line.strip()
        found[f"{route} | {frame or '(no src frame)'} | {error[:200] or '?'}"] += 1
    return sorted(((n, k) for k, n in found.items()), reverse=True)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="at least this many cases")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--database-url", help="postgresql://… (default: a fresh SQLite file)")
    parser.add_argument("--tokens", default=",".join(DEFAULT_TOKENS), help=f"'{ANONYMOUS}': none")
    parser.add_argument("--modes", default=",".join(DEFAULT_MODES))
    parser.add_argument("--checks", default=",".join(DEFAULT_CHECKS))
    parser.add_argument("--json", type=Path, help="also write the findings as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (log, db)")
    args = parser.parse_args(argv)

    import requests
    import schemathesis
    from schemathesis import checks as st_checks

    tokens = [t.strip() for t in args.tokens.split(",") if t.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    checks = [getattr(st_checks, name.strip()) for name in args.checks.split(",") if name.strip()]
    command = shlex.join([sys.executable, *sys.argv] if argv is None else ["bench/fuzz.py", *argv])

    workdir = Path(tempfile.mkdtemp(prefix="bpmn-fuzz-"))
    stats = Stats()
    started = time.monotonic()
    with fresh_database(args.database_url, workdir) as db, running_server(db, workdir) as server:
        progress(f"server {server.base} on {db.label}; work directory {workdir}")
        seeder = Seeder(server.base)
        keys = seeder.deploy_all()
        seeder.seed(keys)
        pools = seeder.pools
        progress(
            f"seeded: definitions {pools.keys}, {len(pools.instance_ids)} instances, "
            f"{len(pools.task_ids)} tasks, {len(pools.external_task_ids)} external tasks"
        )
        spec = httpx.get(f"{server.base}/openapi.json", timeout=30).json()
        # Unsanitized output: the reproductions must carry the real header and query values.
        config = schemathesis.Config.from_dict({"output": {"sanitization": {"enabled": False}}})
        schema = schemathesis.openapi.from_dict(spec, config=config)
        operations = [r.ok() for r in schema.get_all_operations()]
        operations.sort(key=lambda op: (op.path, op.method))
        jobs = [
            Job(token, mode, op, f"{op.method.upper()} {op.path}")
            for token in tokens
            for mode in modes
            for op in operations
        ]
        progress(f"{len(operations)} operations x {len(tokens)} tokens x {len(modes)} modes")
        session = requests.Session()
        per_job = max(1, math.ceil(args.cases / len(jobs)))
        round_no = 0
        while stats.cases < args.cases and round_no < 20:
            live = [j for j in jobs if not j.exhausted]
            if not live:
                break
            if round_no:
                per_job = max(1, math.ceil((args.cases - stats.cases) / len(live)))
            for job in live:
                if not server.alive():
                    raise SystemExit(f"the server died:\n{tail(server.log_path)}")
                seeder.top_up()
                job_seed = args.seed + 7919 * round_no + jobs.index(job)
                sent = run_job(job, per_job, job_seed, server.base, session, checks, pools, stats)
                stats.by_job[(job.token, job.mode)] += sent
                progress(
                    f"  [{stats.cases:>6}] {job.label} as {job.token} ({job.mode}): {sent} cases"
                )
            round_no += 1
        session.close()
        probes = size_probes(server, stats, spec)
        seeder.close()
        elapsed = time.monotonic() - started
        exceptions = server_exceptions(server.log_path)
        if args.keep:
            progress(f"kept {workdir}")

    report(args, stats, probes, exceptions, seeder.warnings, db.label, command, elapsed)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "command": command,
                    "cases": stats.cases,
                    "failing_cases_by_check": dict(stats.failing_cases_by_check),
                    "findings": [f.__dict__ for f in stats.findings.values()],
                    "size_probes": [p.__dict__ for p in probes],
                    "server_exceptions": [{"count": n, "what": w} for n, w in exceptions],
                },
                indent=2,
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
    if not args.keep:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    probes_ok = all(p.answered_413 and p.declared for p in probes)
    return 1 if stats.findings or stats.transport_errors or not probes_ok else 0


def report(
    args: argparse.Namespace,
    stats: Stats,
    probes: list[Probe],
    exceptions: list[tuple[int, str]],
    warnings: list[str],
    database: str,
    command: str,
    elapsed: float,
) -> None:
    import schemathesis

    print("# Schemathesis fuzz run")
    print()
    print(f"- command: `{command}`")
    print(f"- schemathesis {schemathesis.__version__}, seed {args.seed}, database: {database}")
    print(f"- checks: {args.checks}")
    print(f"- cases sent: {stats.cases} in {elapsed:.0f} s")
    for (token, mode), n in sorted(stats.by_job.items()):
        print(f"  - {token} / {mode}: {n}")
    classes: Counter[str] = Counter()
    for (label, status), n in stats.by_status.items():
        if not label.startswith("probe"):
            classes[f"{status // 100}xx"] += n
    print(f"- responses by class: {dict(sorted(classes.items()))}")
    print(
        "- negative cases sent without the token on purpose (Schemathesis negates the security "
        f"scheme; 401 expected): {stats.auth_negated}"
    )
    all_ops = sorted({label for (label, _s) in stats.by_status if not label.startswith("probe")})
    ok_ops = {label for (label, s), n in stats.by_status.items() if s < 300 and n}
    print(
        f"- operations answered 2xx at least once: {len(ok_ops & set(all_ops))} of {len(all_ops)}"
    )
    never = [label for label in all_ops if label not in ok_ops]
    if never:
        print(f"  - never 2xx: {', '.join(never)}")
    if stats.transport_errors:
        print(f"- transport errors: {dict(stats.transport_errors)}")
    if warnings:
        print(f"- seeding warnings: {warnings}")
    print()
    print("## Failures by check (failing cases / distinct findings)")
    print()
    for name in args.checks.split(","):
        distinct = sum(1 for f in stats.findings.values() if f.check == name)
        print(f"- {name}: {stats.failing_cases_by_check.get(name, 0)} / {distinct}")
    answered = sum(p.answered_413 for p in probes)
    declared = sum(p.declared for p in probes)
    print(f"- size probes answered 413 with the error body: {answered} of {len(probes)}")
    print(f"- size probes whose operation declares 413 in the OpenAPI: {declared} of {len(probes)}")
    if stats.findings:
        print()
        print("## Findings")
        ordered = sorted(stats.findings.values(), key=lambda f: (f.check, f.operation, f.status))
        for i, f in enumerate(ordered, 1):
            print()
            print(f"{i}. [{f.check}] {f.operation} -> {f.status}: {f.title} ({f.count} cases)")
            if f.detail:
                print(f"   detail: {f.detail}")
            print(f"   shortest reproduction ({f.token}, {f.mode}): {f.curl}")
            print(f"   response: {f.response}")
    print()
    print("## Size probes")
    print()
    for p in probes:
        verdict = "413" if p.answered_413 else f"NOT 413: {p.status} {p.answer}"
        undeclared = "" if p.declared else " (413 not declared in the OpenAPI)"
        print(f"- {p.title}: {p.operation} -> {verdict}{undeclared}")
    if exceptions:
        print()
        print("## Unhandled exceptions in the server log (count | route | frame | error)")
        print()
        for n, what in exceptions:
            print(f"- {n} | {what}")
    print()
    print("## Statuses by operation (all tokens and modes)")
    print()
    for label in all_ops:
        counts = {st: n for (lb, st), n in sorted(stats.by_status.items()) if lb == label}
        print(f"- {label}: {', '.join(f'{st}: {n}' for st, n in counts.items())}")
    if stats.skipped:
        print()
        print("## Batches with nothing to generate")
        print()
        for s in stats.skipped:
            print(f"- {s[:160]}")


if __name__ == "__main__":
    sys.exit(main())
