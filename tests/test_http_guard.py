"""A connection that sends no complete request head in time is closed (http_guard.py): uvicorn
held such connections for as long as the client liked, and enough of them used up the server's
file descriptors. Run on uvicorn in this process with `serve`'s options and a short deadline."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from bpmn_service import http_guard
from bpmn_service.cli import serve_options
from served import free_port

DEADLINE = 0.5


async def _app(scope: dict[str, Any], _receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def port(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setattr(http_guard, "REQUEST_HEAD_SECONDS", DEADLINE)
    chosen = free_port()
    options = {**serve_options(), "lifespan": "off", "timeout_keep_alive": 30}
    server = uvicorn.Server(uvicorn.Config(_app, host="127.0.0.1", port=chosen, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield chosen
    server.should_exit = True
    thread.join(10)


def _closed_within(conn: socket.socket, seconds: float) -> bool:
    conn.settimeout(seconds)
    try:
        return conn.recv(1024) == b""
    except TimeoutError:
        return False


def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as conn:
        assert _closed_within(conn, DEADLINE * 6)


def test_a_head_sent_a_byte_at_a_time_is_cut_off(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        conn.settimeout(0.1)
        began = time.monotonic()
        closed = False
        while not closed and time.monotonic() - began < DEADLINE * 6:
            try:
                conn.sendall(b"X-Slow: a\r\n")  # every byte before the deadline is no help
                closed = conn.recv(1024) == b""
            except TimeoutError:
                continue
            except OSError:  # reset or broken pipe: the server closed it
                closed = True
        assert closed


def test_requests_in_time_are_answered_and_the_connection_kept(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.settimeout(5)
        for _ in range(3):
            time.sleep(DEADLINE / 2)  # each head well within the deadline
            conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert conn.recv(1024).startswith(b"HTTP/1.1 200")
        # Kept alive, then idle past the deadline: closed.
        assert _closed_within(conn, DEADLINE * 6)
