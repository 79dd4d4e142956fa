"""The check that a declared time limit stops on every path: a clock whose stop is not on a path
runs on along it until the case ends, breaches and escalates (督办) although nobody is late.

A limit's clock starts when one of its `timeLimit.start` elements completes and stops when one
of its `timeLimit.stop` / `timeLimit.stopAtClaim` elements completes (or is claimed); see
declared_limits.py. From each start, this looks for a run of the case that reaches the end of
the process without passing a stop, and reports one such path as a warning. A run is what
BPMN's tokens do:

* an exclusive, inclusive or event-based gateway takes one of its outgoing flows (an inclusive
  one may take only that one); an interrupting boundary event may leave its task instead;
* a parallel gateway takes all of them, so its run passes a stop if any of its branches does;
* a non-interrupting boundary event (a reminder) leaves the task running on its own path, so
  it cannot keep the clock from stopping there, and is not followed;
* a subprocess is entered at its start and left by its flows once its content ends; an
  interrupting event subprocess ends the case, a non-interrupting one only its own run.
"""

from __future__ import annotations

from collections import deque

from lxml import etree

from bpmn_service.errors import BpmnProblem

from .bpmn_xml import BPMN_NS, local_name
from .declared_limits import DeclaredLimit, LimitUse, declarations_in
from .diagram import SUBPROCESS_KINDS
from .reachability import flow_nodes

CODE = "structure.time-limit-path"
_EXIT = "\x00exit"  # suffix of the node where a subprocess is left (its content has ended)
_END = "\x00end"  # the end of the case
_SHOWN = 12  # elements of a path shown in full; a longer one is shortened in the middle


class _Graph:
    """The flow nodes of a process as the walk sees them: successors, and which take all."""

    def __init__(self, process: etree._Element) -> None:
        self.succ: dict[str, list[str]] = {_END: []}
        self.all_of: set[str] = set()  # parallel splits: a run takes every successor
        self.nodes = nodes = {str(el.get("id")): el for el in flow_nodes(process)}
        flows: dict[str, list[str]] = {}
        for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
            source, target = flow.get("sourceRef"), flow.get("targetRef")
            if source in nodes and target in nodes:
                flows.setdefault(str(source), []).append(self.entry(nodes[target]))
        for node_id, el in nodes.items():
            node = str(node_id)
            kind = local_name(el.tag)
            out = self.exit(el)
            self.succ.setdefault(out, []).extend(flows.get(node, []))
            if kind in SUBPROCESS_KINDS:
                inner = flow_nodes(el, deep=False)
                starts = [c for c in inner if local_name(c.tag) == "startEvent"]
                self.succ.setdefault(node, []).extend(str(c.get("id")) for c in starts)
            if kind == "parallelGateway" and len(flows.get(node, [])) > 1:
                self.all_of.add(node)
            if kind == "boundaryEvent" and el.get("cancelActivity") != "false":
                host = nodes.get(el.get("attachedToRef") or "")
                if host is not None:
                    self.succ.setdefault(str(host.get("id")), []).append(node)
        for el in nodes.values():
            out = self.exit(el)
            if not self.succ.get(out):  # nothing leaves it: its scope (or the case) ends here
                self.succ[out] = [self._scope_end(el, process)]
        self.preds: dict[str, list[str]] = {}
        for node, nexts in self.succ.items():
            for nxt in dict.fromkeys(nexts):
                self.preds.setdefault(nxt, []).append(node)

    @staticmethod
    def entry(el: etree._Element) -> str:
        return str(el.get("id"))

    @staticmethod
    def exit(el: etree._Element) -> str:
        node = str(el.get("id"))
        return node + _EXIT if local_name(el.tag) in SUBPROCESS_KINDS else node

    def _scope_end(self, el: etree._Element, process: etree._Element) -> str:
        scope = el.getparent()
        if scope is None or scope is process or local_name(scope.tag) not in SUBPROCESS_KINDS:
            return _END
        if scope.get("triggeredByEvent") == "true":
            starts = scope.iterfind(f"{{{BPMN_NS}}}startEvent")
            interrupting = any(s.get("isInterrupting") != "false" for s in starts)
            return _END if interrupting else _NOWHERE
        return str(scope.get("id")) + _EXIT


_NOWHERE = "\x00nowhere"  # the end of a non-interrupting event subprocess's run: not the case's


def _unstopped(graph: _Graph, start: str, stops: set[str]) -> list[str] | None:
    """The shortest run from `start` (after it completes) to the end of the case that passes
    no stop, as element ids; None when every run passes one."""
    # Backwards from the end: a node escapes (reaches the end without a stop) when one of its
    # successors does, a parallel split when all of them do. Breadth first, so that `when`
    # (steps to the end) falls along every path the walk below takes.
    needed = {n: len(set(nexts)) if n in graph.all_of else 1 for n, nexts in graph.succ.items()}
    when: dict[str, int] = {_END: 0}
    queue = deque([_END])
    while queue:
        node = queue.popleft()
        for pred in graph.preds.get(node, ()):
            if pred in when or pred in stops or pred == _NOWHERE:
                continue
            needed[pred] -= 1
            if needed[pred] <= 0:
                when[pred] = when[node] + 1
                queue.append(pred)
    if start not in when and not (start in stops and _escapes_after(graph, start, when)):
        return None
    path = [start]
    node = min((n for n in graph.succ[start] if n in when), key=lambda n: when[n])
    while node != _END:
        path.append(node)
        node = min((n for n in graph.succ[node] if n in when), key=lambda n: when[n])
    return [p.removesuffix(_EXIT) for p in path if not p.endswith(_EXIT) or p == path[0]]


def _escapes_after(graph: _Graph, node: str, when: dict[str, int]) -> bool:
    """Whether the run after `node` (a start that is also a stop) escapes."""
    nexts = set(graph.succ.get(node, ()))
    taken = nexts & when.keys()
    return bool(taken) and (node not in graph.all_of or taken == nexts)


def _shown(path: list[str]) -> str:
    if len(path) > _SHOWN:
        path = [*path[:6], "…", *path[-4:]]
    return " → ".join(path)


def limit_path_findings(process: etree._Element, filename: str) -> list[BpmnProblem]:
    """A warning for each start of a declared limit from which some run of the case reaches
    its end without passing a stop of that limit."""
    found = declarations_in(process, filename)
    if not found.limits:
        return []
    graph = _Graph(process)
    findings: list[BpmnProblem] = []
    for limit in found.limits.values():
        for start in dict.fromkeys(limit.starts):
            finding = _start_finding(graph, limit, start, found.uses, filename)
            if finding is not None:
                findings.append(finding)
    return findings


def _start_finding(
    graph: _Graph,
    limit: DeclaredLimit,
    start: str,
    uses: tuple[LimitUse, ...],
    filename: str,
) -> BpmnProblem | None:
    by_id = graph.nodes
    element = by_id.get(start)
    if element is None:
        return None
    stops = {graph.exit(by_id[s]) if s in by_id else s for s in limit.stops}
    path = _unstopped(graph, graph.exit(element), stops)
    if path is None:
        return None
    line = next(
        (
            u.line
            for u in uses
            if (u.limit_id, u.element, u.role) == (limit.limit_id, start, "start")
        ),
        element.sourceline,
    )
    stop_names = ", ".join(dict.fromkeys(limit.stops))
    return BpmnProblem(
        f"time limit {limit.limit_id} starts at {start}, but a case can go from there to its "
        f"end without passing a step that stops it ({stop_names}): {_shown(path)}, where the "
        f"case ends with the clock still running: it breaches and escalates (督办) though "
        f"nobody is late",
        filename,
        line,
        start,
        CODE,
        hint=f"add timeLimit.stop = {limit.limit_id} (or timeLimit.stopAtClaim) in the "
        f"Extension properties of the step on that path where the clock should stop, as on "
        f"{stop_names}",
        severity="warning",
    )
