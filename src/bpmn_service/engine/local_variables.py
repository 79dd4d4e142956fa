"""The variables an element's token holds for itself alone: a multi-instance's item variable
(`camunda:elementVariable`), of the element itself or of a multi-instance subprocess around it.

The case's variables (`variables_of`) merge the open branches, so where several instances of a
multi-instance run at once they hold one instance's item only. An outside worker of a task in one
of them must get its own instance's item (Camunda's local variable of that execution), and the
case's variables for the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _items(task_spec: Any) -> set[str]:
    names = set()
    for attribute in ("input_item", "output_item"):
        item = getattr(task_spec, attribute, None)
        name = getattr(item, "bpmn_id", None)
        if name:
            names.add(str(name))
    return names


def local_names(processes: Iterable[Any]) -> dict[str, frozenset[str]]:
    """Per element id of every task of the process and its subprocesses, the item variables its
    token holds for itself (elements without any are left out)."""
    specs = {p.name: p for p in processes}
    # A multi-instance body shares its element's id with the task spec of its instances.
    own: dict[str, set[str]] = {}
    for process in specs.values():
        for task_spec in process.task_specs.values():
            element = getattr(task_spec, "bpmn_id", None)
            if element:
                own.setdefault(element, set()).update(_items(task_spec))
    enclosing: dict[str, set[str]] = {}  # subprocess spec -> item names of what runs it
    parent: dict[str, str] = {}
    for process in specs.values():
        for task_spec in process.task_specs.values():
            sub = getattr(task_spec, "spec", None)
            if isinstance(sub, str) and sub in specs and sub != process.name:
                parent[sub] = process.name
                enclosing.setdefault(sub, set()).update(own.get(task_spec.bpmn_id, set()))

    def around(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        if name in seen or name not in enclosing:
            return set()
        return enclosing[name] | around(parent[name], seen | {name})

    found: dict[str, set[str]] = {}
    for process in specs.values():
        outer = around(process.name)
        for task_spec in process.task_specs.values():
            element = getattr(task_spec, "bpmn_id", None)
            if element and (names := outer | own.get(element, set())):
                found.setdefault(element, set()).update(names)
    return {element: frozenset(names) for element, names in found.items()}
