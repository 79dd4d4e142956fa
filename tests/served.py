"""A real uvicorn server in a thread for tests that use real HTTP clients (on a free port)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from bpmn_service.context import AppContext
from bpmn_service.main import create_app


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
