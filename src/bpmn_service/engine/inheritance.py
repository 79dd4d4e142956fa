"""A new task's copy of its parent's variables, made without SpiffWorkflow's deep merge.

Every task copies its parent's variables when it becomes reachable. SpiffWorkflow does that with a
recursive merge that compares each key against what the task already holds; for a new task, which
holds nothing (nine copies in ten, with about a hundred variables each in the 业扩 models), the
merge reduces to copying every value, shallowly for dicts, lists and sets. That is what happens
here, into the same dictionary object; a task that already has variables merges as before.
The service's task class (traversal.IndexedTask) calls this in place of SpiffWorkflow's
`Task._inherit_data` (fingerprinted in upstream.py).
"""

from __future__ import annotations

from copy import copy
from typing import Any

from SpiffWorkflow.task import Task

_MUTABLE = (dict, list, set)
_IMMUTABLE = frozenset({str, int, float, bool, type(None)})


def inherit_data(task: Any) -> None:
    """`Task._inherit_data`: the parent's variables into the task's own."""
    data = task.data
    if data:
        Task._inherit_data(task)
        return
    copy_into(data, task.parent.data)


def copy_into(data: dict[str, Any], parent_data: dict[str, Any]) -> None:
    """`DeepMerge.merge(data, parent_data)` for an empty `data`: every value, dicts, lists and
    sets copied shallowly. Loading a stored state copies each task's parent's variables so too
    (serialization.StateTaskConverter.from_dict)."""
    data.update(parent_data)
    for key, value in parent_data.items():
        kind = value.__class__
        if kind in _IMMUTABLE:
            continue
        if kind is list:
            data[key] = value[:]
        elif kind is dict:
            data[key] = value.copy()
        elif isinstance(value, _MUTABLE):
            data[key] = copy(value)
