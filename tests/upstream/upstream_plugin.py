"""pytest plugin: SpiffWorkflow's own BPMN test suite, run against the service's engine classes.

Loaded by run.py into a pytest run over SpiffWorkflow's test directory (never into the service).
Where the upstream suite names SpiffWorkflow's classes, this harness puts the engine's in: the
workflow (ServiceWorkflow: the task index, the waiting-task shortcuts; but with SpiffWorkflow's
own Python script engine, since the suite's models are written in Python), the task, the process
spec, the joins, the start event and task, and the timers, in the parser and in the serializer
(under SpiffWorkflow's type names, as the service registers them). The task index's VERIFY mode
is on, so every answer it gives is also checked against SpiffWorkflow's own walk.

Tests listed in known_failures.toml are expected to fail (strictly: one that passes again fails
the run, so the list stays true), each with the reason.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import Any

import pytest
import SpiffWorkflow.bpmn as spiff_bpmn
import SpiffWorkflow.bpmn.workflow as spiff_workflow
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.parser.event_parsers import EventDefinitionParser
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task

from bpmn_service.engine import traversal
from bpmn_service.engine.clock import CLOCKED_TIMERS
from bpmn_service.engine.specs import ELEMENT_SPECS, REPLACED, ServiceProcessParser
from bpmn_service.engine.traversal import IndexedTask
from bpmn_service.engine.workflow import ServiceSubWorkflow, ServiceWorkflow

KNOWN_FAILURES = Path(__file__).with_name("known_failures.toml")


class UpstreamSuiteWorkflow(ServiceWorkflow):
    """The service's workflow class with SpiffWorkflow's default script engine."""

    def __init__(
        self, spec: Any, subprocess_specs: Any = None, script_engine: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(
            spec, subprocess_specs, script_engine=script_engine or PythonScriptEngine(), **kwargs
        )


def _install_engine_classes() -> None:
    spiff_bpmn.BpmnWorkflow = UpstreamSuiteWorkflow
    spiff_workflow.BpmnWorkflow = UpstreamSuiteWorkflow
    for tag, (parser_class, spec_class) in list(BpmnParser.PARSER_CLASSES.items()):
        BpmnParser.PARSER_CLASSES[tag] = (parser_class, ELEMENT_SPECS.get(spec_class, spec_class))
    BpmnParser.PROCESS_PARSER_CLASS = ServiceProcessParser
    parse_timer = EventDefinitionParser.parse_timer_event

    def parse_clocked_timer(self: Any, event: Any) -> Any:
        timer = parse_timer(self, event)
        clocked = CLOCKED_TIMERS[type(timer)]
        return clocked(timer.name, timer.expression, description=timer.description)

    EventDefinitionParser.parse_timer_event = parse_clocked_timer
    replaced = {
        **REPLACED,
        BpmnWorkflow: UpstreamSuiteWorkflow,
        BpmnSubWorkflow: ServiceSubWorkflow,
        Task: IndexedTask,
    }
    # SpiffWorkflow's classes stay registered (the suite builds some itself, such as the process
    # specs of a collaboration); a stored type name restores into the engine's class, which is
    # registered after it.
    for upstream, ours in replaced.items():
        converter = DEFAULT_CONFIG[upstream]
        DEFAULT_CONFIG[ours] = functools.partial(converter, typename=upstream.__name__)
    traversal.VERIFY = True


def pytest_configure(config: pytest.Config) -> None:  # noqa: ARG001 (pytest's hook)
    _install_engine_classes()


def pytest_collection_modifyitems(
    config: pytest.Config,  # noqa: ARG001 (pytest's hook)
    items: list[pytest.Item],
) -> None:
    known = tomllib.loads(KNOWN_FAILURES.read_text())["failure"]
    reasons = {entry["test"]: entry["why"] for entry in known}
    for item in items:
        why = reasons.get(item.nodeid)
        if why is not None:
            item.add_marker(pytest.mark.xfail(reason=why, strict=True))
