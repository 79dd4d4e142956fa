"""Which steps a case can reach: the check that catches a deleted or never-drawn sequence flow.

Deleting one flow in the Modeler leaves a valid BPMN file: the step before it now ends the case
(an implicit end), and the step after it is never reached. Neither shows until a case gets
there, so the check reports both before deploy: a flow node that no path from a start event
reaches is an error (its work would never be offered to anyone), a gateway no flow leaves is an
error (the case would stop there), and another step no flow leaves is a warning (BPMN ends the
path there, which is legal, but usually a flow is missing).
"""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from bpmn_service.errors import BpmnProblem

from .bpmn_xml import BPMN_NS, local_name
from .deploy_rules import FLOW_NODE_TAGS
from .diagram import SUBPROCESS_KINDS

_SCOPES = SUBPROCESS_KINDS | {"process"}
_GATEWAYS = frozenset(
    {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway"}
)
# Where a path ends by design.
_ENDS = frozenset({"endEvent"})
HINT_UNREACHABLE = (
    "a flow into it was probably deleted: draw it again from the step before, or delete the step"
)
HINT_DEAD_END = "draw a sequence flow from it to the next step or to an end event"


def reachability_findings(process: etree._Element, filename: str) -> list[BpmnProblem]:
    nodes = {el.get("id"): el for el in flow_nodes(process)}
    successors: dict[str, list[str]] = {node: [] for node in nodes}
    incoming: set[str] = set()
    leaves: set[str] = set()  # the steps a sequence flow leaves
    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if source in nodes:
            leaves.add(str(source))  # a flow to a deleted element is reported at the flow
        if source in nodes and target in nodes:
            successors[source].append(target)
            incoming.add(target)
    for node, el in nodes.items():
        kind = local_name(el.tag)
        if kind == "boundaryEvent" and el.get("attachedToRef") in nodes:
            successors[el.get("attachedToRef")].append(node)
        if kind in _SCOPES:
            children = [c.get("id") for c in flow_nodes(el, deep=False)]
            starts = [c for c in children if local_name(nodes[c].tag) == "startEvent"]
            # A subprocess without a start event begins at its steps that no flow enters.
            successors[node].extend(
                starts or [c for c in children if c not in incoming and not _is_boundary(nodes[c])]
            )
    # Link events are refused (deploy_rules.py: SpiffWorkflow does not run them), so a throw
    # link does not lead to its catch link here either.

    roots = list(_roots(process, nodes))
    if not any(local_name(nodes[r].tag) == "startEvent" for r in roots):
        return [
            _finding(
                process,
                filename,
                "structure.no-start",
                "the process has no start event, so no case can start",
                "draw a start event and a sequence flow from it to the first step",
                "error",
            )
        ]
    reached = _closure(roots, successors)
    first_unreached = _first_unreached(nodes, successors, reached, incoming)
    after = _closure(first_unreached, successors) - reached

    findings: list[BpmnProblem] = []
    for node in first_unreached:
        el = nodes[node]
        if local_name(el.tag) == "intermediateCatchEvent" and _link_name(el) is not None:
            continue  # refused as a link event, with what to draw instead: no second error
        why = (
            "its incoming flows come only from steps that are unreachable themselves"
            if node in incoming
            else "no sequence flow leads to it"
        )
        more = len(_closure([node], successors) & after) - 1
        then = f" (nor the {more} steps after it)" if more > 0 else ""
        findings.append(
            _finding(
                el,
                filename,
                "structure.unreachable",
                f"no path from a start event reaches {_named(el)}: {why}, so no case ever gets "
                f"there{then}",
                HINT_UNREACHABLE,
                "error",
            )
        )
    for node, el in nodes.items():
        kind = local_name(el.tag)
        if node not in reached:
            continue
        if node in leaves or kind in _ENDS or _is_link_throw(el):
            continue
        if kind in _GATEWAYS:
            findings.append(
                _finding(
                    el,
                    filename,
                    "structure.dead-end",
                    f"no sequence flow leaves {_named(el)}: a case would stop there",
                    HINT_DEAD_END,
                    "error",
                )
            )
        elif kind not in _SCOPES or el.get("triggeredByEvent") != "true":
            findings.append(
                _finding(
                    el,
                    filename,
                    "structure.dead-end",
                    f"no sequence flow leaves {_named(el)}: this path of the case ends there "
                    f"without an end event",
                    HINT_DEAD_END,
                    "warning",
                )
            )
    return findings


def _closure(starts: list[str], successors: dict[str, list[str]]) -> set[str]:
    reached: set[str] = set()
    queue = list(starts)
    while queue:
        node = queue.pop()
        if node not in reached:
            reached.add(node)
            queue.extend(successors[node])
    return reached


def _first_unreached(
    nodes: dict[str | None, etree._Element],
    successors: dict[str, list[str]],
    reached: set[str],
    incoming: set[str],
) -> list[str]:
    """The unreachable steps to report: each one no flow enters, and for a loop of steps that
    only enter each other, its first step in the file; the steps after them are not repeated."""
    unreached = [
        str(n)
        for n in nodes
        if n not in reached and not _inside_unreached(nodes[n], nodes, reached)
    ]
    first = [n for n in unreached if n not in incoming and not _is_boundary(nodes[n])]
    covered = _closure(first, successors)
    for node in unreached:
        if node not in covered and not _is_boundary(nodes[node]):
            first.append(node)
            covered |= _closure([node], successors)
    return first


def _inside_unreached(
    el: etree._Element, nodes: dict[str | None, etree._Element], reached: set[str]
) -> bool:
    """Inside a subprocess that is not reached itself (that one is reported)."""
    parent = el.getparent()
    return parent is not None and parent.get("id") in nodes and parent.get("id") not in reached


def flow_nodes(scope: etree._Element, deep: bool = True) -> Iterator[etree._Element]:
    """The flow nodes of a process or subprocess, those of its subprocesses too when `deep`."""
    for el in scope:
        if not isinstance(el.tag, str) or etree.QName(el.tag).namespace != BPMN_NS:
            continue
        if el.get("id") and local_name(el.tag) in FLOW_NODE_TAGS:
            yield el
            if deep and local_name(el.tag) in _SCOPES:
                yield from flow_nodes(el)


def _roots(process: etree._Element, nodes: dict[str | None, etree._Element]) -> Iterator[str]:
    """The process's start events, and the event subprocesses (an event starts them)."""
    for node, el in nodes.items():
        parent = el.getparent()
        if parent is process and local_name(el.tag) == "startEvent":
            yield str(node)
        if local_name(el.tag) in _SCOPES and el.get("triggeredByEvent") == "true":
            yield str(node)


def _link_name(el: etree._Element) -> str | None:
    link = el.find(f"{{{BPMN_NS}}}linkEventDefinition")
    return None if link is None else (link.get("name") or "")


def _is_link_throw(el: etree._Element) -> bool:
    return local_name(el.tag) == "intermediateThrowEvent" and _link_name(el) is not None


def _is_boundary(el: etree._Element) -> bool:
    return local_name(el.tag) == "boundaryEvent"


def _named(el: etree._Element) -> str:
    name = (el.get("name") or "").strip()
    kind = _KINDS.get(local_name(el.tag), local_name(el.tag))
    return f"{kind} {name!r}" if name else kind


_KINDS = {
    "userTask": "the user task",
    "manualTask": "the manual task",
    "scriptTask": "the script task",
    "serviceTask": "the service task",
    "receiveTask": "the receive task",
    "task": "the task",
    "callActivity": "the call activity",
    "subProcess": "the subprocess",
    "transaction": "the transaction",
    "startEvent": "the start event",
    "intermediateCatchEvent": "the intermediate event",
    "intermediateThrowEvent": "the intermediate event",
    "boundaryEvent": "the boundary event",
    "exclusiveGateway": "the exclusive gateway",
    "parallelGateway": "the parallel gateway",
    "inclusiveGateway": "the inclusive gateway",
    "eventBasedGateway": "the event-based gateway",
    "endEvent": "the end event",
}


def _finding(
    el: etree._Element, filename: str, code: str, message: str, hint: str, severity: str
) -> BpmnProblem:
    return BpmnProblem(message, filename, el.sourceline, el.get("id"), code, hint, severity)
