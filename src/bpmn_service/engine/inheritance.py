"""A new task's copy of its parent's variables, made without SpiffWorkflow's deep merge.

Every task copies its parent's variables when it becomes reachable. SpiffWorkflow does that with a
recursive merge that compares each key against what the task already holds; for a new task, which
holds nothing (nine copies in ten, with about a hundred variables each in the 业扩 models), the
merge reduces to copying every value, shallowly for dicts, lists and sets. That is what happens
here, into the same dictionary object; a task that already has variables merges as before.
"""

from __future__ import annotations

from copy import copy
from typing import Any

from SpiffWorkflow.task import Task

_original_inherit_data = Task._inherit_data
_MUTABLE = (dict, list, set)


def _inherit_data(self: Any) -> None:
    data = self.data
    if data:
        _original_inherit_data(self)
        return
    for key, value in self.parent.data.items():
        data[key] = copy(value) if isinstance(value, _MUTABLE) else value


Task._inherit_data = _inherit_data
