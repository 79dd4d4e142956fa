"""The service's task-spec classes, and which of SpiffWorkflow's classes each one stands for.

The parser (camunda_ext.py) builds processes from these classes and the serializer
(serialization.py) restores stored specs into them, under SpiffWorkflow's own type names: a spec
stored before they existed restores into them too, and the stored JSON stays SpiffWorkflow's.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.parser.ProcessParser import ProcessParser
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.control import BpmnStartTask, SimpleBpmnTask, _EndJoin
from SpiffWorkflow.bpmn.specs.defaults import (
    BoundaryEvent,
    InclusiveGateway,
    ParallelGateway,
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
    StartEvent,
    SubWorkflowTask,
)
from SpiffWorkflow.specs.WorkflowSpec import WorkflowSpec

from .bpmn_errors import ErrorVariablesMixin
from .clock import CLOCKED_TIMERS
from .event_subprocesses import EventStartTask, InterruptingStartEvent, SubprocessTask
from .joins import MergingEndJoin, MergingInclusiveGateway, MergingParallelGateway
from .multi_instance import CheckedParallelMultiInstanceTask, CheckedSequentialMultiInstanceTask


class ServiceProcessSpec(BpmnProcessSpec):  # type: ignore[misc]
    """A process spec whose start task and end join are the service's classes."""

    def __init__(
        self,
        name: str | None = None,
        description: str | None = None,
        filename: str | None = None,
        svg: Any = None,
    ) -> None:
        # BpmnProcessSpec.__init__, with the service's start task and end join.
        WorkflowSpec.__init__(self, name=name, filename=filename)
        self.start = EventStartTask(self, "Start")
        self.end = MergingEndJoin(self, f"{self.name}.EndJoin")
        self.end.connect(SimpleBpmnTask(self, "End"))
        self.svg = svg
        self.description = description
        self.io_specification = None
        self.data_objects: dict[str, Any] = {}
        self.data_stores: dict[str, Any] = {}
        self.correlation_keys: dict[str, Any] = {}
        self.bpmn_start_events: list[Any] = []


class ServiceProcessParser(ProcessParser):  # type: ignore[misc]
    def create_spec(self) -> ServiceProcessSpec:
        plain = super().create_spec()  # SpiffWorkflow's checks (an executable process)
        return ServiceProcessSpec(
            name=plain.name, description=plain.description, filename=plain.file
        )


class ErrorVariablesBoundaryEvent(ErrorVariablesMixin, BoundaryEvent):  # type: ignore[misc]
    """A boundary event; an error one sets its camunda:errorCodeVariable and
    camunda:errorMessageVariable when it catches (bpmn_errors.py)."""


# Task specs the parser creates from a BPMN element: SpiffWorkflow's class → the service's.
ELEMENT_SPECS: dict[type, type] = {
    ParallelGateway: MergingParallelGateway,
    InclusiveGateway: MergingInclusiveGateway,
    StartEvent: InterruptingStartEvent,
    BoundaryEvent: ErrorVariablesBoundaryEvent,
    SubWorkflowTask: SubprocessTask,
}

# Every class the service uses in place of one of SpiffWorkflow's: the serializer restores
# SpiffWorkflow's type name into the service's class.
REPLACED: dict[type, type] = {
    **ELEMENT_SPECS,
    BpmnProcessSpec: ServiceProcessSpec,
    BpmnStartTask: EventStartTask,
    _EndJoin: MergingEndJoin,
    # The parser builds these itself (multi_instance.MultiInstanceParserMixin).
    ParallelMultiInstanceTask: CheckedParallelMultiInstanceTask,
    SequentialMultiInstanceTask: CheckedSequentialMultiInstanceTask,
    **CLOCKED_TIMERS,
}
