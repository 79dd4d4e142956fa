"""The engine's notion of "now", injectable per call.

SpiffWorkflow's timer module reads `datetime.now(timezone.utc)` directly and offers no hook, so its
module-level `datetime` name is replaced by a subclass whose `now()` answers from a context variable
that every ProcessRunner call sets. Tests and the scheduler thereby run timers on an injected clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, tzinfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

_CURRENT: ContextVar[datetime | None] = ContextVar("bpmn_engine_now", default=None)


class ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> ClockedDatetime:
        current = _CURRENT.get()
        if current is None:
            return super().now(tz)
        return cls.fromtimestamp(current.timestamp(), tz)


_spiff_timer.datetime = ClockedDatetime


def now() -> datetime:
    """The current engine time (UTC, aware)."""
    current = _CURRENT.get()
    return current if current is not None else datetime.now(UTC)


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Run engine code as if the time were `moment` (must be timezone-aware)."""
    if moment.tzinfo is None:
        raise ValueError("the engine clock needs a timezone-aware datetime")
    token = _CURRENT.set(moment)
    try:
        yield
    finally:
        _CURRENT.reset(token)
