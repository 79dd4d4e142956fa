"""Compile untrusted BPMN bytes into a CompiledProcess, or a list of located problems.

Order matters: the hardened XML parse (bpmn_xml.py) and the XSD come first, so that nothing later
ever sees entities, DTDs or structurally broken documents; the deploy rules (deploy_rules.py) and
SpiffWorkflow's parser then run and every problem found is reported at once. Compiling also
rewrites the timer literals Camunda Modeler writes into what SpiffWorkflow reads, and reads the
messages a file starts with, throws and catches.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException

from bpmn_service.errors import BpmnProblem, InvalidBpmn

from . import clock, forms
from .analyst_checks import CheckContext, analyst_findings
from .bpmn_xml import (
    BPMN_NS,
    ISO_DURATION,
    id_used_again,
    is_due_value,
    lanes_of_nodes,
    local_name,
    owner_of,
    parse_xml,
)
from .camunda_ext import CAMUNDA_NS, NSMAP, ServiceBpmnParser, listed_names, read_extensions
from .column_limits import length_problems
from .data_flow import data_flow_findings
from .deep_stack import call_deep
from .deploy_rules import LaneCheck, check_rules
from .diagram_checks import check_layout
from .form_types import form_type_findings
from .gateway_pairs import gateway_pair_findings
from .limit_paths import limit_path_findings
from .reachability import reachability_findings
from .script_engine import EVALUATOR
from .serialization import spec_to_json

ISO_CYCLE = re.compile(r"^R\d*/")

# The most BPMN elements (tasks, flows, their references, …; not the diagram's) one file may hold:
# the largest shipped model has about 730. The checks take time in proportion (about 2 s for
# 10,000 on a slow core), so a file of hundreds of thousands would hold a server core for
# minutes before it is refused; it is refused at once instead.
MAX_BPMN_ELEMENTS = 10_000


@dataclass(frozen=True, slots=True)
class CompiledProcess:
    key: str
    name: str | None
    spec_json: str
    start_form: list[forms.FormField]
    message_starts: list[str]
    # camunda:candidateStarterGroups / candidateStarterUsers: {"groups": [...], "users": [...]},
    # None when the process declares neither (then the service's default groups may start it).
    starters: dict[str, list[str]] | None = None

    def element_ids(self) -> frozenset[str]:
        """The ids of the elements the engine runs, its subprocesses' included: what a
        simulation scenario may name as a step."""
        return spec_element_ids(self.spec_json)


def spec_element_ids(spec_json: str, typename: str | None = None) -> frozenset[str]:
    """The ids of the elements a stored spec runs (its subprocesses' included), or only those
    of one SpiffWorkflow spec type (`BoundaryEvent`), read from the JSON without restoring it."""
    spec = json.loads(spec_json)
    specs = [spec["spec"], *spec.get("subprocess_specs", {}).values()]
    return frozenset(
        str(ts["bpmn_id"])
        for process in specs
        for ts in process["task_specs"].values()
        if ts.get("bpmn_id") and (typename is None or ts.get("typename") == typename)
    )


@lru_cache(maxsize=1)
def _xsd() -> etree.XMLSchema:
    import SpiffWorkflow.bpmn.parser as spiff_parser

    path = os.path.join(os.path.dirname(spiff_parser.__file__), "schema", "BPMN20.xsd")
    return etree.XMLSchema(etree.parse(path))


def compile_bpmn(data: bytes, filename: str, lane_has_groups: LaneCheck) -> CompiledProcess:
    """Validate and compile one BPMN file; raise InvalidBpmn listing every error."""
    context = CheckContext(lambda key, lane: ["?"] if lane_has_groups(key, lane) else [])
    compiled, findings = check_bpmn(data, filename, context)
    if compiled is None:
        raise InvalidBpmn([f for f in findings if f.is_error])
    return compiled


def _with_lane_hints(
    problems: list[BpmnProblem],
    process: etree._Element,
    lane_hint: Callable[[str, str], str | None],
) -> list[BpmnProblem]:
    """A task whose lane has no groups, told why where lane-groups.toml suggests it."""
    lanes = lanes_of_nodes(process)
    key = process.get("id") or ""
    out = []
    for problem in problems:
        lane = lanes.get(problem.element or "") if problem.code == "lanes.no-groups" else None
        hint = lane_hint(key, lane) if lane else None
        out.append(replace(problem, message=f"{problem.message}; {hint}") if hint else problem)
    return out


def check_bpmn(
    data: bytes, filename: str, context: CheckContext
) -> tuple[CompiledProcess | None, list[BpmnProblem]]:
    """Every finding of one BPMN file, errors and warnings (BpmnProblem.severity), and the
    compiled process when there is no error."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        # The stored model is text, and the Modeler writes UTF-8; an XML declaration naming
        # another encoding would be read by the parser but not stored as written.
        return None, [
            BpmnProblem(
                "the file is not UTF-8 encoded",
                filename,
                code="structure.xml",
                hint="save it as UTF-8 (Camunda Modeler always does)",
            )
        ]
    try:
        root = parse_xml(data, filename)
    except InvalidBpmn as exc:
        return None, [replace(p, code="structure.xml") for p in exc.problems]
    size = sum(1 for _ in root.iter(f"{{{BPMN_NS}}}*"))
    if size > MAX_BPMN_ELEMENTS:
        return None, [
            BpmnProblem(
                f"the file holds {size:,} BPMN elements; the service takes at most "
                f"{MAX_BPMN_ELEMENTS:,} in one file",
                filename,
                root.sourceline,
                code="structure.size",
                hint="split it into processes of their own, each in its own file, that start "
                "one another with message events",
            )
        ]
    schema = _xsd()
    if not schema.validate(root):
        at_line = _elements_by_line(root)
        return None, [_schema_problem(root, e, filename, at_line) for e in schema.error_log][:50]
    findings = check_layout(root, filename)
    problems, process = check_rules(root, filename, context.lane_has_groups)
    starters: Any = None
    if process is not None and context.lane_hint is not None:
        problems = _with_lane_hints(problems, process, context.lane_hint)
    if process is not None:
        problems.extend(length_problems(root, process, filename))
        problems.extend(_property_expression_problems(process, filename))
        problems.extend(analyst_findings(root, process, filename, context))
        problems.extend(data_flow_findings(root, process, filename))
        problems.extend(form_type_findings(process, filename))
        problems.extend(reachability_findings(process, filename))
        problems.extend(gateway_pair_findings(process, filename))
        problems.extend(limit_path_findings(process, filename))
        problems.extend(_prepare_timers(root, filename))
        starters, starter_problems = _starters(process, filename)
        problems.extend(starter_problems)
    findings = _ordered(problems + findings)
    if process is None or any(f.is_error for f in findings):
        return None, findings
    key = process.get("id")
    try:
        spec, subprocess_specs = call_deep(
            _element_count(process), lambda: _parse_specs(root, filename, key)
        )
    except ValidationException as exc:
        line = exc.line_number if isinstance(exc.line_number, int) else None
        if not line and exc.id:
            # SpiffWorkflow names the element but not always its line: the analyst needs both.
            found = root.xpath("//*[@id=$id]", id=exc.id)
            line = found[0].sourceline if found else None
        message = re.sub(r"\.+(\s*\.)*\s*$", "", str(exc).strip()) or str(exc)
        return None, _ordered(
            [*findings, BpmnProblem(message, filename, line, exc.id or None, "structure.engine")]
        )
    except (SpiffWorkflowException, ValueError, KeyError, AttributeError, IndexError) as exc:
        message = f"the engine could not parse the process: {exc}"
        return None, _ordered([*findings, BpmnProblem(message, filename, code="structure.engine")])
    spec_json = call_deep(_element_count(process), lambda: spec_to_json(spec, subprocess_specs))
    compiled = CompiledProcess(
        key=key,
        name=process.get("name"),
        spec_json=spec_json,
        start_form=_start_form(process),
        message_starts=_message_starts(root, process),
        starters=starters,
    )
    return compiled, findings


# The schema's words for an id that another element has already (ids are xs:ID).
_ID_USED_AGAIN = re.compile(
    r"attribute 'id': '(?P<id>[^']*)' is not a valid value of the atomic type 'xs:ID'"
)


def _schema_problem(
    root: etree._Element, error: Any, filename: str, at_line: dict[int, str]
) -> BpmnProblem:
    """A schema error as a finding; an id used twice is said so, with the first one's line."""
    used_again = _ID_USED_AGAIN.search(error.message)
    if used_again:
        element_id = used_again["id"]
        holders = root.xpath("//*[@id=$id]", id=element_id)
        first = next((h.sourceline for h in holders if h.sourceline != error.line), None)
        if first is not None:
            return id_used_again(element_id, filename, error.line, first)
    return BpmnProblem(
        f"BPMN 2.0 schema: {_prefixed(error.message)}",
        filename,
        error.line,
        at_line.get(error.line),
        code="structure.schema",
        hint="the file is not BPMN 2.0 as the standard defines it; open and save it in "
        "Camunda Modeler, or fix the line",
    )


def _elements_by_line(root: etree._Element) -> dict[int, str]:
    """The id of the element (or the nearest one around it with an id) that starts on each line:
    where a schema error is, for the workspace to mark it on the diagram."""
    found: dict[int, str] = {}
    for el in root.iter():
        if isinstance(el.tag, str) and el.sourceline and el.sourceline not in found:
            owner = owner_of(el).get("id")
            if owner:
                found[el.sourceline] = owner
    return found


def _prefixed(message: str) -> str:
    """The schema names elements as {namespace}name; analysts read them as the file writes them
    (bpmn:extensionElements), and the list of what was expected stays readable."""
    for prefix, uri in NSMAP.items():
        message = message.replace(f"{{{uri}}}", f"{prefix}:")
    return message


def _ordered(findings: list[BpmnProblem]) -> list[BpmnProblem]:
    """Errors first, then by line: what an analyst fixes first comes first."""
    return sorted(findings, key=lambda f: (not f.is_error, f.line or 0, f.code, f.element or ""))


def _property_expression_problems(process: etree._Element, filename: str) -> list[BpmnProblem]:
    """A throw event's `businessKey` property given as ${...} is checked like every other
    expression at deploy (it used to fail only when the event was thrown)."""
    problems: list[BpmnProblem] = []
    for element in process.xpath(".//*[bpmn:extensionElements]", namespaces=NSMAP):
        value = read_extensions(element).get("properties", {}).get("businessKey")
        if not isinstance(value, str) or not value.strip().startswith("${"):
            continue
        problems.extend(
            BpmnProblem(f"businessKey: {reason}", filename, element.sourceline, element.get("id"))
            for reason in EVALUATOR.check(value)
        )
    return problems


def _parse_specs(root: etree._Element, filename: str, key: str) -> tuple[Any, Any]:
    parser = ServiceBpmnParser()
    parser.add_bpmn_xml(root, filename=filename)
    return parser.get_spec(key), parser.get_subprocess_specs(key)


def _element_count(process: etree._Element) -> int:
    return sum(1 for _ in process.iter())


def _starters(
    process: etree._Element, filename: str
) -> tuple[dict[str, list[str]] | None, list[BpmnProblem]]:
    """Who may start the process, as Camunda Modeler writes it on the process element."""
    found: dict[str, list[str]] = {}
    problems: list[BpmnProblem] = []
    for kind, attribute in (
        ("groups", "candidateStarterGroups"),
        ("users", "candidateStarterUsers"),
    ):
        value = process.get(f"{{{CAMUNDA_NS}}}{attribute}")
        if value is None:
            continue
        if "${" in value or "#{" in value:
            problems.append(
                BpmnProblem(
                    f"camunda:{attribute} must list {kind} separated by commas; expressions "
                    f"are not supported there",
                    filename,
                    process.sourceline,
                    process.get("id"),
                )
            )
        found[kind] = listed_names(value)
    if not found:
        return None, problems
    return {"groups": found.get("groups", []), "users": found.get("users", [])}, problems


def _prepare_timers(root: etree._Element, filename: str) -> list[BpmnProblem]:
    """SpiffWorkflow evaluates timer text as an expression: quote ISO literals, unwrap ${expr}."""
    problems: list[BpmnProblem] = []
    for node in root.xpath(
        ".//bpmn:timerEventDefinition/*[self::bpmn:timeDate or self::bpmn:timeDuration "
        "or self::bpmn:timeCycle]",
        namespaces=NSMAP,
    ):
        text = (node.text or "").strip()
        owner = owner_of(node)
        if text.startswith("${") and text.endswith("}"):
            node.text = text[2:-1].strip()
            reasons = EVALUATOR.check(node.text)
        elif _is_timer_literal(local_name(node.tag), text):
            node.text = repr(text)
            kind = local_name(node.tag)
            reasons = (
                _cycle_problems(text)
                if kind == "timeCycle"
                else _duration_problems(text)
                if kind == "timeDuration"
                else []
            )
        else:
            reasons = [
                f"{local_name(node.tag)} {text!r} must be an ISO-8601 literal (P5D, "
                f"2026-01-01T09:00:00+08:00, R3/PT1H) or an expression ${{...}}"
            ]
        problems.extend(
            BpmnProblem(
                f"timer: {r}",
                filename,
                node.sourceline,
                owner.get("id"),
                "structure.timer",
                "write an ISO-8601 literal (P5D, 2026-01-01T09:00:00+08:00, R3/PT1H) or "
                "${expression}",
            )
            for r in reasons
        )
    return problems


def _duration_problems(text: str) -> list[str]:
    """What the engine would refuse when the timer starts (clock.after_duration): a duration
    longer than any date it can hold."""
    try:
        clock.after_duration(text)
    except (ValueError, TypeError, OverflowError) as exc:
        return [f"timeDuration {text!r}: {exc}"]
    return []


def _cycle_problems(text: str) -> list[str]:
    """What the engine would refuse when the cycle starts (clock.recurring_interval): a zero or
    sub-second period, or an interval it cannot read."""
    try:
        clock.recurring_interval(text)
    except (ValueError, TypeError, OverflowError) as exc:
        return [f"timeCycle {text!r}: {exc}"]
    return []


def _is_timer_literal(kind: str, text: str) -> bool:
    if kind == "timeDuration":
        return bool(ISO_DURATION.match(text))
    if kind == "timeCycle":
        return bool(ISO_CYCLE.match(text))
    return is_due_value(text) and not ISO_DURATION.match(text)


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
