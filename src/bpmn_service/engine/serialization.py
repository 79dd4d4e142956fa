"""State-only workflow serialization with specs restored once per process version.

SpiffWorkflow embeds the whole spec in every serialized workflow (about 40 % of the bytes) and
re-creates the default, eval-based script engine on load. Here the stored state names its spec, the
spec comes from a cache filled from spec JSON (never from live parser objects: restored specs wire
multi-instance merging eagerly), and every workflow, task and replaced task spec is restored into
the service's own class (workflow.py, specs.py) under SpiffWorkflow's type name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter,
    BpmnWorkflowConverter,
    TaskConverter,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from .inheritance import copy_into
from .script_engine import SAFE_ENGINE
from .specs import REPLACED
from .state_format import COMPACTED, KEY, STATE_FORMAT, StateFormatError, upgrade
from .traversal import IndexedTask
from .warm import plain as is_plain
from .workflow import ServiceSubWorkflow, ServiceWorkflow

_TASK = Task.__name__  # the type name tasks are registered under (make_serializer)


def _id_texts(workflow: Any) -> Callable[[UUID], str]:
    """`str` of a task id, remembered per workflow: ids never change, and a warm workflow
    (warm.py) is dumped again and again. Emptied when it holds far more ids than the workflow
    has tasks (compaction drops tasks)."""
    texts: dict[int, str] | None = workflow.__dict__.get("_id_texts")
    if texts is None or len(texts) > 2 * len(workflow.tasks) + 64:
        texts = workflow._id_texts = {}

    def text(task_id: UUID) -> str:
        key = task_id.int
        found = texts.get(key)
        if found is None:
            found = texts[key] = str(task_id)
        return found

    return text


def _task_to_dict(registry: Any, task: Any, text: Callable[[UUID], str]) -> dict[str, Any]:
    """TaskConverter.to_dict's dict, with less work: a dump writes every task of an instance on
    every call, and upstream's looks the parent up four times and turns each id into text anew
    (a third of a completion's dump). The type name is added as the registry adds it."""
    parent = task.parent
    if parent is None:
        data, delta = task.data, {}
    else:
        data = {}
        delta = _delta(parent.data, task.data)
    return {
        "id": text(task.id),
        "parent": text(task._parent) if parent is not None else None,
        "children": [text(child) for child in task._children],
        "last_state_change": task.last_state_change,
        "state": task.state,
        "task_spec": task.task_spec.name,
        "triggered": task.triggered,
        "internal_data": registry.convert(task.internal_data),
        "data": data,
        "delta": delta,
        "typename": _TASK,
    }


def _delta(inherited: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """DeepMerge's updated and deleted keys of a task's variables against its parent's, in the
    same order. Most tasks hold their parent's very values (a shallow copy, the shipped models
    about a hundred), so whole dicts are compared first, in C; upstream's comprehensions, per
    key in Python, were two thirds of a 业扩 case's dump. (Equal here is Python's `==` with
    its identity shortcut: only a NaN, which no variable holds, could tell the two apart.)"""
    if inherited == data:
        return {"updates": {}, "deletions": []}
    updates = {
        key: value
        for key, value in data.items()
        if (old := inherited.get(key, _ABSENT)) is not value and (old is _ABSENT or value != old)
    }
    if inherited.keys() <= data.keys():
        deletions = []
    else:
        deletions = [key for key in inherited if key not in data]
    return {"updates": updates, "deletions": deletions}


_ABSENT = object()


# Each task id is read three or four times per load (the task, its parent's children, its
# children's parent), and again at the next load of the case: UUIDs are immutable, so one object
# serves them all (a quarter of loading the benchmark process's state went to parsing ids).
_uuid = lru_cache(maxsize=16384)(UUID)


class StateTaskConverter(TaskConverter):  # type: ignore[misc]
    """TaskConverter, writing a task with _task_to_dict (the registry adds the type name) and
    reading one with its parent's variables copied as a new task copies them."""

    def to_dict(self, task: Any) -> dict[str, Any]:
        dct = _task_to_dict(self.registry, task, _id_texts(task.workflow))
        del dct["typename"]
        return dct

    def from_dict(self, dct: dict[str, Any], workflow: Any) -> Any:
        """TaskConverter.from_dict with `copy_into` for `DeepMerge.merge({}, parent.data)`: the
        same copy, without the merge's per-key comparisons (two fifths of loading a 业扩 case)."""
        task_spec = workflow.spec.task_specs.get(dct["task_spec"])
        task = self.target_class(workflow, task_spec, state=dct["state"], id=_uuid(dct["id"]))
        task._parent = _uuid(dct["parent"]) if dct["parent"] is not None else None
        task._children = [_uuid(child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        task.internal_data = self.registry.restore(dct["internal_data"])
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            task.workflow.top_workflow.event_manager.add_task(task)
        delta = dct.get("delta")
        parent = task.parent if delta else None
        if delta and parent is not None:
            data: dict[str, Any] = {}
            copy_into(data, parent.data)
            data.update(self.registry.restore(delta.get("updates", {})))
            for key in delta.get("deletions", {}):
                if key in data:
                    del data[key]
        else:
            data = self.registry.restore(dct["data"])
        task.data = data
        return task


def _workflow_to_dict(converter: Any, workflow: Any) -> dict[str, Any]:
    """WorkflowConverter.to_dict, each task written by _task_to_dict directly instead of through
    the registry's look-ups."""
    registry = converter.registry
    text = _id_texts(workflow)
    return {
        "data": registry.convert(registry.clean(workflow.data)),
        "correlations": workflow.correlations,
        "last_task": text(workflow.last_task.id) if workflow.last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "tasks": {
            text(task_id): _task_to_dict(registry, task, text)
            for task_id, task in workflow.tasks.items()
        },
        "root": text(workflow.task_tree.id),
    }


class StateSubWorkflowConverter(BpmnSubWorkflowConverter):  # type: ignore[misc]
    """BpmnSubWorkflowConverter.to_dict over _workflow_to_dict."""

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        dct = _workflow_to_dict(self, workflow)
        dct["parent_task_id"] = str(workflow.parent_task_id)
        dct["spec"] = workflow.spec.name
        return dct


class StateOnlyWorkflowConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    """Writes spec names instead of spec dicts."""

    def __init__(self, target_class: Any, registry: Any, typename: str | None = None) -> None:
        super().__init__(target_class, registry, typename="BpmnWorkflow")

    def workflow_dict(self, workflow: Any) -> dict[str, Any]:
        """What every workflow's dict holds (WorkflowConverter.to_dict's)."""
        return _workflow_to_dict(self, workflow)

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        dct = self.workflow_dict(workflow)
        dct["spec"] = workflow.spec.name
        dct["subprocess_specs"] = sorted(workflow.subprocess_specs)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        dct[COMPACTED] = workflow.compacted
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None) -> Any:
        spec_ref = dct.pop("spec")
        sp_ref = dct.pop("subprocess_specs", [])
        if spec is None or spec.name != spec_ref:
            raise ValueError(f"the stored state needs spec {spec_ref!r}")
        missing = set(sp_ref) - set(subprocess_specs or {})
        if missing:
            raise ValueError(f"subprocess specs missing: {sorted(missing)}")
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.compacted = dct.pop(COMPACTED, 0)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], _uuid, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class StateSerializer(BpmnWorkflowSerializer):  # type: ignore[misc]
    """SpiffWorkflow's serializer; a serialized workflow also records the state format."""

    def to_dict(self, obj: Any, **kwargs: Any) -> Any:
        dct = super().to_dict(obj, **kwargs)
        if isinstance(obj, ServiceWorkflow):
            dct[KEY] = STATE_FORMAT
        return dct

    def stored_text(self, workflow: Any, *, plain: bool) -> str:
        """The stored text of `workflow`. A plain one (warm.plain: every variable a JSON value, a
        naive or UTC time or a duration) is written by orjson, which takes about a tenth of the
        standard library's time for the same values (its text is compact and writes non-ASCII
        characters as themselves); any other by serialize_json, as SpiffWorkflow writes it."""
        if not plain:
            return str(self.serialize_json(workflow))
        # As serialize_json: in encoder mode, to_dict leaves times and durations to the encoder.
        self.registry._encoder_mode = True
        try:
            dct = self.to_dict(workflow)
        finally:
            self.registry._encoder_mode = False
        dct[self.VERSION_KEY] = self.VERSION
        try:
            text: bytes = orjson.dumps(
                dct, default=self._typed_value, option=orjson.OPT_PASSTHROUGH_DATETIME
            )
        except orjson.JSONEncodeError:  # an integer beyond 64 bits, a lone surrogate, deep nesting
            return str(self.serialize_json(workflow))
        return text.decode()

    def _typed_value(self, value: Any) -> Any:
        """A time or a duration as the registry writes it (SpiffWorkflow's encoder's default)."""
        typename = self.registry.typenames.get(type(value))
        if typename is None:
            raise TypeError(f"{type(value).__name__} is not a stored value")
        return self.registry.convert_to_dict[typename](value)


def make_serializer(
    workflow: type = StateOnlyWorkflowConverter,
    subworkflow: type = StateSubWorkflowConverter,
    task: type = StateTaskConverter,
) -> Any:
    """SpiffWorkflow's configuration, with each replaced class's converter registered for the
    service's class under SpiffWorkflow's type name (the tests build one with upstream's task
    converters, which must write the very same text)."""
    replaced = {
        **REPLACED,
        BpmnWorkflow: ServiceWorkflow,
        BpmnSubWorkflow: ServiceSubWorkflow,
        Task: IndexedTask,
    }
    config = {cls: conv for cls, conv in DEFAULT_CONFIG.items() if cls not in replaced}
    registry = BpmnWorkflowSerializer.configure(config)
    converters = {
        **DEFAULT_CONFIG,
        BpmnWorkflow: workflow,
        BpmnSubWorkflow: subworkflow,
        Task: task,
    }
    for upstream, ours in replaced.items():
        converters[upstream](ours, registry, typename=upstream.__name__)
    return StateSerializer(registry)


SERIALIZER = make_serializer()


def spec_to_json(spec: Any, subprocess_specs: dict[str, Any]) -> str:
    return json.dumps(
        {
            "spec": SERIALIZER.registry.convert(spec),
            "subprocess_specs": {
                n: SERIALIZER.registry.convert(s) for n, s in subprocess_specs.items()
            },
            "serializer_version": SERIALIZER.VERSION,
        }
    )


def spec_from_json(spec_json: str) -> tuple[Any, dict[str, Any]]:
    dct = json.loads(spec_json)
    spec = SERIALIZER.registry.restore(dct["spec"])
    subs = {name: SERIALIZER.registry.restore(s) for name, s in dct["subprocess_specs"].items()}
    return spec, subs


def dump_state(workflow: Any, *, plain: bool | None = None) -> str:
    """The stored text of `workflow`, in the current state format (state_format.py); `plain` is
    warm.plain(workflow) when the caller has it already."""
    return str(
        SERIALIZER.stored_text(workflow, plain=is_plain(workflow) if plain is None else plain)
    )


def load_state(state_json: str, spec: Any, subprocess_specs: dict[str, Any]) -> Any:
    """A stored state of any known format, upgraded (state_format.py) and restored."""
    dct = upgrade(json.loads(state_json))
    del dct[KEY]
    version = dct.pop(SERIALIZER.VERSION_KEY, None)
    if version != SERIALIZER.VERSION:
        raise StateFormatError(
            f"the stored state was written by SpiffWorkflow serializer {version}; format "
            f"{STATE_FORMAT} is serializer {SERIALIZER.VERSION}"
        )
    workflow = SERIALIZER.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = SAFE_ENGINE
    return workflow
