"""The service's workflow classes: SpiffWorkflow's BPMN workflow with the safe expression
language, the task index (traversal.py) and the waiting-task shortcuts (waiting.py).

Every instance the service or the simulation runs is a `ServiceWorkflow`; its subprocesses are
`ServiceSubWorkflow`s and its tasks `IndexedTask`s. The serializer (serialization.py) restores
stored instances into these classes. SpiffWorkflow's own classes are not changed, so other code in
the same process that uses SpiffWorkflow gets SpiffWorkflow's behaviour.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow

from . import compaction, waiting
from .script_engine import SAFE_ENGINE
from .traversal import IndexedWorkflowMixin


class ServiceWorkflow(IndexedWorkflowMixin, BpmnWorkflow):  # type: ignore[misc]
    """A BPMN instance; the safe script engine unless another is given (also when restored)."""

    # engine tasks dropped from this instance's trees so far (compaction.py); stored with it
    compacted = 0

    def __init__(
        self,
        spec: Any,
        subprocess_specs: Any = None,
        script_engine: Any = None,
        deserializing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            spec,
            subprocess_specs,
            script_engine=script_engine or SAFE_ENGINE,
            deserializing=True,
            **kwargs,
        )
        if not deserializing:
            self._plant_tree()

    def create_subprocess(self, my_task: Any, spec_name: str) -> Any:
        # BpmnWorkflow.create_subprocess, with the service's subprocess class.
        subprocess = ServiceSubWorkflow(
            self.subprocess_specs[spec_name], parent_task_id=my_task.id, top_workflow=self
        )
        self.subprocesses[my_task.id] = subprocess
        return subprocess

    def update_waiting_tasks(self) -> None:
        waiting.update_waiting_tasks(self)

    def refresh_timers(self) -> None:
        waiting.refresh_timers(self)

    def compact(self) -> int:
        """Drop the finished tasks nothing will read again (compaction.py); how many."""
        return compaction.compact(self)


class ServiceSubWorkflow(IndexedWorkflowMixin, BpmnSubWorkflow):  # type: ignore[misc]
    """A subprocess (embedded or called) of a ServiceWorkflow."""

    def __init__(
        self,
        spec: Any,
        parent_task_id: Any,
        top_workflow: Any,
        deserializing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(spec, parent_task_id, top_workflow, deserializing=True, **kwargs)
        if not deserializing:
            self._plant_tree()

    def new_task_id(self) -> Any:
        return self.top_workflow.new_task_id()

    def collect_log_extras(self, dct: dict[str, Any] | None = None) -> dict[str, Any]:
        extra = super().collect_log_extras(dct)
        extra["parent_task_id"] = self.parent_task_id
        return extra

    def update_waiting_tasks(self) -> None:
        waiting.update_waiting_tasks(self)
