"""SpiffWorkflow parser classes that read the camunda:* attributes this service supports.

Multi-instance tasks are read as the Modeler writes them (multi_instance.py).

The stock CamundaParser ignores candidate groups and assignees, parses forms only when a formKey is
set, and builds Camunda-style multi-instance tasks that mutate the shared spec. We keep the plain
BPMN parser (standard multi-instance) and put what we need into `task_spec.extensions`, which the
serializer stores with the spec.
"""

from __future__ import annotations

from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, full_tag
from SpiffWorkflow.bpmn.parser.event_parsers import (
    CONDITIONAL_EVENT_XPATH,
    ERROR_EVENT_XPATH,
    ESCALATION_EVENT_XPATH,
    MESSAGE_EVENT_XPATH,
    SIGNAL_EVENT_XPATH,
    TIMER_EVENT_XPATH,
    StartEventParser,
)
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.specs.defaults import ManualTask

from .clock import CLOCKED_TIMERS
from .event_subprocesses import INTERRUPTS
from .multi_instance import CAMUNDA_NS as CAMUNDA_NS, NSMAP as NSMAP, MultiInstanceParserMixin
from .specs import ELEMENT_SPECS, ServiceProcessParser

# What a user task reads of its camunda:* attributes (a plain bpmn:task too; analyst_checks.py).
USER_TASK_ATTRIBUTES = (
    "candidateGroups",
    "candidateUsers",
    "assignee",
    "dueDate",
    "followUpDate",
    "priority",
)
TASK_ATTRIBUTES = (
    *USER_TASK_ATTRIBUTES,
    "formKey",
    "type",
    "topic",
    "initiator",  # on a start event: the variable that gets the starting user's id
)
# On an error catch (boundary event, event-subprocess start): the variables that get the caught
# error's code and message (bpmn_errors.py).
ERROR_VARIABLES = ("errorCodeVariable", "errorMessageVariable")


def form_field_elements(node: Any) -> list[Any]:
    """The camunda:formField elements under `node`, in document order."""
    return list(
        node.xpath("./bpmn:extensionElements/camunda:formData/camunda:formField", namespaces=NSMAP)
    )


def read_form_fields(node: Any) -> list[dict[str, Any]]:
    """camunda:formField elements under `node`, as FormField dicts."""
    fields = []
    for xml_field in form_field_elements(node):
        constraints = {
            c.get("name"): c.get("config")
            for c in xml_field.xpath("./camunda:validation/camunda:constraint", namespaces=NSMAP)
        }
        values = [
            [v.get("id"), v.get("name")]
            for v in xml_field.xpath("./camunda:value", namespaces=NSMAP)
        ]
        fields.append(
            {
                "id": xml_field.get("id") or "",
                "type": xml_field.get("type") or "string",
                "label": xml_field.get("label"),
                "default": xml_field.get("defaultValue"),
                "values": values,
                "constraints": constraints,
            }
        )
    return fields


def listed_names(value: str) -> list[str]:
    """The names in a comma-separated property value, such as the `variables` of a message
    event; blanks around and between them do not count."""
    return [name.strip() for name in value.split(",") if name.strip()]


def read_extensions(node: Any) -> dict[str, Any]:
    """The camunda extensions of one flow node."""
    ext: dict[str, Any] = {}
    for name in TASK_ATTRIBUTES:
        value = node.get(f"{{{CAMUNDA_NS}}}{name}")
        if value is not None and value.strip():
            ext[name] = value.strip()
    properties = {
        p.get("name"): p.get("value")
        for p in node.xpath(
            "./bpmn:extensionElements/camunda:properties/camunda:property", namespaces=NSMAP
        )
        if p.get("name")
    }
    if properties:
        ext["properties"] = properties
    for definition in node.iterfind("bpmn:errorEventDefinition", NSMAP):
        for name in ERROR_VARIABLES:
            value = (definition.get(f"{{{CAMUNDA_NS}}}{name}") or "").strip()
            if value:
                ext[name] = value
    fields = read_form_fields(node)
    if fields:
        ext["formFields"] = fields
    return ext


class _ExtensionsMixin:
    """Adds read_extensions() to any SpiffWorkflow node parser, and makes its timers run on the
    engine clock (clock.py)."""

    node: Any

    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        node = node if node is not None else self.node
        ext = read_extensions(node)
        if _interrupts_scope(node):
            ext[INTERRUPTS] = True  # acted on by event_subprocesses.py
        return ext

    def parse_timer_event(self, event: Any) -> Any:
        timer = super().parse_timer_event(event)  # type: ignore[misc]
        clocked = CLOCKED_TIMERS[type(timer)]
        return clocked(timer.name, timer.expression, description=timer.description)


def _interrupts_scope(node: Any) -> bool:
    """An interrupting start event of an event subprocess (SpiffWorkflow does not record it)."""
    if not isinstance(node.tag, str) or etree.QName(node.tag).localname != "startEvent":
        return False
    parent = node.getparent()
    return (
        parent is not None
        and etree.QName(parent.tag).localname == "subProcess"
        and parent.get("triggeredByEvent") == "true"
        and node.get("isInterrupting") != "false"
    )


class _StartEventParser(StartEventParser):  # type: ignore[misc]
    """SpiffWorkflow's start event parser, also reading error and escalation definitions: it read
    them as plain starts, so an event subprocess started by one ran as soon as the case began."""

    def create_task(self) -> Any:
        event_definition = self.get_event_definition(
            [
                MESSAGE_EVENT_XPATH,
                SIGNAL_EVENT_XPATH,
                TIMER_EVENT_XPATH,
                CONDITIONAL_EVENT_XPATH,
                ERROR_EVENT_XPATH,
                ESCALATION_EVENT_XPATH,
            ]
        )
        task = self._create_task(event_definition)
        self.spec.start.connect(task)
        return task


def _with_extensions() -> dict[str, tuple[type, type]]:
    classes: dict[str, tuple[type, type]] = {}
    for tag, (parser_class, spec_class) in BpmnParser.PARSER_CLASSES.items():
        if parser_class is StartEventParser:
            parser_class = _StartEventParser
        if issubclass(parser_class, TaskParser):
            parser_class = type(
                f"Extension{parser_class.__name__}",
                (_ExtensionsMixin, MultiInstanceParserMixin, parser_class),
                {},
            )
        classes[tag] = (parser_class, ELEMENT_SPECS.get(spec_class, spec_class))
    # External service tasks wait, like manual tasks, until a worker completes them.
    classes[full_tag("serviceTask")] = (classes[full_tag("task")][0], ManualTask)
    return classes


class ServiceBpmnParser(BpmnParser):  # type: ignore[misc]
    """Plain BPMN parser plus camunda:* extensions on every node; standard multi-instance only."""

    OVERRIDE_PARSER_CLASSES = _with_extensions()
    PROCESS_PARSER_CLASS = ServiceProcessParser

    def __init__(self) -> None:
        super().__init__(namespaces=NSMAP)
