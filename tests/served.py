"""Real servers for tests: uvicorn in a thread for real HTTP clients (`served`), `bpmn-service
serve` processes (`serve`), and several of them sharing one PostgreSQL (`server_processes`). Every
server binds a port the system picks, so parallel test workers never race for one."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn

from bpmn_service.config import Settings
from bpmn_service.context import AppContext
from bpmn_service.main import create_app
from conftest import ROOT


@contextmanager
def served(ctx: AppContext) -> Iterator[str]:
    """The service on 127.0.0.1 for the duration; yields its base URL."""
    config = uvicorn.Config(create_app(ctx=ctx), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the test server did not start")
            thread.join(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


LISTENING = re.compile(rb"Uvicorn running on http://127\.0\.0\.1:(\d+)")


def free_port() -> int:
    """A port nothing listens on now (for a server that must be refused before it binds)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def launch(env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`bpmn-service serve` on port 0, its output to `log`; `wait_served` finds the port there (a
    port chosen beforehand could be taken by another server before this one binds it)."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bpmn_service.cli", "serve", "--port", "0"],
            cwd=ROOT,
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_served(proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> str:
    """The base URL of a launched server once it answers ready; fails with its output if it
    exits or does not get ready in time."""
    deadline = time.monotonic() + timeout
    url = None
    while True:
        if url is None:
            found = LISTENING.search(log.read_bytes())
            url = f"http://127.0.0.1:{found.group(1).decode()}" if found else None
        if url is not None:
            try:
                if httpx.get(f"{url}/api/v1/health/ready", timeout=10).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise AssertionError(f"server did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def serve(
    env: Mapping[str, str], log: Path, timeout: float = 90
) -> tuple[subprocess.Popen[bytes], str]:
    """`bpmn-service serve` with `env`, its output to `log`: its process and base URL once ready."""
    proc = launch(env, log)
    return proc, wait_served(proc, log, timeout)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def server_processes(
    settings: Settings, env: dict[str, str], count: int = 2
) -> Iterator[list[str]]:
    """`count` real server processes on the database of `settings` (PostgreSQL only: skipped on
    SQLite), with `env` added to their environment; yields their base URLs once all are ready."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("several server processes share PostgreSQL, not SQLite")
    with tempfile.TemporaryDirectory(prefix="bpmn-servers-") as scratch:
        environment = {
            **os.environ,
            "BPMN_DATABASE_URL": settings.database_url,
            "BPMN_DATABASE_SCHEMA": settings.database_schema or "",
            "BPMN_DEPLOY_ON_START": "false",
            "BPMN_LOG_LEVEL": "WARNING",
            # The reference SMS worker's outbox, not var/ in the repository (parallel workers).
            "BPMN_SMS_OUTBOX_FILE": str(Path(scratch) / "sms-outbox.jsonl"),
            **env,
        }
        logs = [Path(scratch) / f"server-{i}.log" for i in range(count)]
        procs: list[subprocess.Popen[bytes]] = []
        try:
            procs = [launch(environment, log) for log in logs]
            yield [wait_served(proc, log) for proc, log in zip(procs, logs, strict=True)]
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                stop(proc)
