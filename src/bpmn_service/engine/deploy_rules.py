"""The product's deploy rules: what `deploy` and `check` refuse in a BPMN file, and why.

Each rule names the file, line and element and says what to do instead. They run on the parsed,
schema-valid document before SpiffWorkflow's parser (parsing.py calls them) and cover what the
service does not support or will not run (listeners, Java delegates, unsafe expressions), what
SpiffWorkflow would execute differently from the diagram, and what an analyst must add (diagram
shapes, conditions, task assignment).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree

from bpmn_service.errors import BpmnProblem

from . import forms
from .bpmn_xml import (
    BPMN_NS,
    IDENTIFIER,
    element_kinds,
    is_due_value,
    lanes_of_nodes,
    local_name,
    owner_of,
)
from .camunda_ext import CAMUNDA_NS, NSMAP, form_field_elements, listed_names, read_extensions
from .diagram import EVENT_KINDS, GATEWAY_KINDS, SUBPROCESS_KINDS, TASK_KINDS
from .multi_instance import multi_instance_problems
from .script_engine import EVALUATOR

# Any xs:ID (an NCName) is a valid process id: BPMN files from other tools use ids such as
# "_6-150" or "Process_1.v2". No ":" (an NCName has none), so definition ids "key:version:…" parse.
PROCESS_ID = re.compile(r"^[^\W\d][\w.\-]*$")
FLOW_NODE_TAGS = TASK_KINDS | SUBPROCESS_KINDS | EVENT_KINDS | GATEWAY_KINDS
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
    # SpiffWorkflow 3.2 has no link events: a throw link ran as a plain throw event and ended
    # its path (the case completed), and nothing ever reached the catch link.
    "linkEventDefinition": "link events are not supported: a case would stop at the throw link "
    "event and never reach the catch link event of the same name",
    # A file holds one executable process, and a case cannot call a process deployed apart.
    "callActivity": "call activities are not supported: draw the called steps as a subprocess "
    "here, or start the other process with a message throw event",
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
LaneCheck = Callable[[str, str | None], bool]
HINT_LINK = (
    "draw a sequence flow from the step before the throw link event to the step after the catch "
    "link event with the same name, and delete both link events (the Modeler's link events are "
    "only a drawing aid for long flows)"
)
# What to do, per finding code (docs/authoring.md has an example of each).
HINTS = {
    "structure.process": "tick 'Executable' on exactly one process (pool) of the file",
    "structure.process-id": "give the process an id that starts with a letter or _, then "
    "letters, digits, _, - or . (its 'ID' field)",
    "structure.unsupported": "model it with the supported elements; docs/authoring.md says what "
    "to use instead",
    "structure.refused": "BPMN text never runs code here: compute values in a script task "
    "(`name = expression` lines) or leave the work to an external service task",
    "structure.message": "pick or create a message with a name in the element's 'Message' field",
    "structure.event-subprocess": "start the event subprocess with a message, error or "
    "escalation event, at the top level of the process",
    "structure.escalation": "pick or create an escalation in the event's 'Escalation' field",
    "structure.service-task": "set Implementation to 'External' and a Topic",
    "structure.timer": "a timer needs exactly one of Date, Duration or Cycle",
    "structure.variable": "write a variable name: a letter, then letters, digits or _",
    "script.invalid": "write one `name = expression` line per variable",
    "script.language": "write the condition as a plain expression (leave its language empty)",
    "script.expression": "write an expression of the service's language (docs/authoring.md, "
    "Expressions)",
    "structure.multi-instance": "set Collection and Element variable in the Multi instance "
    "panel; outputCollection in the task's Extension properties",
    "structure.form": "fix the field in the task's Forms tab",
    "structure.task": "fix the value in the task's panel",
    "lanes.no-groups": "put the task into a lane listed in lane-groups.toml, or set Candidate "
    "groups in the task's User assignment panel",
    "structure.event-gateway": "put an intermediate message or timer event between the gateway "
    "and the step, so that the first event to arrive decides the path",
    "structure.gateway": "give each outgoing flow a condition, or mark one as the default flow",
    "structure.task-split": "draw one flow from the element to a gateway and the flows from the "
    "gateway: an exclusive gateway for conditional flows (move the conditions onto its flows and "
    "mark one as the default flow), a parallel gateway when every flow should run",
    "structure.missing-shape": "draw it in a modeler, or run `bpmn-service layout FILE` to draw "
    "the whole diagram",
}


def check_rules(
    root: etree._Element, filename: str, lane_has_groups: LaneCheck
) -> tuple[list[BpmnProblem], etree._Element | None]:
    """Every rule's problems, and the file's one executable process (None when there is not
    exactly one, and then nothing else is checked)."""
    problems: list[BpmnProblem] = []

    def problem(
        code: str,
        message: str,
        el: etree._Element | None = None,
        at: etree._Element | None = None,
        hint: str | None = None,
    ) -> None:
        """A finding at element `el`, on the line of `at` (a part of it) or else of `el`; the
        code's hint unless `hint` is given."""
        line = (at if at is not None else el).sourceline if el is not None else None
        element = el.get("id") if el is not None else None
        said = HINTS.get(code, "") if hint is None else hint
        problems.append(BpmnProblem(message, filename, line, element, code, said))

    processes = root.xpath("./bpmn:process", namespaces=NSMAP)
    executable = [p for p in processes if p.get("isExecutable") == "true"]
    if len(executable) != 1:
        # Named at the process to mark (the one process of a file from Signavio or Bizagi, which
        # export isExecutable="false" or none), or at the second executable one.
        at = processes[0] if not executable and len(processes) == 1 else None
        if len(executable) > 1:
            at = executable[1]
        problem(
            "structure.process",
            f'the file must contain exactly one process with isExecutable="true" '
            f"(found {len(executable)} of {len(processes)} processes)",
            at,
        )
        return problems, None
    process = executable[0]
    key = process.get("id") or ""
    if not PROCESS_ID.match(key):
        problem(
            "structure.process-id",
            f"process id {key!r} must be an XML id (xs:ID): a letter or _ first, then letters, "
            f"digits, _, - or .",
            process,
        )

    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        ns, local = etree.QName(el.tag).namespace, etree.QName(el.tag).localname
        if ns == BPMN_NS and local in UNSUPPORTED_ELEMENTS:
            link = local == "linkEventDefinition"
            target = el if el.get("id") and not link else el.getparent()
            hint = HINT_LINK if link else None
            problem("structure.unsupported", UNSUPPORTED_ELEMENTS[local], target, hint=hint)
        if ns == CAMUNDA_NS and local in FORBIDDEN_CAMUNDA_ELEMENTS:
            problem(
                "structure.refused",
                f"camunda:{local}: {FORBIDDEN_CAMUNDA_ELEMENTS[local]}",
                owner_of(el),
            )
        for attr in el.attrib:
            q = etree.QName(attr)
            if q.namespace == CAMUNDA_NS and q.localname in FORBIDDEN_CAMUNDA_ATTRIBUTES:
                problem(
                    "structure.refused",
                    f"camunda:{q.localname}: {FORBIDDEN_CAMUNDA_ATTRIBUTES[q.localname]}",
                    owner_of(el),
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
                "structure.message",
                "message event needs a messageRef to a bpmn:message with a name",
                owner_of(definition),
            )
    for event_subprocess in process.xpath(
        ".//bpmn:subProcess[@triggeredByEvent='true']", namespaces=NSMAP
    ):
        if event_subprocess.getparent() is not process:
            # SpiffWorkflow triggers only the event subprocesses of the process itself.
            problem(
                "structure.event-subprocess",
                "an event subprocess must be placed in the process itself, not inside a "
                "subprocess: there it would never start; put a boundary event on the subprocess",
                event_subprocess,
            )
            continue
        for start in event_subprocess.xpath("./bpmn:startEvent", namespaces=NSMAP):
            kinds = {local_name(child.tag) for child in start if isinstance(child.tag, str)}
            if len(kinds & _EVENT_DEFINITIONS) != 1 or not kinds & _SUBPROCESS_STARTS:
                # SpiffWorkflow runs a timer-started event subprocess as a branch that the end of
                # the process waits for: the case would stay open until the timer fired and then
                # run it anyway.
                problem(
                    "structure.event-subprocess",
                    "an event subprocess must start with one message, error or escalation "
                    "event; for a timer, put a boundary timer on the task or on a subprocess "
                    "around the steps (non-interrupting for a reminder)",
                    start,
                )
    escalations = {e.get("id") for e in root.xpath("./bpmn:escalation", namespaces=NSMAP)}
    for definition in process.xpath(".//bpmn:escalationEventDefinition", namespaces=NSMAP):
        ref = definition.get("escalationRef")
        owner = owner_of(definition)
        throws = local_name(owner.tag) in ("intermediateThrowEvent", "endEvent")
        if ref is not None and ref not in escalations:
            problem(
                "structure.escalation",
                f"escalationRef {ref!r} names no bpmn:escalation of this file",
                owner,
            )
        elif ref is None and throws:
            problem(
                "structure.escalation",
                "an escalation throw event needs an escalationRef to a bpmn:escalation",
                owner,
            )
    for task in process.xpath(".//bpmn:receiveTask", namespaces=NSMAP):
        if not messages.get(task.get("messageRef") or ""):
            problem(
                "structure.message",
                "receive task needs a messageRef to a bpmn:message with a name",
                task,
            )
    for task in process.xpath(".//bpmn:serviceTask", namespaces=NSMAP):
        kind = task.get(f"{{{CAMUNDA_NS}}}type")
        topic = (task.get(f"{{{CAMUNDA_NS}}}topic") or "").strip()
        if kind != "external" or not topic:
            problem(
                "structure.service-task",
                'service tasks must be external: camunda:type="external" and a camunda:topic',
                task,
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
                "structure.message",
                f"the variables property must list variable names separated by commas "
                f"(not {', '.join(repr(n) for n in bad)})",
                element,
            )
    _check_engine_variables(process, problem)
    for definition in process.xpath(".//bpmn:timerEventDefinition", namespaces=NSMAP):
        if len(definition) != 1:
            problem(
                "structure.timer",
                "a timer needs exactly one of timeDate, timeDuration or timeCycle",
                owner_of(definition),
            )


# Variables the engine sets, named by camunda:* attributes of an element (what they hold).
ENGINE_VARIABLES = {
    "startEvent": {"initiator": "the starting user's id"},
    "errorEventDefinition": {
        "errorCodeVariable": "the caught error's code",
        "errorMessageVariable": "the caught error's message",
    },
}
# Set by the service for every case; an attribute naming another of them would overwrite it.
SERVICE_VARIABLES = frozenset({"businessKey"})


def _check_engine_variables(process: etree._Element, problem: Callable[..., None]) -> None:
    """camunda:initiator and camunda:errorCodeVariable / errorMessageVariable name a variable
    the engine sets: a name an expression can read, at the attribute's element's line."""
    for kind, attributes in ENGINE_VARIABLES.items():
        for el in process.iter(f"{{{BPMN_NS}}}{kind}"):
            for attr, holds in attributes.items():
                value = el.get(f"{{{CAMUNDA_NS}}}{attr}")
                if value is None or not value.strip():
                    continue
                name = value.strip()
                if IDENTIFIER.match(name) and name not in SERVICE_VARIABLES:
                    continue
                why = (
                    "the service sets it for every case"
                    if name in SERVICE_VARIABLES
                    else "expressions could not read it"
                )
                problem(
                    "structure.variable",
                    f"camunda:{attr} {value!r} must name a variable to hold {holds} (a "
                    f"letter, then letters, digits or _): {why}",
                    owner_of(el),
                    at=el,
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


def _check_expressions(process: etree._Element, problem: Callable[..., None]) -> None:
    # The file's declared expressionLanguage applies to every condition that names none, except
    # BPMN's own default (XPath), which Signavio, Flowable and Bizagi write into every export
    # whatever their conditions are written in; Camunda 7 reads past it too.
    definitions = process.getparent()
    declared = (
        (definitions.get("expressionLanguage") or "").strip() if definitions is not None else ""
    )
    file_language = "" if declared.lower().rstrip("/") in BPMN_DEFAULT_LANGUAGES else declared
    foreign_file_language = bool(file_language) and file_language.lower() not in OUR_LANGUAGES
    inheriting = 0  # conditions written in the file's foreign language: one finding at its root
    for script in process.xpath(".//bpmn:scriptTask", namespaces=NSMAP):
        if (script.get("scriptFormat") or "").strip().lower() not in ("", "python", "expression"):
            continue  # another language: analyst_checks.py says so (script.language)
        texts = script.xpath("./bpmn:script/text()", namespaces=NSMAP)
        if not texts or not "".join(texts).strip():
            problem("script.invalid", "script task has no script", script)
            continue
        for reason in EVALUATOR.check_script("".join(texts)):
            problem("script.invalid", f"script: {reason}", script)
    for flow in process.xpath(".//bpmn:sequenceFlow", namespaces=NSMAP):
        for cond in flow.xpath("./bpmn:conditionExpression", namespaces=NSMAP):
            language = (cond.get("language") or "").strip()
            if not language and foreign_file_language:
                inheriting += 1
                continue
            if language and language.lower() not in OUR_LANGUAGES:
                problem("script.language", not_supported(language), flow)
                continue
            for reason in EVALUATOR.check(cond.text or ""):
                problem("script.expression", f"condition: {reason}", flow)
    if inheriting and definitions is not None:
        which = (
            "the condition that names no language of its own"
            if inheriting == 1
            else f"the {inheriting} conditions that name no language of their own"
        )
        problem(
            "script.language",
            f"language {file_language!r} is not supported: the expressionLanguage of "
            f"bpmn:definitions declares it for {which}; conditions are written in the service's "
            "expression language (Python syntax, or Camunda's ${...} with JUEL's operators; see "
            "docs/authoring.md)",
            definitions,
            hint="remove the expressionLanguage attribute of bpmn:definitions (the file's root) "
            "and write the conditions that way",
        )
    for mi in process.xpath(".//bpmn:multiInstanceLoopCharacteristics", namespaces=NSMAP):
        owner = mi.getparent()
        for tag in ("loopCardinality", "completionCondition"):
            for node in mi.xpath(f"./bpmn:{tag}", namespaces=NSMAP):
                for reason in EVALUATOR.check(node.text or ""):
                    problem("script.expression", f"{tag}: {reason}", owner)
        for reason in multi_instance_problems(owner, mi):
            problem("structure.multi-instance", reason, owner)
    for loop in process.xpath(".//bpmn:standardLoopCharacteristics", namespaces=NSMAP):
        for node in loop.xpath("./bpmn:loopCondition", namespaces=NSMAP):
            for reason in EVALUATOR.check(node.text or ""):
                problem("script.expression", f"loopCondition: {reason}", loop.getparent())


# The expressionLanguage BPMN 2.0 gives a file that declares none (lower case, no trailing /),
# as the specification writes it and as Signavio's exports do (the W3C's XPath recommendation).
BPMN_DEFAULT_LANGUAGES = frozenset({"http://www.w3.org/1999/xpath", "http://www.w3.org/tr/xpath"})
# The names a model may declare for the service's own expression language; juel is Camunda 7's
# default for conditions (its ${...} with JUEL's operators is read, docs/authoring.md).
OUR_LANGUAGES = frozenset({"python", "expression", "juel"})


def not_supported(language: str) -> str:
    return (
        f"language {language!r} is not supported: conditions are written in the service's "
        f"expression language (Python syntax, or Camunda's ${{...}} with JUEL's operators; see "
        f"docs/authoring.md); remove the language or expressionLanguage attribute and write "
        f"the condition that way"
    )


def _check_user_tasks(
    process: etree._Element, key: str, problem: Callable[..., None], lane_has_groups: LaneCheck
) -> None:
    lanes = lanes_of_nodes(process)
    # A plain bpmn:task (what bpmn.io draws first, and what Signavio and Bizagi export) runs as a
    # user task: SpiffWorkflow's NoneTask is manual, so it waits in the inbox for its candidate
    # groups or its lane's, like a user task (unless a camunda:topic makes it external work).
    for node in process.xpath(
        ".//bpmn:userTask|.//bpmn:manualTask|.//bpmn:task|.//bpmn:startEvent", namespaces=NSMAP
    ):
        ext = read_extensions(node)
        fields = [forms.FormField.from_dict(f) for f in ext.get("formFields", [])]
        written = form_field_elements(node)  # in the order read_extensions read them
        for index, reason in forms.check_fields(fields):
            problem("structure.form", reason, node, at=written[index])
        if local_name(node.tag) == "startEvent":
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
                    problem("script.expression", f"camunda:{attr}: {reason}", node)
        priority = ext.get("priority")
        if priority and not priority.startswith("${") and not priority.lstrip("-").isdigit():
            problem(
                "structure.task",
                f"camunda:priority {priority!r} must be an integer or an expression",
                node,
            )
        for attr in ("dueDate", "followUpDate"):
            value = ext.get(attr)
            if value and not value.startswith("${") and not is_due_value(value):
                problem(
                    "structure.task",
                    f"camunda:{attr} {value!r} must be an ISO-8601 duration (P5D) or a date-time "
                    f"with offset",
                    node,
                )
        if local_name(node.tag) == "task" and ext.get("topic"):
            continue  # a worker's work (instance_view.is_external), offered to nobody
        if offered_to_nobody(node, key, lanes, lane_has_groups):
            lane = lanes.get(node.get("id") or "")
            where = (
                f"its lane {lane!r} has no groups in lane-groups.toml" if lane else "it has no lane"
            )
            plain = local_name(node.tag) == "task"
            problem(
                "lanes.no-groups",
                f"{_HUMAN_TASKS[local_name(node.tag)]} has no "
                "camunda:candidateGroups, candidateUsers or assignee, "
                f"and {where}{_foreign_assignment(node)}",
                node,
                hint=PLAIN_TASK_HINT if plain else None,
            )


# What a lanes.no-groups finding calls each kind of task people do.
_HUMAN_TASKS = {
    "userTask": "user task",
    "manualTask": "manual task",
    "task": "plain task (no type, run as a user task)",
}
PLAIN_TASK_HINT = (
    "a plain task waits for a person: make it a User task (wrench menu) and give it candidate "
    "groups or put it in a lane listed in lane-groups.toml"
)


# The camunda: attributes that offer a task to someone.
ASSIGNMENTS = ("candidateGroups", "candidateUsers", "assignee")
# Camunda 8 (Zeebe) writes the same three as attributes of an extension element.
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
ZEEBE_ASSIGNMENT = etree.QName(ZEEBE_NS, "assignmentDefinition")


def offered_to_nobody(
    node: etree._Element, key: str, lanes: dict[str, str | None], lane_has_groups: LaneCheck
) -> bool:
    """A task with no camunda: assignment, drawn in no lane or in one without groups: nobody
    would see it (refused as lanes.no-groups)."""
    assigned = any((node.get(f"{{{CAMUNDA_NS}}}{a}") or "").strip() for a in ASSIGNMENTS)
    return not assigned and not lane_has_groups(key, lanes.get(node.get("id") or ""))


def _foreign_assignment(node: etree._Element) -> str:
    """What another tool wrote for the assignment (Flowable's or Activiti's attributes, Camunda
    8's zeebe:assignmentDefinition, BPMN's potentialOwner), which this service does not read:
    the analyst sees why the task looks unassigned here although it was assigned there."""
    prefixes = {uri: prefix for prefix, uri in node.nsmap.items() if prefix}
    for attr, value in node.attrib.items():
        name = etree.QName(attr)
        if name.namespace not in (None, CAMUNDA_NS) and name.localname in ASSIGNMENTS:
            written = f"{prefixes.get(name.namespace, name.namespace)}:{name.localname}"
            return (
                f"; its {written}={value!r} is another engine's extension and is not read "
                f"here: write camunda:{name.localname} instead"
            )
    zeebe = node.find(f"bpmn:extensionElements/{ZEEBE_ASSIGNMENT}", NSMAP)
    if zeebe is not None:
        given = " ".join(f"{a}={zeebe.get(a)!r}" for a in ASSIGNMENTS if zeebe.get(a))
        return (
            f"; its zeebe:assignmentDefinition {given} is Camunda 8's extension and is not read "
            "here: write camunda:candidateGroups, camunda:candidateUsers or camunda:assignee "
            "instead"
        )
    for kind in ("potentialOwner", "humanPerformer"):
        if node.find(f"{{{BPMN_NS}}}{kind}") is not None:
            return f"; its {kind} is not read here: write the group as camunda:candidateGroups"
    return ""


def _check_gateways(process: etree._Element, problem: Callable[..., None]) -> None:
    # Flows by source, once: looking through every flow for each gateway was quadratic (6,000
    # gateways took half a minute).
    by_source: dict[str | None, list[etree._Element]] = {}
    for flow in process.xpath(".//bpmn:sequenceFlow", namespaces=NSMAP):
        by_source.setdefault(flow.get("sourceRef"), []).append(flow)
    kinds = element_kinds(process)
    for gw in process.xpath(".//bpmn:eventBasedGateway", namespaces=NSMAP):
        for flow in by_source.get(gw.get("id"), []):
            target = flow.get("targetRef")
            kind = kinds.get(target)
            if kind is not None and kind not in ("intermediateCatchEvent", "receiveTask"):
                problem(
                    "structure.event-gateway",
                    f"outgoing flow {flow.get('id')!r} of an event-based gateway leads to "
                    f"{kind} {target!r}; it must lead to an event the case waits for (an "
                    f"intermediate message or timer event, or a receive task)",
                    gw,
                )
    for node in process.iter():
        kind = local_name(node.tag) if isinstance(node.tag, str) else None
        if kind not in _SINGLE_EXIT:
            continue
        outgoing = by_source.get(node.get("id"), [])
        if len(outgoing) > 1:
            flows = ", ".join(str(f.get("id")) for f in outgoing)
            name = (node.get("name") or "").strip()
            named = f"{kind} {node.get('id')!r}" + (f" ({name})" if name else "")
            conditional = any(
                f.xpath("./bpmn:conditionExpression", namespaces=NSMAP) for f in outgoing
            )
            why = (
                "conditions on flows that leave a task or event are not evaluated here"
                if conditional
                else "an implicit split (every flow runs) is not supported"
            )
            problem(
                "structure.task-split",
                f"{named} has {len(outgoing)} outgoing sequence flows ({flows}): only a gateway "
                f"(or a start event) may split the path, and {why}",
                node,
            )
    for gw in process.xpath(".//bpmn:exclusiveGateway|.//bpmn:inclusiveGateway", namespaces=NSMAP):
        outgoing = by_source.get(gw.get("id"), [])
        if len(outgoing) < 2:
            continue
        default = gw.get("default")
        for flow in outgoing:
            has_condition = bool(flow.xpath("./bpmn:conditionExpression", namespaces=NSMAP))
            if not has_condition and flow.get("id") != default:
                problem(
                    "structure.gateway",
                    f"outgoing flow {flow.get('id')!r} has no condition and is not the gateway's "
                    f"default flow",
                    gw,
                )


# Flow nodes SpiffWorkflow's parser refuses more than one outgoing flow of (TaskParser: "Multiple
# outgoing flows are not supported"): all but gateways and start events.
_SINGLE_EXIT = (TASK_KINDS | SUBPROCESS_KINDS | EVENT_KINDS) - {"startEvent"}


def _check_diagram(
    root: etree._Element, process: etree._Element, problem: Callable[..., None]
) -> None:
    drawn = set(
        root.xpath(
            ".//bpmndi:BPMNShape/@bpmnElement|.//bpmndi:BPMNEdge/@bpmnElement", namespaces=NSMAP
        )
    )
    if not drawn:
        # A file from a tool that exports no diagram: one finding, not one per element.
        problem(
            "structure.missing-shape",
            "the file has no diagram (BPMNDI) at all, so Camunda Modeler and the workspace "
            "cannot show it",
            process,
        )
        return
    missing = []
    for el in process.iter():
        if not isinstance(el.tag, str) or etree.QName(el.tag).namespace != BPMN_NS:
            continue
        local = etree.QName(el.tag).localname
        if (local in FLOW_NODE_TAGS or local == "sequenceFlow") and el.get("id") not in drawn:
            missing.append(el)
    for el in missing[:20]:
        problem(
            "structure.missing-shape",
            "element has no diagram shape or edge (BPMNDI)",
            el,
        )
    if len(missing) > 20:
        problem(
            "structure.missing-shape",
            f"{len(missing) - 20} more elements have no diagram shape or edge",
        )
