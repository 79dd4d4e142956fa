"""Start and stop real `bpmn-service serve` processes on 127.0.0.1 for the reliability scripts.

A `Cluster` owns a fresh database (a temporary SQLite file, or a new schema in the PostgreSQL
database given) and N server processes sharing it, each on its own free port. Servers can be
killed with SIGKILL and restarted on the same port, which is what the crash loop does.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Cluster:
    def __init__(self, servers: int, database_url: str | None, *, poll_seconds: float = 0.2):
        self.count = servers
        self.database_url = database_url
        self.poll_seconds = poll_seconds
        self.schema: str | None = None
        self.tmp: tempfile.TemporaryDirectory[str] | None = None
        self.ports = [free_port() for _ in range(servers)]
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * servers
        self.logs = Path(tempfile.gettempdir()) / f"bpmn-bench-logs-{os.getpid()}"

    def __enter__(self) -> Self:
        if self.database_url and self.database_url.startswith("postgresql"):
            self.schema = f"bench_{uuid.uuid4().hex[:10]}"
            self._psql(f'CREATE SCHEMA "{self.schema}"')
        else:
            self.tmp = tempfile.TemporaryDirectory(prefix="bpmn-bench-")
            self.database_url = f"sqlite:///{self.tmp.name}/bench.db"
        for index in range(self.count):
            # One after the other: the first applies the migrations (SQLite has no advisory lock).
            self.start(index)
            self.wait_ready(index)
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        for index in range(self.count):
            self.stop(index)
        if self.schema:
            self._psql(f'DROP SCHEMA "{self.schema}" CASCADE')
        if self.tmp:
            self.tmp.cleanup()

    def _psql(self, statement: str) -> None:
        from sqlalchemy import create_engine, text

        assert self.database_url
        url = self.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text(statement))
        engine.dispose()

    @property
    def env(self) -> dict[str, str]:
        assert self.database_url
        return {
            **os.environ,
            "BPMN_DATABASE_URL": self.database_url,
            "BPMN_DATABASE_SCHEMA": self.schema or "",
            "BPMN_DEPLOY_ON_START": "false",
            "BPMN_TIMER_POLL_SECONDS": str(self.poll_seconds),
            "BPMN_LOG_LEVEL": "WARNING",
            "BPMN_REFERENCE_WORKERS": "false",  # the scripts play the workers themselves
        }

    def url(self, index: int) -> str:
        return f"http://{HOST}:{self.ports[index]}/api/v1"

    def start(self, index: int) -> None:
        self.procs[index] = subprocess.Popen(
            [sys.executable, "-m", "bpmn_service.cli", "serve", "--port", str(self.ports[index])],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self._log(index),
        )

    def _log(self, index: int) -> Any:
        """Server output is appended to a log file per server, kept for diagnosis."""
        self.logs.mkdir(parents=True, exist_ok=True)
        return (self.logs / f"server-{index}.log").open("ab")

    def wait_ready(self, index: int, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url(index)}/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(
            f"server {index} on port {self.ports[index]} did not become ready; see {self.logs}"
        )

    def kill(self, index: int) -> None:
        """SIGKILL: no shutdown handlers, in-flight requests are cut off."""
        proc = self.procs[index]
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()

    def stop(self, index: int) -> None:
        proc = self.procs[index]
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs[index] = None
