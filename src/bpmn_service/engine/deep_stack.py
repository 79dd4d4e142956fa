"""Run SpiffWorkflow's recursive parser on long models without a RecursionError.

SpiffWorkflow parses a process by recursing from each node into the nodes its flows lead to, a
few Python frames per node: a sequential chain of ~470 tasks already exceeded Python's default
recursion limit of 1,000. Its engine recurses the same way when it predicts a new instance's
tasks. A large model is therefore parsed, and its instances run, in a thread of its own with a
large stack, while the recursion limit is raised for as long as any such call runs.
"""

from __future__ import annotations

import contextvars
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# Below this many elements the default limit suffices and no thread is started.
SMALL_MODEL = 200
FRAMES_PER_ELEMENT = 8
MAX_LIMIT = 200_000
STACK_BYTES = 512 * 1024 * 1024  # address space reserved, not memory used

_lock = threading.Lock()
_active = 0
_saved_limit = 0


def call_deep(elements: int, fn: Callable[[], T]) -> T:
    """`fn()`, with room for recursing a few frames per element of the model."""
    if elements < SMALL_MODEL:
        return fn()
    limit = min(MAX_LIMIT, elements * FRAMES_PER_ELEMENT + 2_000)
    outcome: dict[str, Any] = {}

    context = contextvars.copy_context()  # the engine clock (clock.py) is a context variable

    def run() -> None:
        try:
            outcome["value"] = context.run(fn)
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    _enter(limit)
    try:
        with _lock:
            previous = threading.stack_size(STACK_BYTES)
            try:
                thread = threading.Thread(target=run, name="deep-parse", daemon=True)
                thread.start()
            finally:
                threading.stack_size(previous)
        thread.join()
    finally:
        _leave()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


def _enter(limit: int) -> None:
    global _active, _saved_limit
    with _lock:
        if _active == 0:
            _saved_limit = sys.getrecursionlimit()
        _active += 1
        if sys.getrecursionlimit() < limit:
            sys.setrecursionlimit(limit)


def _leave() -> None:
    global _active
    with _lock:
        _active -= 1
        if _active == 0:
            sys.setrecursionlimit(_saved_limit)
