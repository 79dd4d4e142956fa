"""Workflows kept warm between calls: a call on a state this server process just wrote takes the
workflow that wrote it instead of loading the stored text again.

Loading a stored state rebuilds every engine task from JSON, a sixth or more of the server's CPU
for a task completion. The workflow that a run dumped is what loading its text would give, so the
runner keeps it, keyed by the process version and **the stored text itself**, and the next run
whose stored text is the same string takes it. Keyed by the text, a hit needs no invalidation:

* anything that changed the instance since (a call on another server process, a repair, a
  migration, a timer fired elsewhere) wrote another text, so the call misses and loads;
* a run whose transaction rolled back never stored its text, so nobody asks for its entry and it
  ages out;
* an entry is taken out for the run that uses it (never shared by two runs), and a run that
  fails keeps nothing, so a half-run workflow is never reused;
* a workflow is kept only if its variables come back from JSON as the same values (`plain`):
  the stored text turns a tuple or a set into a list and a number key into a string, which a
  later expression could tell apart, so a workflow holding such a value is not kept and its next
  call loads; nor is one on another script engine than the safe one;
* a hit must also find the very spec object its process version is cached with (SpecCache).

What may differ is the order of keys within a task's variables: loading puts a task's own
changes after its parent's variables, a run keeps the order they were set in. JSON objects have
no order, and no expression can see it.

`VERIFY` (the tests switch it on) checks every hit: the warm workflow dumps to the stored text,
and that text loads back to the same values.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from math import isfinite
from typing import Any

from .script_engine import SAFE_ENGINE

# Check every hit against the stored text (slow; for tests).
VERIFY = False

# Memory: a loaded workflow takes about six times its stored text (a 业扩 case of 100 tasks,
# 95 KB of text, holds 570 KB), so the cache is bounded by the text it keeps as well as by count;
# larger states are loaded each time.
MAX_STATE_CHARS = 256 * 1024
MAX_TOTAL_CHARS = 16 * 1024 * 1024

# The values a plain workflow holds besides lists, dicts and times. Not a UUID, which orjson
# would write as bare text (serialization.StateSerializer.stored_text), nor a float that is not
# finite, which it would write as null: neither is ever a variable's value (the API and the
# expressions refuse them), so a workflow holding one only loses the fast paths.
_SCALARS = frozenset({str, int, bool, type(None), timedelta})


class WarmWorkflows:
    """At most `size` workflows by (process-definition id, stored text), holding at most
    `max_chars` of stored text together; the least recently kept go first. 0 keeps none."""

    def __init__(self, size: int = 0, max_chars: int = MAX_TOTAL_CHARS) -> None:
        self.size = size
        self.max_chars = max_chars
        self.chars = 0  # the stored text of the workflows kept
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, definition_id: str, state: str, spec: Any) -> Any | None:
        """The workflow that dumped to `state` under `spec`, taken out of the cache; None on a
        miss (the caller loads the text)."""
        if not self.size:
            return None
        with self._lock:
            workflow = self._items.pop((definition_id, state), None)
            if workflow is not None:
                self.chars -= len(state)
            if workflow is None or workflow.spec is not spec:
                self.misses += 1
                return None
            self.hits += 1
        if VERIFY:
            _verify(workflow, state)
        return workflow

    def keep(
        self, definition_id: str, state: str, workflow: Any, *, is_plain: bool | None = None
    ) -> None:
        """Keep `workflow`, which a finished run has just dumped to `state`; `is_plain` is
        plain(workflow) when the caller has it already."""
        if not self.size or len(state) > MAX_STATE_CHARS:
            return
        if not (plain(workflow) if is_plain is None else is_plain):
            return
        if workflow.script_engine is not SAFE_ENGINE:  # as load_state gives it, never another
            return
        with self._lock:
            if self._items.pop((definition_id, state), None) is not None:
                self.chars -= len(state)
            self._items[(definition_id, state)] = workflow
            self.chars += len(state)
            while len(self._items) > self.size or self.chars > self.max_chars:
                (_, old), _ = self._items.popitem(last=False)
                self.chars -= len(old)

    def __len__(self) -> int:
        return len(self._items)


def plain(workflow: Any) -> bool:
    """Whether every variable of `workflow` (each task's data and internal data, each workflow's
    data, its subprocesses' too) is one JSON gives back unchanged, and no event is pending. The
    stored text of a plain workflow is written by orjson (serialization.py)."""
    seen: set[int] = set()
    for sub in (workflow, *workflow.subprocesses.values()):
        if getattr(sub, "bpmn_events", None) or not _plain_values(sub.data, seen):
            return False
        tasks = sub.tasks
        for task in tasks.values():
            parent = tasks.get(task._parent) if task._parent is not None else None
            if parent is None:
                data_plain = _plain_values(task.data, seen)
            else:
                own = _own_values(task.data, parent.data)
                data_plain = own is not None and _plain_values(own, seen, top_level=False)
            if not (data_plain and _plain_values(task.internal_data, seen)):
                return False
    return True


_ABSENT = object()


def _own_values(data: dict[str, Any], inherited: dict[str, Any]) -> list[Any] | None:
    """The variables of a task that are not its parent's very values (those are checked with the
    parent, which is in the same workflow); None when a name is not a string. A task's variables
    start as a shallow copy of its parent's, so most are the same objects."""
    own: list[Any] = []
    for key, value in data.items():
        if type(key) is not str:
            return None
        if inherited.get(key, _ABSENT) is not value:
            own.append(value)
    return own


def _plain_values(values: Any, seen: set[int], *, top_level: bool = True) -> bool:
    # Tasks share their parents' values (shallow copies), so each container is checked once
    # (by id: every container checked is alive, held by the workflow, while `seen` is used).
    # `top_level=False`: `values` is a list made for the call, whose items are checked.
    stack: list[Any] = [values] if top_level else list(values)
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind in _SCALARS:
            continue
        if kind is float:
            if not isfinite(value):
                return False
            continue
        if kind is datetime:
            # Restored from its ISO text: only a naive or UTC time comes back the same.
            if value.tzinfo is not None and value.tzinfo is not UTC:
                return False
            continue
        if kind is not dict and kind is not list:
            return False
        if id(value) in seen:
            continue
        seen.add(id(value))
        if kind is dict:
            if any(type(key) is not str for key in value):
                return False
            stack.extend(value.values())
        else:
            stack.extend(value)
    return True


def _verify(workflow: Any, state: str) -> None:
    from .serialization import dump_state, load_state

    if dump_state(workflow) != state:
        raise AssertionError("a warm workflow no longer dumps to the stored state it was kept for")
    loaded = load_state(state, workflow.spec, workflow.subprocess_specs)
    if _unordered(json.loads(dump_state(loaded))) != _unordered(json.loads(state)):
        raise AssertionError("the stored state does not load back to the same values")


def _unordered(value: Any) -> Any:
    """A stored state with the variables a task dropped as a set: loading restores a task's
    variables as its parent's followed by its own changes, so the order of their keys (and of
    the names of those it dropped) may differ from the warm workflow's; the values may not."""
    if isinstance(value, dict):
        return {k: frozenset(v) if k == "deletions" else _unordered(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unordered(v) for v in value]
    return value
