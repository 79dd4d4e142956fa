"""State-only workflow serialization with specs restored once per process version.

SpiffWorkflow embeds the whole spec in every serialized workflow (about 40 % of the bytes) and
re-creates the default, eval-based script engine on load. Here the stored state names its spec, the
spec comes from a cache filled from spec JSON (never from live parser objects: restored specs wire
multi-instance merging eagerly), and every workflow, task and replaced task spec is restored into
the service's own class (workflow.py, specs.py) under SpiffWorkflow's type name.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter,
    BpmnWorkflowConverter,
    TaskConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.task import Task

from .script_engine import SAFE_ENGINE
from .specs import REPLACED
from .state_format import COMPACTED, KEY, STATE_FORMAT, StateFormatError, upgrade
from .traversal import IndexedTask
from .workflow import ServiceSubWorkflow, ServiceWorkflow


class StateOnlyWorkflowConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    """Writes spec names instead of spec dicts."""

    def __init__(self, target_class: Any, registry: Any, typename: str | None = None) -> None:
        super().__init__(target_class, registry, typename="BpmnWorkflow")

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
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
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
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


def _make_serializer() -> Any:
    # SpiffWorkflow's configuration, with each replaced class's converter registered for the
    # service's class under SpiffWorkflow's type name.
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
        BpmnWorkflow: StateOnlyWorkflowConverter,
        BpmnSubWorkflow: BpmnSubWorkflowConverter,
        Task: TaskConverter,
    }
    for upstream, ours in replaced.items():
        converters[upstream](ours, registry, typename=upstream.__name__)
    return StateSerializer(registry)


SERIALIZER = _make_serializer()


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


def dump_state(workflow: Any) -> str:
    """The stored text of `workflow`, in the current state format (state_format.py)."""
    return str(SERIALIZER.serialize_json(workflow))


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
