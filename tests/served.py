"""Real servers for tests: uvicorn in a thread for real HTTP clients (`served`), and several
`bpmn-service serve` processes sharing one PostgreSQL (`server_processes`), each on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server_processes(
    settings: Settings, env: dict[str, str], count: int = 2
) -> Iterator[list[str]]:
    """`count` real server processes on the database of `settings` (PostgreSQL only: skipped on
    SQLite), with `env` added to their environment; yields their base URLs once all are ready."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("several server processes share PostgreSQL, not SQLite")
    environment = {
        **os.environ,
        "BPMN_DATABASE_URL": settings.database_url,
        "BPMN_DATABASE_SCHEMA": settings.database_schema or "",
        "BPMN_DEPLOY_ON_START": "false",
        "BPMN_LOG_LEVEL": "WARNING",
        **env,
    }
    urls = [f"http://127.0.0.1:{free_port()}" for _ in range(count)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bpmn_service.cli", "serve", "--port", url.rsplit(":", 1)[1]],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for url in urls
    ]
    try:
        for url in urls:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/api/v1/health/ready").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            else:
                raise AssertionError(f"server {url} did not become ready")
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
