"""Crash loop: kill -9 server processes under load, then prove nothing acknowledged was lost.

    .venv/bin/python bench/crashloop.py [--kills 50] [--database-url postgresql://…]

Two `bpmn-service serve` processes share one database. Four load clients run full applications
of tests/data/sla_demo.bpmn (start, claim, complete, message, external task, and a due-date timer
boundary) through either server, with an Idempotency-Key on every start and completion so a
request cut off by a crash can be retried safely. Meanwhile the killer sends SIGKILL to one server
at a time and restarts it, `--kills` times.

Afterwards it checks, against the database:
- every start, claim and completion the API acknowledged (2xx) is recorded;
- no completion was applied twice (one task_completed event per task);
- `bpmn-service doctor` finds no instance whose stored engine state disagrees with the tables;
- every instance can still be driven to its end: open work is finished, timers fire and expired
  external-task locks are taken over by a new worker.
Exits non-zero on any violation. Only 127.0.0.1 is contacted (plus the database URL given).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from servers import ROOT, Cluster

ADMIN = {"Authorization": "Bearer demo-admin"}
CLERK = {"Authorization": "Bearer demo-clerk"}
PORTAL = {"Authorization": "Bearer demo-portal"}
WORKER = {"Authorization": "Bearer demo-worker"}


@dataclass
class Ledger:
    """What the API acknowledged, per kind."""

    started: dict[str, str] = field(default_factory=dict)  # business key -> instance id
    claimed: set[str] = field(default_factory=set)
    completed: set[str] = field(default_factory=set)
    messages: set[str] = field(default_factory=set)
    external: set[str] = field(default_factory=set)
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client:
    """Sends each request to a random server and retries through crashes, keeping its key."""

    def __init__(self, bases: list[str], ledger: Ledger) -> None:
        self.bases = bases
        self.ledger = ledger
        self.http = httpx.Client(timeout=30)

    def call(self, method: str, path: str, headers: dict[str, str], **kw: Any) -> httpx.Response:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            base = random.choice(self.bases)
            try:
                response = self.http.request(method, f"{base}{path}", headers=headers, **kw)
            except httpx.HTTPError:
                with self.ledger.lock:
                    self.ledger.retries += 1
                time.sleep(0.05)
                continue
            if response.status_code == 503:
                time.sleep(0.05)
                continue
            return response
        raise RuntimeError(f"{method} {path}: no server answered")


def run_application(client: Client, ledger: Ledger, n: int) -> None:
    key = f"CRASH-{n}"
    started = client.call(
        "POST",
        "/process-definitions/sla_demo/instances",
        {**CLERK, "Idempotency-Key": f"start-{key}"},
        json={"business_key": key, "variables": {"category": "LV"}},
    )
    if started.status_code != 201:
        raise RuntimeError(f"start {key}: {started.status_code} {started.text[:200]}")
    instance_id = started.json()["id"]
    with ledger.lock:
        ledger.started[key] = instance_id
    task_id = started.json()["tasks"][0]["id"]
    claimed = client.call("POST", f"/tasks/{task_id}/claim", CLERK)
    if claimed.status_code == 200:
        with ledger.lock:
            ledger.claimed.add(task_id)
    complete_reply(client, ledger, task_id)
    send_documents(client, ledger, key)


def complete_reply(client: Client, ledger: Ledger, task_id: str) -> None:
    """Complete the reply task; the key makes a retry after a crash complete it only once."""
    done = client.call(
        "POST",
        f"/tasks/{task_id}/complete",
        {**CLERK, "Idempotency-Key": f"complete-{task_id}"},
        json={"variables": {"replied": True}},
    )
    if done.status_code == 200:
        with ledger.lock:
            ledger.completed.add(task_id)


def send_documents(client: Client, ledger: Ledger, key: str) -> None:
    """The portal's documents_supplemented message; its id makes a retry deliver it once."""
    message = client.call(
        "POST",
        "/messages",
        PORTAL,
        json={
            "message_name": "docs_supplemented",
            "business_key": key,
            "message_id": f"docs-{key}",
            "variables": {"docsNote": "ok"},
        },
    )
    if message.status_code in (200, 202):
        with ledger.lock:
            ledger.messages.add(key)


def finish_instance(client: Client, ledger: Ledger, key: str, instance_id: str) -> None:
    body = client.call("GET", f"/process-instances/{instance_id}", ADMIN).json()
    for task in body["tasks"]:
        client.call("POST", f"/tasks/{task['id']}/claim", CLERK)
        complete_reply(client, ledger, task["id"])
    if key not in ledger.messages:
        send_documents(client, ledger, key)


def finish_external(client: Client, ledger: Ledger, worker: str) -> int:
    locked = client.call(
        "POST",
        "/external-tasks/fetch-and-lock",
        WORKER,
        json={"worker_id": worker, "topics": ["sms"], "lock_seconds": 2, "max_tasks": 20},
    ).json()
    for task in locked:
        response = client.call(
            "POST",
            f"/external-tasks/{task['id']}/complete",
            WORKER,
            json={"worker_id": worker, "variables": {"smsId": "x"}},
        )
        if response.status_code == 204:
            with ledger.lock:
                ledger.external.add(task["id"])
    return len(locked)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument(
        "--servers",
        type=int,
        default=None,
        help="server processes (default: 2 on PostgreSQL, 1 on SQLite, whose file lock makes "
        "several writing processes wait on each other)",
    )
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    ledger = Ledger()
    violations: list[str] = []
    began = time.monotonic()
    servers = args.servers or (2 if args.database_url else 1)
    with Cluster(servers, args.database_url, poll_seconds=0.2) as cluster:
        bases = [cluster.url(i) for i in range(servers)]
        files = [
            (
                "files",
                (
                    "sla_demo.bpmn",
                    (ROOT / "tests/data/sla_demo.bpmn").read_bytes(),
                    "application/xml",
                ),
            )
        ]
        httpx.post(
            f"{bases[0]}/deployments", headers=ADMIN, files=files, timeout=60
        ).raise_for_status()
        stop = threading.Event()
        counter = iter(range(10**9))
        counter_lock = threading.Lock()

        def load() -> None:
            client = Client(bases, ledger)
            while not stop.is_set():
                with counter_lock:
                    n = next(counter)
                try:
                    run_application(client, ledger, n)
                except RuntimeError as exc:  # never acknowledged, so nothing to verify
                    print(f"  application {n} abandoned: {exc}", file=sys.stderr)
                if n % 5 == 0:
                    finish_external(client, ledger, f"worker-{uuid.uuid4().hex[:6]}")

        threads = [threading.Thread(target=load, daemon=True) for _ in range(args.clients)]
        for thread in threads:
            thread.start()
        for kill in range(args.kills):
            time.sleep(random.uniform(0.3, 1.2))
            victim = kill % servers
            cluster.kill(victim)
            cluster.start(victim)
            cluster.wait_ready(victim)
            print(f"  kill {kill + 1}/{args.kills}", file=sys.stderr)
        stop.set()
        for thread in threads:
            thread.join(timeout=120)

        # Finish what the stopped load left open, then drain the external tasks (expired locks
        # of crashed workers are taken over).
        client = Client(bases, ledger)
        for key, instance_id in ledger.started.items():
            finish_instance(client, ledger, key, instance_id)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(2.1)  # the crash-time locks (2 s) expire
            if finish_external(client, ledger, "drain") == 0:
                remaining = client.call(
                    "GET", "/external-tasks", ADMIN, params={"topic": "sms"}
                ).json()["total"]
                if remaining == 0:
                    break
        violations += verify(client, ledger, cluster)
    elapsed = time.monotonic() - began
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(
        "| database | servers | kills | applications | acknowledged completions "
        "| retried requests | violations | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {database} | {servers} | {args.kills} | {len(ledger.started)} | "
        f"{len(ledger.completed)} | {ledger.retries} | {len(violations)} | {elapsed:.0f} |"
    )
    for violation in violations[:30]:
        print(f"VIOLATION {violation}")
    return 1 if violations else 0


def verify(client: Client, ledger: Ledger, cluster: Cluster) -> list[str]:
    problems: list[str] = []
    for key, instance_id in ledger.started.items():
        body = client.call("GET", f"/process-instances/{instance_id}", ADMIN)
        if body.status_code != 200:
            problems.append(f"acknowledged start {key} is missing ({body.status_code})")
            continue
        detail = body.json()
        completions = Counter(
            e["task_id"] for e in detail["history"] if e["type"] == "task_completed"
        )
        for task_id, count in completions.items():
            if count > 1:
                problems.append(f"{key}: task {task_id} completed {count} times")
        if key in ledger.messages:
            received = [e for e in detail["history"] if e["type"] == "message_received"]
            if len(received) != 1:
                problems.append(f"{key}: acknowledged message received {len(received)} times")
    all_completed = set()
    all_claimed = set()
    for instance_id in ledger.started.values():
        history = client.call("GET", f"/process-instances/{instance_id}", ADMIN).json()["history"]
        all_completed |= {e["task_id"] for e in history if e["type"] == "task_completed"}
        all_claimed |= {e["task_id"] for e in history if e["type"] == "task_claimed"}
    for task_id in ledger.completed - all_completed:
        problems.append(f"acknowledged completion of {task_id} is missing")
    for task_id in ledger.claimed - all_claimed:
        problems.append(f"acknowledged claim of {task_id} is missing")
    unfinished = [
        key
        for key, instance_id in ledger.started.items()
        if client.call("GET", f"/process-instances/{instance_id}", ADMIN).json()["status"]
        != "completed"
    ]
    if unfinished:
        problems.append(
            f"{len(unfinished)} instances could not be driven to their end, e.g. {unfinished[:5]}"
        )
    doctor = subprocess.run(
        [sys.executable, "-m", "bpmn_service.cli", "doctor"],
        cwd=ROOT,
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if doctor.returncode != 0:
        problems += [f"doctor: {line}" for line in doctor.stderr.splitlines()]
    return problems


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
