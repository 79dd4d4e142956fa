"""A configuration file's parsed content, read again when the file changes.

Operators add a user to `config/users.toml` or map a lane to another group in
`processes/lane-groups.toml` while the service runs; every server process notices within a couple
of seconds, without a restart. A changed file that does not load (bad TOML, a rule it breaks) is
logged and the previous content stays in force until the file changes again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger("bpmn_service.config")

Stamp = tuple[int, int] | None


def _stamp(path: Path | None) -> Stamp:
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


class Reloading(Generic[T]):
    """`current()` is the content of `path` as `load` parsed it, checked at most every `every`
    seconds. The first load happens here, so a bad file stops start-up with its error; `accept`
    vets each later content."""

    def __init__(
        self,
        path: Path | None,
        load: Callable[[], T],
        *,
        every: float = 2.0,
        accept: Callable[[T], None] | None = None,
    ) -> None:
        self._path = path
        self._load = load
        self._accept = accept  # raises ValueError for a new content that must not take effect
        self._every = every
        self._lock = threading.Lock()
        self._stamp = _stamp(path)
        self._value = load()
        self._checked = time.monotonic()

    def current(self) -> T:
        if time.monotonic() - self._checked < self._every:
            return self._value
        with self._lock:
            now = time.monotonic()
            if now - self._checked < self._every:
                return self._value
            self._checked = now
            stamp = _stamp(self._path)
            if stamp == self._stamp:
                return self._value
            self._stamp = stamp  # a bad edit is reported once, not at every check
            try:
                value = self._load()
                if self._accept is not None:
                    self._accept(value)
                self._value = value
            except (ValueError, OSError) as exc:
                log.error(
                    "%s changed but was not loaded (the previous content stays): %s",
                    self._path,
                    exc,
                )
            else:
                log.info("%s changed and was loaded again", self._path)
        return self._value
