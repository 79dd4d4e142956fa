"""Claim and co-sign races across two server processes sharing one database.

    .venv/bin/python bench/races.py [--rounds 1000] [--database-url postgresql://…]

Claim races: per round, start an instance whose one task is offered to 8 groups, then 8 users
(one per group) claim it at the same moment, alternating between the two servers. Exactly one
claim must win (200) and every other must get 409 naming the winner.

Co-sign races: per round, 4 signers complete their instances of a parallel multi-instance task at
the same moment through both servers. All 4 signatures must be applied, none twice.

Only 127.0.0.1 is contacted (plus the database URL given). Exits non-zero on any violation.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
from servers import ROOT, Cluster

CLAIMERS = {  # user -> token; one user in each of the race task's 8 candidate groups
    "clerk": "demo-clerk",
    "specialist": "demo-specialist",
    "planner": "demo-planner",
    "devplan": "demo-devplan",
    "om": "demo-om",
    "dispatcher": "demo-dispatcher",
    "inspector": "demo-inspector",
    "meterman": "demo-meterman",
}
SIGNERS = {
    "inspection": "demo-inspector",
    "om_dept": "demo-om",
    "dispatch": "demo-dispatcher",
    "metering": "demo-meterman",
}
ADMIN = {"Authorization": "Bearer demo-admin"}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def deploy(base: str) -> None:
    files = [
        ("files", (p.name, p.read_bytes(), "application/xml"))
        for p in (ROOT / "tests/data/race.bpmn", ROOT / "tests/data/countersign.bpmn")
    ]
    response = httpx.post(f"{base}/deployments", headers=ADMIN, files=files, timeout=60)
    response.raise_for_status()


class Claimers:
    """One keep-alive client per claimer and a thread each, reused for every round."""

    def __init__(self, bases: list[str]) -> None:
        self.bases = bases
        self.clients = [httpx.Client(timeout=60) for _ in CLAIMERS]
        self.pool = ThreadPoolExecutor(len(CLAIMERS))

    def close(self) -> None:
        self.pool.shutdown()
        for client in self.clients:
            client.close()

    def race(self, task_id: str) -> list[httpx.Response]:
        barrier = threading.Barrier(len(CLAIMERS))

        def claim(index: int) -> httpx.Response:
            token = list(CLAIMERS.values())[index]
            barrier.wait()
            return self.clients[index].post(
                f"{self.bases[index % len(self.bases)]}/tasks/{task_id}/claim", headers=auth(token)
            )

        return list(self.pool.map(claim, range(len(CLAIMERS))))


def claim_round(
    bases: list[str], client: httpx.Client, claimers: Claimers, n: int
) -> tuple[int, int, list[str]]:
    started = client.post(
        f"{bases[0]}/process-definitions/race/instances",
        headers=ADMIN,
        json={"business_key": f"RACE-{n}", "variables": {}},
    )
    started.raise_for_status()
    responses = claimers.race(started.json()["tasks"][0]["id"])
    codes = Counter(r.status_code for r in responses)
    winner = [r.json()["assignee"] for r in responses if r.status_code == 200]
    problems = []
    if codes[200] != 1 or codes[409] != len(CLAIMERS) - 1:
        problems.append(f"round {n}: statuses {dict(codes)}")
    for r in responses:
        if r.status_code == 409 and winner and winner[0] not in r.json()["message"]:
            problems.append(f"round {n}: 409 does not name the holder: {r.json()['message']}")
    return codes[200], codes[409], problems


def cosign_round(bases: list[str], client: httpx.Client, n: int) -> list[str]:
    started = client.post(
        f"{bases[0]}/process-definitions/countersign/instances",
        headers=ADMIN,
        json={"business_key": f"SIGN-{n}", "variables": {"signers": list(SIGNERS)}},
    )
    if started.status_code != 201:
        return [f"cosign round {n}: start {started.status_code} {started.text[:200]}"]
    instance_id = started.json()["id"]
    tasks = {t["candidate_groups"][0]: t["id"] for t in started.json()["tasks"]}
    for group, token in SIGNERS.items():
        client.post(f"{bases[0]}/tasks/{tasks[group]}/claim", headers=auth(token))
    barrier = threading.Barrier(len(SIGNERS))

    def complete(item: tuple[int, tuple[str, str]]) -> httpx.Response:
        index, (group, token) = item
        with httpx.Client(timeout=60) as own:
            barrier.wait()
            for _ in range(20):  # a 409/503 with Retry-After is retried, as clients should
                response = own.post(
                    f"{bases[index % len(bases)]}/tasks/{tasks[group]}/complete",
                    headers=auth(token),
                    json={"variables": {"decision": "APPROVE"}},
                )
                if response.status_code not in (409, 503) or "Retry-After" not in response.headers:
                    return response
                time.sleep(float(response.headers["Retry-After"]) / 10)
            return response

    with ThreadPoolExecutor(len(SIGNERS)) as pool:
        responses = list(pool.map(complete, enumerate(SIGNERS.items())))
    problems = [
        f"cosign round {n}: {r.status_code} {r.text[:200]}"
        for r in responses
        if r.status_code != 200
    ]
    body = client.get(f"{bases[1]}/process-instances/{instance_id}", headers=ADMIN).json()
    signatures = body["variables"].get("signatures", [])
    done = [e for e in body["history"] if e["type"] == "task_completed"]
    if len(signatures) != len(SIGNERS) or len(done) != len(SIGNERS):
        problems.append(f"cosign round {n}: {len(signatures)} signatures, {len(done)} completions")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1000, help="claim races (default 1000)")
    parser.add_argument("--cosign-rounds", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    problems: list[str] = []
    began = time.monotonic()
    with Cluster(2, args.database_url) as cluster:
        bases = [cluster.url(0), cluster.url(1)]
        deploy(bases[0])
        wins = losses = 0
        claimers = Claimers(bases)
        with httpx.Client(timeout=60) as client:
            for n in range(args.rounds):
                won, lost, found = claim_round(bases, client, claimers, n)
                wins, losses, problems = wins + won, losses + lost, problems + found
                if n % 100 == 99:
                    print(f"  {n + 1} claim races", file=sys.stderr)
            for n in range(args.cosign_rounds):
                problems += cosign_round(bases, client, n)
        claimers.close()
    elapsed = time.monotonic() - began
    database = "PostgreSQL" if args.database_url else "SQLite"
    print("| database | claim races | winners | 409s | co-sign rounds | violations | seconds |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {database} | {args.rounds} | {wins} | {losses} | {args.cosign_rounds} | "
        f"{len(problems)} | {elapsed:.0f} |"
    )
    for problem in problems[:20]:
        print(f"VIOLATION {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
