"""The kind of an element the engine completed, as the history's `engine_step` and the metric
`bpmn_engine_steps_total{kind}` name it, is the BPMN element's (SpiffWorkflow's class name:
`ParallelGateway`, `StartEvent`), not the name of the engine layer's subclass for it
(`MergingParallelGateway`, `InterruptingStartEvent`): dashboards filter on it, and it changed
whenever the engine layer replaced another class."""

from __future__ import annotations

from kit import Case

from bpmn_service.engine.instance_view import element_kind
from bpmn_service.engine.multi_instance import CheckedParallelMultiInstanceTask
from bpmn_service.engine.specs import ErrorVariablesBoundaryEvent


def test_the_steps_of_a_run_are_named_by_their_bpmn_kind() -> None:
    result = Case("parallel_join").start()
    assert {s.kind for s in result.steps} == {"StartEvent", "ScriptTask", "ParallelGateway"}


def test_the_service_s_own_classes_keep_the_element_s_kind() -> None:
    assert element_kind(CheckedParallelMultiInstanceTask) == "ParallelMultiInstanceTask"
    assert element_kind(ErrorVariablesBoundaryEvent) == "BoundaryEvent"
