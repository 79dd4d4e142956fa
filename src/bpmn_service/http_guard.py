"""uvicorn's HTTP protocol with a deadline for a request's head.

uvicorn arms its keep-alive timeout only after a response, so a connection that never sends a
request, or sends its headers a byte at a time, was held for as long as the client liked: enough
of them used up the process's file descriptors, and the server answered nobody (with nothing in
its log). Here a connection waiting for a request's head (a new one, or one kept alive after a
response) is closed when the head is not complete within REQUEST_HEAD_SECONDS. A request whose
head arrived is the application's, as before. Slow bodies and many clients are a reverse proxy's
job (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import logging

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Far longer than any client needs to send its headers (they fit in one packet), far shorter
# than what a client that never sends them would hold.
REQUEST_HEAD_SECONDS = 10.0

log = logging.getLogger("bpmn_service.http")


class RequestHeadDeadline(HttpToolsProtocol):
    """HttpToolsProtocol that closes a connection whose request head does not come in time."""

    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def on_headers_complete(self) -> None:
        self._disarm_head_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_deadline()  # kept alive: the next request's head has the same time

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._head_deadline = self.loop.call_later(REQUEST_HEAD_SECONDS, self._head_late)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_late(self) -> None:
        self._head_deadline = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being answered (its head came): not this deadline's business
        if not self.transport.is_closing():
            log.debug("closing a connection that sent no complete request head in time")
            self.transport.close()
