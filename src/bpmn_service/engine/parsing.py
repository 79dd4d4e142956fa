"""Turn untrusted BPMN bytes into a compiled process, or a list of located problems.

Order matters: the hardened XML parse and the XSD come first, so that nothing later ever sees
entities, DTDs or structurally broken documents; our own rules and SpiffWorkflow's parser then run
and every problem found is reported at once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException

from bpmn_service.errors import BpmnProblem, InvalidBpmn

from . import forms
from .camunda_ext import CAMUNDA_NS, NSMAP, ServiceBpmnParser, listed_names, read_extensions
from .script_engine import EVALUATOR
from .serialization import spec_to_json

MAX_BPMN_BYTES = 5 * 1024 * 1024
BPMN_NS = NSMAP["bpmn"]
DI_NS = NSMAP["bpmndi"]
FLOW_NODE_TAGS = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "serviceTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "exclusiveGateway",
        "parallelGateway",
        "inclusiveGateway",
        "eventBasedGateway",
        "complexGateway",
    }
)
# Elements whose semantics would need an engine feature this service does not offer (yet), with why.
UNSUPPORTED_ELEMENTS = {
    "sendTask": "send tasks are not supported",
    "businessRuleTask": "business rule (DMN) tasks are not supported",
    "complexGateway": "complex gateways are not supported",
    "adHocSubProcess": "ad-hoc subprocesses are not supported",
    "signalEventDefinition": "signal events are not supported yet",
    "conditionalEventDefinition": "conditional events are not supported",
    "compensateEventDefinition": "compensation is not supported",
    "dataStoreReference": "data stores are not supported",
}
FORBIDDEN_CAMUNDA_ELEMENTS = {
    "executionListener": "listeners run code and are refused",
    "taskListener": "listeners run code and are refused",
    "inputOutput": "camunda:inputOutput mappings are not supported",
    "connector": "connectors are not supported",
    "script": "embedded camunda scripts are refused",
    "field": "delegate field injection is refused",
    "in": "camunda:in variable mappings are not supported",
    "out": "camunda:out variable mappings are not supported",
}
FORBIDDEN_CAMUNDA_ATTRIBUTES = {
    "class": "Java delegates are refused",
    "delegateExpression": "delegate expressions are refused",
    "expression": "camunda:expression is refused",
    "resultVariable": "camunda:resultVariable is refused",
    "resource": "external script resources are refused",
    "variableMappingClass": "variable mapping classes are refused",
    "variableMappingDelegateExpression": "variable mapping delegates are refused",
}
ISO_CYCLE = re.compile(r"^R\d*/")
ISO_DURATION = re.compile(
    r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$"
)
IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

SAFE_XML_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)

LaneCheck = Callable[[str, str | None], bool]


@dataclass(frozen=True, slots=True)
class CompiledProcess:
    key: str
    name: str | None
    spec_json: str
    start_form: list[forms.FormField]
    message_starts: list[str]


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


@lru_cache(maxsize=1)
def _xsd() -> etree.XMLSchema:
    import SpiffWorkflow.bpmn.parser as spiff_parser

    path = os.path.join(os.path.dirname(spiff_parser.__file__), "schema", "BPMN20.xsd")
    return etree.XMLSchema(etree.parse(path))


def parse_xml(data: bytes, filename: str) -> etree._Element:
    """The hardened parse: size cap, no DTD, no entities, no network, bounded depth."""
    if len(data) > MAX_BPMN_BYTES:
        raise InvalidBpmn([BpmnProblem(f"file is larger than {MAX_BPMN_BYTES} bytes", filename)])
    if b"<!DOCTYPE" in data[:4096].upper() or b"<!ENTITY" in data.upper():
        raise InvalidBpmn(
            [BpmnProblem("DOCTYPE and entity declarations are not allowed", filename)]
        )
    try:
        root = etree.fromstring(data, SAFE_XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise InvalidBpmn(
            [BpmnProblem(f"not well-formed XML: {exc.msg}", filename, exc.lineno)]
        ) from None
    if root.getroottree().docinfo.doctype:
        raise InvalidBpmn([BpmnProblem("DOCTYPE is not allowed", filename)])
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise InvalidBpmn(
            [
                BpmnProblem(
                    f"the root element is {_local(root.tag) or root.tag!r}, "
                    f"expected bpmn:definitions "
                    f"in namespace {BPMN_NS}",
                    filename,
                    root.sourceline,
                )
            ]
        )
    return root


def compile_bpmn(data: bytes, filename: str, lane_has_groups: LaneCheck) -> CompiledProcess:
    """Validate and compile one BPMN file; raise InvalidBpmn listing every problem."""
    root = parse_xml(data, filename)
    schema = _xsd()
    if not schema.validate(root):
        raise InvalidBpmn(
            [
                BpmnProblem(f"BPMN 2.0 schema: {e.message}", filename, e.line)
                for e in schema.error_log
            ][:50]
        )
    problems, process = _check_rules(root, filename, lane_has_groups)
    if process is None:
        raise InvalidBpmn(problems)
    problems.extend(_prepare_timers(root, filename))
    problems.extend(_prepare_multi_instance(root, filename))
    key = process.get("id")
    spec = subprocess_specs = None
    if not problems:
        try:
            parser = ServiceBpmnParser()
            parser.add_bpmn_xml(root, filename=filename)
            spec = parser.get_spec(key)
            subprocess_specs = parser.get_subprocess_specs(key)
        except ValidationException as exc:
            line = exc.line_number if isinstance(exc.line_number, int) else None
            problems.append(BpmnProblem(str(exc), filename, line, exc.id or None))
        except (SpiffWorkflowException, ValueError, KeyError, AttributeError, IndexError) as exc:
            problems.append(BpmnProblem(f"the engine could not parse the process: {exc}", filename))
    if problems:
        raise InvalidBpmn(problems)
    assert spec is not None and subprocess_specs is not None
    start_fields = _start_form(process)
    return CompiledProcess(
        key=key,
        name=process.get("name"),
        spec_json=spec_to_json(spec, subprocess_specs),
        start_form=start_fields,
        message_starts=_message_starts(root, process),
    )


# The children of multiInstanceLoopCharacteristics in the order the BPMN schema gives them.
_LOOP_ORDER = ("loopCardinality", "loopDataInputRef", "loopDataOutputRef", "inputDataItem")


def _prepare_multi_instance(root: etree._Element, filename: str) -> list[BpmnProblem]:
    """Camunda Modeler writes a multi-instance collection and element variable as the attributes
    camunda:collection and camunda:elementVariable; SpiffWorkflow reads the standard
    loopDataInputRef and inputDataItem. Translate the one into the other (in the compiled copy;
    the stored file keeps what the analyst wrote)."""
    problems: list[BpmnProblem] = []
    for loop in root.xpath(".//bpmn:multiInstanceLoopCharacteristics", namespaces=NSMAP):
        owner = _owner(loop)
        collection = loop.attrib.pop(f"{{{CAMUNDA_NS}}}collection", None)
        element_variable = loop.attrib.pop(f"{{{CAMUNDA_NS}}}elementVariable", None)

        def refuse(message: str, owner: etree._Element = owner) -> None:
            problems.append(BpmnProblem(message, filename, owner.sourceline, owner.get("id")))

        if collection is not None:
            name = collection.strip()
            if name.startswith("${") and name.endswith("}"):
                name = name[2:-1].strip()
            if not IDENTIFIER.match(name):
                refuse(
                    f"camunda:collection {collection!r} must name a variable holding the "
                    f"collection (e.g. ${{signers}}); compute it in a script task before"
                )
            elif loop.find("bpmn:loopDataInputRef", NSMAP) is not None:
                refuse("give the collection either as camunda:collection or as loopDataInputRef")
            else:
                _insert_loop_child(loop, "loopDataInputRef").text = name
        if element_variable is not None:
            name = element_variable.strip()
            if not IDENTIFIER.match(name):
                refuse(f"camunda:elementVariable {element_variable!r} must be a variable name")
            elif loop.find("bpmn:inputDataItem", NSMAP) is not None:
                refuse(
                    "give the element variable either as camunda:elementVariable or as "
                    "inputDataItem"
                )
            else:
                item = _insert_loop_child(loop, "inputDataItem")
                item.set("id", name)  # SpiffWorkflow names the item variable by the id
                item.set("name", name)
    return problems


def _insert_loop_child(loop: etree._Element, local: str) -> etree._Element:
    """A new child of a multiInstanceLoopCharacteristics, placed where the schema wants it."""
    later = set(_LOOP_ORDER[_LOOP_ORDER.index(local) + 1 :]) | {
        "outputDataItem",
        "complexBehaviorDefinition",
        "completionCondition",
        "oneBehaviorEventRef",
        "noneBehaviorEventRef",
    }
    child = etree.Element(f"{{{BPMN_NS}}}{local}")
    for index, existing in enumerate(loop):
        if isinstance(existing.tag, str) and etree.QName(existing.tag).localname in later:
            loop.insert(index, child)
            return child
    loop.append(child)
    return child


def _prepare_timers(root: etree._Element, filename: str) -> list[BpmnProblem]:
    """SpiffWorkflow evaluates timer text as an expression: quote ISO literals, unwrap ${expr}."""
    problems: list[BpmnProblem] = []
    for node in root.xpath(
        ".//bpmn:timerEventDefinition/*[self::bpmn:timeDate or self::bpmn:timeDuration "
        "or self::bpmn:timeCycle]",
        namespaces=NSMAP,
    ):
        text = (node.text or "").strip()
        owner = _owner(node)
        if text.startswith("${") and text.endswith("}"):
            node.text = text[2:-1].strip()
            reasons = EVALUATOR.check(node.text)
        elif _is_timer_literal(_local(node.tag), text):
            node.text = repr(text)
            reasons = []
        else:
            reasons = [
                f"{_local(node.tag)} {text!r} must be an ISO-8601 literal (P5D, "
                f"2026-01-01T09:00:00+08:00, R3/PT1H) or an expression ${{...}}"
            ]
        problems.extend(
            BpmnProblem(f"timer: {r}", filename, node.sourceline, owner.get("id")) for r in reasons
        )
    return problems


def _is_timer_literal(kind: str, text: str) -> bool:
    if kind == "timeDuration":
        return bool(ISO_DURATION.match(text))
    if kind == "timeCycle":
        return bool(ISO_CYCLE.match(text))
    return _is_due_value(text) and not ISO_DURATION.match(text)


def _element_at(root: etree._Element, line: int) -> str | None:
    """The id of the element (or its nearest identified ancestor) starting on `line`."""
    for el in root.iter():
        if isinstance(el.tag, str) and el.sourceline == line:
            found: str | None = _owner(el).get("id")
            return found
    return None


def _message_starts(root: etree._Element, process: etree._Element) -> list[str]:
    """Names of the messages that start the process (top-level message start events)."""
    messages = {m.get("id"): m.get("name") for m in root.xpath("./bpmn:message", namespaces=NSMAP)}
    refs = process.xpath(
        "./bpmn:startEvent/bpmn:messageEventDefinition/@messageRef", namespaces=NSMAP
    )
    return sorted({messages[r] for r in refs if messages.get(r)})


def thrown_messages(bpmn_xml: str) -> frozenset[str]:
    """Names of the messages that the file's processes throw themselves (message throw and end
    events, send tasks): signals between their own branches or to other processes."""
    root = parse_xml(bpmn_xml.encode(), "definition")
    messages = {m.get("id"): m.get("name") for m in root.xpath("./bpmn:message", namespaces=NSMAP)}
    refs = root.xpath(
        ".//bpmn:intermediateThrowEvent/bpmn:messageEventDefinition/@messageRef"
        " | .//bpmn:endEvent/bpmn:messageEventDefinition/@messageRef"
        " | .//bpmn:sendTask/@messageRef",
        namespaces=NSMAP,
    )
    return frozenset(messages[r] for r in refs if messages.get(r))


def message_contracts(bpmn_xml: str) -> dict[str, frozenset[str] | None]:
    """For each message the file's processes catch, the variables it may carry: the union of the
    `variables` properties of its catching elements (catch, boundary and start events, receive
    tasks), or None, meaning any, when one of them does not declare the property."""
    root = parse_xml(bpmn_xml.encode(), "definition")
    messages = {m.get("id"): m.get("name") for m in root.xpath("./bpmn:message", namespaces=NSMAP)}
    catchers = root.xpath(
        ".//bpmn:intermediateCatchEvent[bpmn:messageEventDefinition]"
        " | .//bpmn:boundaryEvent[bpmn:messageEventDefinition]"
        " | .//bpmn:startEvent[bpmn:messageEventDefinition]"
        " | .//bpmn:receiveTask[@messageRef]",
        namespaces=NSMAP,
    )
    contracts: dict[str, frozenset[str] | None] = {}
    for element in catchers:
        ref = element.get("messageRef")
        if ref is None:
            definition = element.find("bpmn:messageEventDefinition", NSMAP)
            ref = definition.get("messageRef") if definition is not None else None
        name = messages.get(ref)
        if not name:
            continue
        declared = read_extensions(element).get("properties", {}).get("variables")
        if declared is None:
            contracts[name] = None
        elif name not in contracts or contracts[name] is not None:
            names = frozenset(listed_names(declared))
            contracts[name] = (contracts.get(name) or frozenset()) | names
    return contracts


def _start_form(process: etree._Element) -> list[forms.FormField]:
    starts = process.xpath("./bpmn:startEvent", namespaces=NSMAP)
    if not starts:
        return []
    return [forms.FormField.from_dict(f) for f in read_extensions(starts[0]).get("formFields", [])]


def _check_rules(
    root: etree._Element, filename: str, lane_has_groups: LaneCheck
) -> tuple[list[BpmnProblem], etree._Element | None]:
    problems: list[BpmnProblem] = []

    def problem(message: str, el: etree._Element | None = None) -> None:
        line = el.sourceline if el is not None else None
        element = el.get("id") if el is not None else None
        problems.append(BpmnProblem(message, filename, line, element))

    processes = root.xpath("./bpmn:process", namespaces=NSMAP)
    executable = [p for p in processes if p.get("isExecutable") == "true"]
    if len(executable) != 1:
        problem(
            f'the file must contain exactly one process with isExecutable="true" '
            f"(found {len(executable)} of {len(processes)} processes)"
        )
        return problems, None
    process = executable[0]
    key = process.get("id") or ""
    if not IDENTIFIER.match(key.replace("-", "_")):
        problem(f"process id {key!r} must be a simple identifier", process)

    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        ns, local = etree.QName(el.tag).namespace, etree.QName(el.tag).localname
        if ns == BPMN_NS and local in UNSUPPORTED_ELEMENTS:
            target = el if el.get("id") else el.getparent()
            problem(UNSUPPORTED_ELEMENTS[local], target)
        if ns == CAMUNDA_NS and local in FORBIDDEN_CAMUNDA_ELEMENTS:
            problem(f"camunda:{local}: {FORBIDDEN_CAMUNDA_ELEMENTS[local]}", _owner(el))
        for attr in el.attrib:
            q = etree.QName(attr)
            if q.namespace == CAMUNDA_NS and q.localname in FORBIDDEN_CAMUNDA_ATTRIBUTES:
                problem(
                    f"camunda:{q.localname}: {FORBIDDEN_CAMUNDA_ATTRIBUTES[q.localname]}",
                    _owner(el),
                )

    _check_events(root, process, problem)
    _check_expressions(process, problem)
    _check_user_tasks(process, key, problem, lane_has_groups)
    _check_gateways(process, problem)
    _check_diagram(root, process, problem)
    return problems, process


def _check_events(
    root: etree._Element, process: etree._Element, problem: Callable[..., None]
) -> None:
    messages = {m.get("id"): m.get("name") for m in root.xpath("./bpmn:message", namespaces=NSMAP)}
    for definition in process.xpath(".//bpmn:messageEventDefinition", namespaces=NSMAP):
        ref = definition.get("messageRef")
        if not ref or not messages.get(ref):
            problem(
                "message event needs a messageRef to a bpmn:message with a name", _owner(definition)
            )
    for event_subprocess in process.xpath(
        ".//bpmn:subProcess[@triggeredByEvent='true']", namespaces=NSMAP
    ):
        if event_subprocess.getparent() is not process:
            # SpiffWorkflow triggers only the event subprocesses of the process itself.
            problem(
                "an event subprocess must be placed in the process itself, not inside a "
                "subprocess: there it would never start; put a boundary event on the subprocess",
                event_subprocess,
            )
            continue
        for start in event_subprocess.xpath("./bpmn:startEvent", namespaces=NSMAP):
            kinds = {_local(child.tag) for child in start if isinstance(child.tag, str)}
            if len(kinds & _EVENT_DEFINITIONS) != 1 or not kinds & _SUBPROCESS_STARTS:
                # SpiffWorkflow runs a timer-started event subprocess as a branch that the end of
                # the process waits for: the case would stay open until the timer fired and then
                # run it anyway.
                problem(
                    "an event subprocess must start with one message, error or escalation "
                    "event; for a timer, put a boundary timer on the task or on a subprocess "
                    "around the steps (non-interrupting for a reminder)",
                    start,
                )
    escalations = {e.get("id") for e in root.xpath("./bpmn:escalation", namespaces=NSMAP)}
    for definition in process.xpath(".//bpmn:escalationEventDefinition", namespaces=NSMAP):
        ref = definition.get("escalationRef")
        owner = _owner(definition)
        throws = _local(owner.tag) in ("intermediateThrowEvent", "endEvent")
        if ref is not None and ref not in escalations:
            problem(f"escalationRef {ref!r} names no bpmn:escalation of this file", owner)
        elif ref is None and throws:
            problem("an escalation throw event needs an escalationRef to a bpmn:escalation", owner)
    for task in process.xpath(".//bpmn:receiveTask", namespaces=NSMAP):
        if not messages.get(task.get("messageRef") or ""):
            problem("receive task needs a messageRef to a bpmn:message with a name", task)
    for task in process.xpath(".//bpmn:serviceTask", namespaces=NSMAP):
        kind = task.get(f"{{{CAMUNDA_NS}}}type")
        topic = (task.get(f"{{{CAMUNDA_NS}}}topic") or "").strip()
        if kind != "external" or not topic:
            problem(
                'service tasks must be external: camunda:type="external" and a camunda:topic', task
            )
    carriers = process.xpath(
        ".//*[bpmn:messageEventDefinition] | .//bpmn:receiveTask | .//bpmn:sendTask",
        namespaces=NSMAP,
    )
    for element in carriers:
        declared = read_extensions(element).get("properties", {}).get("variables")
        if declared is None:
            continue
        bad = [n for n in listed_names(declared) if not IDENTIFIER.match(n)]
        if bad:
            problem(
                f"the variables property must list variable names separated by commas "
                f"(not {', '.join(repr(n) for n in bad)})",
                element,
            )
    for definition in process.xpath(".//bpmn:timerEventDefinition", namespaces=NSMAP):
        if len(definition) != 1:
            problem(
                "a timer needs exactly one of timeDate, timeDuration or timeCycle",
                _owner(definition),
            )


_SUBPROCESS_STARTS = {
    "messageEventDefinition",
    "errorEventDefinition",
    "escalationEventDefinition",
}
_EVENT_DEFINITIONS = {
    f"{kind}EventDefinition"
    for kind in ("message", "timer", "escalation", "error", "signal", "conditional", "compensate")
}


def _owner(el: etree._Element) -> etree._Element:
    node = el
    while node is not None and not node.get("id"):
        node = node.getparent()
    return node if node is not None else el


def _check_expressions(process: etree._Element, problem: Callable[..., None]) -> None:
    for script in process.xpath(".//bpmn:scriptTask", namespaces=NSMAP):
        texts = script.xpath("./bpmn:script/text()", namespaces=NSMAP)
        if not texts or not "".join(texts).strip():
            problem("script task has no script", script)
            continue
        for reason in EVALUATOR.check_script("".join(texts)):
            problem(f"script: {reason}", script)
    for flow in process.xpath(".//bpmn:sequenceFlow", namespaces=NSMAP):
        for cond in flow.xpath("./bpmn:conditionExpression", namespaces=NSMAP):
            language = (cond.get("language") or "").lower()
            if language and language not in {"python", "expression"}:
                problem(
                    f"condition language {language!r} is not supported; write a plain expression",
                    flow,
                )
                continue
            for reason in EVALUATOR.check(cond.text or ""):
                problem(f"condition: {reason}", flow)
    for mi in process.xpath(".//bpmn:multiInstanceLoopCharacteristics", namespaces=NSMAP):
        owner = mi.getparent()
        for tag in ("loopCardinality", "completionCondition"):
            for node in mi.xpath(f"./bpmn:{tag}", namespaces=NSMAP):
                for reason in EVALUATOR.check(node.text or ""):
                    problem(f"{tag}: {reason}", owner)
        for node in mi.xpath("./bpmn:loopDataInputRef|./bpmn:loopDataOutputRef", namespaces=NSMAP):
            if not IDENTIFIER.match((node.text or "").strip()):
                problem(f"{_local(node.tag)} {node.text!r} must be a variable name", owner)
    for loop in process.xpath(".//bpmn:standardLoopCharacteristics", namespaces=NSMAP):
        for node in loop.xpath("./bpmn:loopCondition", namespaces=NSMAP):
            for reason in EVALUATOR.check(node.text or ""):
                problem(f"loopCondition: {reason}", loop.getparent())


def _check_user_tasks(
    process: etree._Element, key: str, problem: Callable[..., None], lane_has_groups: LaneCheck
) -> None:
    lanes: dict[str, str | None] = {}
    for lane in process.xpath(".//bpmn:lane", namespaces=NSMAP):
        for ref in lane.xpath("./bpmn:flowNodeRef/text()", namespaces=NSMAP):
            lanes[ref.strip()] = lane.get("name")
    for node in process.xpath(
        ".//bpmn:userTask|.//bpmn:manualTask|.//bpmn:startEvent", namespaces=NSMAP
    ):
        ext = read_extensions(node)
        fields = [forms.FormField.from_dict(f) for f in ext.get("formFields", [])]
        for reason in forms.check_fields(fields):
            problem(reason, node)
        if _local(node.tag) == "startEvent":
            continue
        for attr in (
            "candidateGroups",
            "candidateUsers",
            "assignee",
            "priority",
            "dueDate",
            "followUpDate",
        ):
            value = ext.get(attr)
            if value and value.startswith("${"):
                for reason in EVALUATOR.check(value):
                    problem(f"camunda:{attr}: {reason}", node)
        priority = ext.get("priority")
        if priority and not priority.startswith("${") and not priority.lstrip("-").isdigit():
            problem(f"camunda:priority {priority!r} must be an integer or an expression", node)
        for attr in ("dueDate", "followUpDate"):
            value = ext.get(attr)
            if value and not value.startswith("${") and not _is_due_value(value):
                problem(
                    f"camunda:{attr} {value!r} must be an ISO-8601 duration (P5D) or a date-time "
                    f"with offset",
                    node,
                )
        has_assignment = any(ext.get(a) for a in ("candidateGroups", "candidateUsers", "assignee"))
        lane = lanes.get(node.get("id") or "")
        if not has_assignment and not lane_has_groups(key, lane):
            where = (
                f"its lane {lane!r} has no groups in lane-groups.toml" if lane else "it has no lane"
            )
            problem(
                "user task has no camunda:candidateGroups, candidateUsers or assignee, "
                f"and {where}",
                node,
            )


def _is_due_value(value: str) -> bool:
    from datetime import datetime

    if ISO_DURATION.match(value):
        return True
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def _check_gateways(process: etree._Element, problem: Callable[..., None]) -> None:
    flows = {f.get("id"): f for f in process.xpath(".//bpmn:sequenceFlow", namespaces=NSMAP)}
    for gw in process.xpath(".//bpmn:exclusiveGateway|.//bpmn:inclusiveGateway", namespaces=NSMAP):
        outgoing = [f for f in flows.values() if f.get("sourceRef") == gw.get("id")]
        if len(outgoing) < 2:
            continue
        default = gw.get("default")
        for flow in outgoing:
            has_condition = bool(flow.xpath("./bpmn:conditionExpression", namespaces=NSMAP))
            if not has_condition and flow.get("id") != default:
                problem(
                    f"outgoing flow {flow.get('id')!r} has no condition and is not the gateway's "
                    f"default flow",
                    gw,
                )


def _check_diagram(
    root: etree._Element, process: etree._Element, problem: Callable[..., None]
) -> None:
    drawn = set(
        root.xpath(
            ".//bpmndi:BPMNShape/@bpmnElement|.//bpmndi:BPMNEdge/@bpmnElement", namespaces=NSMAP
        )
    )
    missing = []
    for el in process.iter():
        if not isinstance(el.tag, str) or etree.QName(el.tag).namespace != BPMN_NS:
            continue
        local = etree.QName(el.tag).localname
        if (local in FLOW_NODE_TAGS or local == "sequenceFlow") and el.get("id") not in drawn:
            missing.append(el)
    for el in missing[:20]:
        problem("element has no diagram shape or edge (BPMNDI); open and save it in a modeler", el)
    if len(missing) > 20:
        problem(f"{len(missing) - 20} more elements have no diagram shape or edge")
