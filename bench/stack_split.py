"""Where an API call's CPU goes: the service layer, or the HTTP stack in front of it.

    .venv/bin/python bench/stack_split.py --database-url postgresql://postgres@127.0.0.1:5432/test

Drives the service's FastAPI app in this process through ASGI (no uvicorn, no socket, no client
library): per call kind, N instances of bench/lifecycle12.bpmn are started (untimed), then their
first tasks are claimed, then completed, each call as one ASGI request with the demo user's token.
For each call it records this process's CPU time (all threads: the endpoint runs in the thread
pool) and, inside it, the CPU time of the service function the route calls
(`services.tasks.claim_task`, `complete_task`); the difference is the stack: middlewares,
routing, dependencies (authentication), request and response bodies, the hand-off to the thread
pool. Rounds alternate claim and complete blocks; medians per call are printed. uvicorn's own work
(HTTP parsing, socket writes) is not in these figures; bench/cpu_per_call.py measures whole
server processes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_per_call import START_VARIABLES, values_for
from inprocess import deployed
from lifecycle import load_average


async def asgi_request(
    app: Any, path: str, token: str, body: Any = None, *, method: str = "POST"
) -> tuple[int, bytes]:
    """One request to an ASGI app in this process: the status and the answer's body. `path` may
    end in a query (`?unassigned=true`)."""
    path, _, query = path.partition("?")
    raw = json.dumps(body).encode() if body is not None else b""
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())]
    if body is not None:
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(raw))]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status: list[int] = []
    answer = bytearray()

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await asyncio.sleep(3600)  # no disconnect while the answer is written
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
        elif message["type"] == "http.response.body":
            answer.extend(message.get("body", b""))

    await app(scope, receive, send)
    return status[0], bytes(answer)


def _timing(service: dict[str, list[float]], name: str, fn: Callable[..., Any]) -> Any:
    def timed(*args: Any, **kw: Any) -> Any:
        began = time.process_time()
        try:
            return fn(*args, **kw)
        finally:
            service[name].append(time.process_time() - began)

    return timed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="postgresql://...; a SQLite file without it")
    parser.add_argument("--calls", type=int, default=200, help="claims and completes a round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    from bpmn_service.main import create_app
    from bpmn_service.services import instances, tasks

    print(f"load average before: {load_average()}", file=sys.stderr)
    with deployed(args.database_url, "bpmn-split-") as setup:
        ctx, key, clerk, starter = setup.ctx, setup.key, setup.clerk, setup.starter
        app = create_app(ctx=ctx)
        service: dict[str, list[float]] = defaultdict(list)
        whole: dict[str, list[float]] = defaultdict(list)
        # The routes call these through the module: timed where they are looked up.
        tasks.claim_task = _timing(service, "claim", tasks.claim_task)
        tasks.complete_task = _timing(service, "complete", tasks.complete_task)

        async def block(call: str, firsts: list[Any]) -> None:
            for task in firsts:
                path = f"/api/v1/tasks/{task.id}/{call}"
                body = {"variables": values_for(task.element_id, 0)} if call == "complete" else None
                began = time.process_time()
                status, _ = await asgi_request(app, path, clerk.token, body)
                whole[call].append(time.process_time() - began)
                if status != 200:
                    raise SystemExit(f"{call} answered {status}")

        def first_task() -> Any:
            business_key = f"SPLIT-{uuid.uuid4().hex[:8]}"
            started = instances.start_instance(
                ctx, key, business_key, dict(START_VARIABLES), starter
            )
            assert isinstance(started, instances.StartResult)
            return started.tasks[0]

        async def run() -> None:
            for r in range(args.rounds + 1):  # the first round warms up and is not counted
                firsts = [first_task() for _ in range(args.calls)]
                await block("claim", firsts)
                await block("complete", firsts)
                if r == 0:
                    whole.clear()
                    service.clear()
                print(f"round {r}/{args.rounds}", file=sys.stderr)

        asyncio.run(run())
    print(f"\n### {setup.label}, {args.rounds} rounds of {args.calls} claims and completes\n")
    print("| call | CPU per call, whole | the service layer | the stack | stack share |")
    print("|---|---:|---:|---:|---:|")
    for call in ("claim", "complete"):
        all_ms = 1000 * statistics.median(whole[call])
        svc_ms = 1000 * statistics.median(service[call])
        print(
            f"| {call} | {all_ms:.2f} ms | {svc_ms:.2f} ms | {all_ms - svc_ms:.2f} ms | "
            f"{(all_ms - svc_ms) / all_ms:.0%} |"
        )
    print(f"\nload average after: {load_average()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
