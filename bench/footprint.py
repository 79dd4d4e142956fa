"""What one 业扩 application costs the database and the server: rows, bytes, API calls, CPU.

Every recorded path of the shipped models (processes/paths: both customer-category mixes of
`yekuo_current` and `yekuo_streamlined`) is driven to its end over real HTTP against one
`bpmn-service serve` process, as the path tests drive it (start, claim + complete as a demo user of
the task's group, customer messages, external tasks worked by the script), `--copies` times each.
Then, per table, the rows and the bytes (PostgreSQL: `pg_total_relation_size`, indexes and TOAST
included, measured after ANALYZE) are divided by the number of applications, and the server's own
CPU time (from /proc) by the number of API calls. docs/scaling.md turns these figures into
a province's year.

    .venv/bin/python bench/footprint.py --database-url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/footprint.py --copies 2       # SQLite: rows only, no bytes per table
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tomllib
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(1, str(ROOT / "bench"))
sys.path.insert(1, str(ROOT / "tests"))

from servers import Cluster  # noqa: E402

import process_paths  # noqa: E402

KEYS = ("yekuo_current", "yekuo_streamlined")
# The tables an application writes to; the rest (deployments, calendar, jobs) do not grow with it.
TABLES = (
    "process_instance",
    "task",
    "task_candidate",
    "historic_task",
    "history_event",
    "historic_wait",
    "message_subscription",
    "message",
    "external_task",
    "idempotency_key",
    "run_incident",
    "time_limit_clock",
)


class HttpApi:
    """The calls tests/process_paths.py makes, against a real server, counting them."""

    def __init__(self, base: str) -> None:
        users = tomllib.loads((ROOT / "config" / "users.toml").read_text(encoding="utf-8"))
        self.tokens = {u: str(e["token"]) for u, e in users["users"].items() if e.get("token")}
        self.client = httpx.Client(base_url=base, timeout=60)
        self.calls = 0
        self.admin = self._headers("admin")

    def _headers(self, user: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}

    def get(self, path: str, user: str | None = "admin", **kw: Any) -> Any:
        self.calls += 1
        return self.client.get(path, headers=self._headers(user), **kw)

    def post(self, path: str, user: str | None = "admin", **kw: Any) -> Any:
        self.calls += 1
        return self.client.post(path, headers=self._headers(user), **kw)

    def start(self, key: str, business_key: str, variables: dict[str, Any], user: str) -> Any:
        body = {"business_key": business_key, "variables": variables}
        return self.post(f"/process-definitions/{key}/instances", user, json=body)

    def claim(self, task_id: str, user: str) -> Any:
        return self.post(f"/tasks/{task_id}/claim", user)

    def complete(self, task_id: str, user: str, variables: dict[str, Any]) -> Any:
        return self.post(f"/tasks/{task_id}/complete", user, json={"variables": variables})

    def open_tasks(self, instance_id: str) -> list[dict[str, Any]]:
        return list(self.get(f"/process-instances/{instance_id}").json()["tasks"])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def table_figures(cluster: Cluster) -> dict[str, tuple[int, int | None, int | None]]:
    """Rows and (PostgreSQL only) total bytes of every table an application writes to: the
    relation with its indexes, TOAST and the dead row versions autovacuum has not yet made
    reusable, and the live rows alone (as stored, compressed values included)."""
    from sqlalchemy import create_engine, text

    assert cluster.database_url
    url = cluster.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    figures: dict[str, tuple[int, int | None, int | None]] = {}
    with engine.begin() as conn:
        if cluster.schema:
            conn.execute(text(f'SET search_path TO "{cluster.schema}"'))
            conn.execute(text("ANALYZE"))
        for table in TABLES:
            rows = int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            size = live = None
            if cluster.schema:
                qualified = f'"{cluster.schema}".{table}'
                size = int(
                    conn.execute(
                        text("SELECT pg_total_relation_size(:t)"), {"t": qualified}
                    ).scalar_one()
                )
                live = int(
                    conn.execute(
                        text(f"SELECT coalesce(sum(pg_column_size(r.*)), 0) FROM {table} r")
                    ).scalar_one()
                )
            figures[table] = (rows, size, live)
    engine.dispose()
    return figures


def state_sizes(cluster: Cluster) -> tuple[float, float | None]:
    """Mean engine state of a completed application: as text, and as stored (PostgreSQL
    compresses it)."""
    from sqlalchemy import create_engine, text

    assert cluster.database_url
    url = cluster.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    with engine.begin() as conn:
        if cluster.schema:
            conn.execute(text(f'SET search_path TO "{cluster.schema}"'))
            row = conn.execute(
                text(
                    "SELECT avg(octet_length(state)), avg(pg_column_size(state)) "
                    "FROM process_instance WHERE status = 'completed'"
                )
            ).one()
            result = (float(row[0]), float(row[1]))
        else:
            length = conn.execute(
                text("SELECT avg(length(state)) FROM process_instance WHERE status = 'completed'")
            ).scalar_one()
            result = (float(length), None)
    engine.dispose()
    return result


def drive_all(api: HttpApi, copies: int) -> tuple[Counter[str], int]:
    """Every recorded path of both models, `copies` times; applications per model, and steps."""
    applications: Counter[str] = Counter()
    steps = 0
    for copy in range(copies):
        for key in KEYS:
            for path_name, path_steps in process_paths.load_paths(key)["paths"].items():
                business_key = f"FP-{copy}-{path_name}-{uuid.uuid4().hex[:6]}"
                instance_id = process_paths.start(api, key, path_name, business_key)
                process_paths.run_steps(api, instance_id, path_steps)
                # Not counted as an API call of the application: the check is the script's own.
                final = api.client.get(f"/process-instances/{instance_id}", headers=api.admin)
                state = final.json()["status"]
                if state != "completed":
                    raise SystemExit(f"{key} {path_name}: instance ended {state}, not completed")
                applications[key] += 1
                steps += len(path_steps)
    return applications, steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--copies", type=int, default=3, help="runs of every recorded path")
    args = parser.parse_args()

    with Cluster(1, args.database_url) as cluster:
        api = HttpApi(cluster.url(0))
        files = [
            ("files", (p.name, p.read_bytes(), "application/xml"))
            for p in sorted((ROOT / "processes").glob("*.bpmn"))
        ]
        deployed = api.post("/deployments", "analyst", files=files)
        if deployed.status_code != 201:
            raise SystemExit(f"deploy failed: {deployed.status_code} {deployed.text}")
        baseline = table_figures(cluster)
        proc = cluster.procs[0]
        assert proc is not None
        calls_before, cpu_before, wall_before = api.calls, cpu_seconds(proc.pid), time.monotonic()
        applications, steps = drive_all(api, args.copies)
        wall = time.monotonic() - wall_before
        cpu = cpu_seconds(proc.pid) - cpu_before
        calls = api.calls - calls_before
        after = table_figures(cluster)
        state_text, state_stored = state_sizes(cluster)
        load = os.getloadavg()

    total = sum(applications.values())
    print(f"applications: {total} ({dict(applications)}), steps {steps}, API calls {calls}")
    print(f"API calls per application: {calls / total:.1f}")
    print(
        f"server CPU: {cpu:.1f} s, {1000 * cpu / calls:.2f} ms per call, "
        f"{1000 * cpu / total:.0f} ms per application; wall {wall:.1f} s "
        f"(load average {load[0]:.1f} / {load[1]:.1f})"
    )
    stored = f", {state_stored:,.0f} B stored" if state_stored is not None else ""
    print(f"engine state of a completed application: {state_text:,.0f} B as text{stored}")
    print()
    print("| table | rows | live row bytes | table + index bytes |  (per application)")
    print("|---|---:|---:|---:|")
    totals = [0, 0, 0]
    for table in TABLES:
        cells = []
        for column in (0, 2, 1):  # rows, live bytes, relation bytes
            before, now = baseline[table][column], after[table][column]
            if before is None or now is None:
                cells.append("n/a")
                continue
            totals[column] += now - before
            cells.append(
                f"{(now - before) / total:,.1f}"
                if column == 0
                else f"{(now - before) / total:,.0f}"
            )
        print(f"| {table} | {' | '.join(cells)} |")
    rows, live, relation = (t / total for t in totals)
    print(f"| **all** | {rows:.1f} | {live:,.0f} | {relation:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
