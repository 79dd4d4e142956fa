"""SpiffWorkflow parser classes that read the camunda:* attributes this service supports.

The stock CamundaParser ignores candidate groups and assignees, parses forms only when a formKey is
set, and builds Camunda-style multi-instance tasks that mutate the shared spec. We keep the plain
BPMN parser (standard multi-instance) and put what we need into `task_spec.extensions`, which the
serializer stores with the spec.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, full_tag
from SpiffWorkflow.bpmn.parser.event_parsers import StartEventParser
from SpiffWorkflow.bpmn.parser.node_parser import DEFAULT_NSMAP
from SpiffWorkflow.bpmn.parser.task_parsers import ScriptTaskParser
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.specs.defaults import ScriptTask, StartEvent, UserTask

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
NSMAP = {**DEFAULT_NSMAP, "camunda": CAMUNDA_NS}
TASK_ATTRIBUTES = (
    "candidateGroups",
    "candidateUsers",
    "assignee",
    "dueDate",
    "followUpDate",
    "priority",
    "formKey",
)


def read_form_fields(node: Any) -> list[dict[str, Any]]:
    """camunda:formField elements under `node`, as FormField dicts."""
    fields = []
    for xml_field in node.xpath(
        "./bpmn:extensionElements/camunda:formData/camunda:formField", namespaces=NSMAP
    ):
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
    fields = read_form_fields(node)
    if fields:
        ext["formFields"] = fields
    return ext


class ExtensionTaskParser(TaskParser):  # type: ignore[misc]
    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        return read_extensions(node if node is not None else self.node)


class ExtensionStartEventParser(StartEventParser):  # type: ignore[misc]
    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        return read_extensions(node if node is not None else self.node)


class ExtensionScriptTaskParser(ScriptTaskParser):  # type: ignore[misc]
    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        return read_extensions(node if node is not None else self.node)


class ServiceBpmnParser(BpmnParser):  # type: ignore[misc]
    """Plain BPMN parser plus camunda:* extensions; standard multi-instance only."""

    OVERRIDE_PARSER_CLASSES = {
        full_tag("userTask"): (ExtensionTaskParser, UserTask),
        full_tag("startEvent"): (ExtensionStartEventParser, StartEvent),
        full_tag("scriptTask"): (ExtensionScriptTaskParser, ScriptTask),
    }

    def __init__(self) -> None:
        super().__init__(namespaces=NSMAP)
