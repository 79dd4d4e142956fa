"""Gateways that join branches with the wrong kind of gateway for how they were split.

* A parallel split whose branches meet at an exclusive gateway: an exclusive gateway passes
  every token that arrives, so the steps after it run once per branch (a task created twice).
* An exclusive split whose branches meet at a parallel gateway: the join waits for a token on
  every incoming flow, but the split sent the case down only one branch, so the case waits there
  for good.
* An inclusive split whose branches meet at a parallel gateway (the case waits for good when a
  condition does not hold) or at an exclusive one (the steps after it run once per branch taken).

The analysis is deliberately narrow, so that it says nothing it is not sure of. Per scope (the
process, each subprocess), for a join gateway (two or more incoming flows) each incoming flow is
followed backwards through steps with exactly one flow in and one out, and through blocks already
known to be a matched split and join (an exclusive split merged by an exclusive gateway, and so
on), until it reaches a split gateway. Only when every incoming flow comes, along such a single
path, from its own outgoing flow of one and the same split are the two compared. Anything else on
the way (a step with a boundary event, an event-based gateway, a loop, a step several flows enter,
a start or link event, an inclusive join after another kind of split) ends the walk with no
finding: along those paths how many tokens arrive is not certain.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from bpmn_service.errors import BpmnProblem

from .bpmn_xml import BPMN_NS, local_name
from .diagram import SUBPROCESS_KINDS

CODE = "structure.gateway-mismatch"
_SCOPES = SUBPROCESS_KINDS | {"process"}
_PAIRED = frozenset({"exclusiveGateway", "parallelGateway", "inclusiveGateway"})
_GATEWAYS = _PAIRED | {"eventBasedGateway", "complexGateway"}
# Steps a token passes through once, in at one flow and out at one.
_STEPS = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "serviceTask",
        "receiveTask",
        "sendTask",
        "businessRuleTask",
        "subProcess",
        "transaction",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
    }
)
_KIND_NAMES = {
    "exclusiveGateway": "exclusive",
    "parallelGateway": "parallel",
    "inclusiveGateway": "inclusive",
}


@dataclass(frozen=True, slots=True)
class _Flow:
    id: str
    source: str
    target: str


class _Scope:
    """The flow nodes directly in one process or subprocess and the flows between them."""

    def __init__(self, scope: etree._Element) -> None:
        self.nodes: dict[str, etree._Element] = {}
        for child in scope:
            if isinstance(child.tag, str) and child.get("id"):
                if local_name(child.tag) != "sequenceFlow":
                    self.nodes[str(child.get("id"))] = child
        self.incoming: dict[str, list[_Flow]] = {n: [] for n in self.nodes}
        self.outgoing: dict[str, list[_Flow]] = {n: [] for n in self.nodes}
        for el in scope.iterchildren(f"{{{BPMN_NS}}}sequenceFlow"):
            source, target = el.get("sourceRef"), el.get("targetRef")
            if source in self.nodes and target in self.nodes:
                flow = _Flow(str(el.get("id")), str(source), str(target))
                self.outgoing[flow.source].append(flow)
                self.incoming[flow.target].append(flow)
        self.watched = {
            str(el.get("attachedToRef")) for el in scope.iterchildren(f"{{{BPMN_NS}}}boundaryEvent")
        }
        # The split each join was matched with (None: not a matched block), as worked out.
        self.blocks: dict[str, str | None] = {}
        self.open: set[str] = set()

    def kind(self, node: str) -> str:
        return local_name(self.nodes[node].tag)

    def origin(self, flow: _Flow) -> tuple[str, str] | None:
        """The split gateway and its outgoing flow that `flow` comes from along one single
        path, or None when that is not certain."""
        seen: set[str] = set()
        came = flow
        node = flow.source
        while node not in seen:
            seen.add(node)
            kind = self.kind(node)
            ins, outs = self.incoming[node], self.outgoing[node]
            if kind in _GATEWAYS and len(outs) >= 2:
                return (node, came.id) if kind in _PAIRED else None
            if len(outs) != 1 or node in self.watched:
                return None
            if kind in _PAIRED and len(ins) >= 2:
                split = self.block(node)  # a matched block: go on before its split
                if split is None or len(self.incoming[split]) != 1:
                    return None
                came = self.incoming[split][0]
                node = came.source
                continue
            if (kind in _STEPS or kind in _PAIRED) and len(ins) == 1:
                if kind in _STEPS and _is_link(self.nodes[node]):
                    return None
                came = ins[0]
                node = came.source
                continue
            return None
        return None  # a loop

    def pair(self, join: str) -> tuple[str, list[str]] | None:
        """The split every incoming flow of `join` comes from, each along its own outgoing flow
        of it, and those outgoing flows; None when there is no such split."""
        origins = [self.origin(flow) for flow in self.incoming[join]]
        if any(o is None for o in origins):
            return None
        splits = {o[0] for o in origins if o is not None}
        used = [o[1] for o in origins if o is not None]
        if len(splits) != 1 or len(set(used)) != len(used):
            return None
        return splits.pop(), used

    def block(self, join: str) -> str | None:
        """The split of the block that `join` closes, when it is the same kind of gateway and
        joins every branch of it (the block then passes one token, like one step)."""
        if join in self.blocks:
            return self.blocks[join]
        if join in self.open:
            return None  # a loop through the join itself
        self.open.add(join)
        found = self.pair(join)
        self.open.discard(join)
        split = None
        if found is not None:
            candidate, used = found
            outs = {f.id for f in self.outgoing[candidate]}
            if self.kind(candidate) == self.kind(join) and outs == set(used):
                split = candidate
        self.blocks[join] = split
        return split


def _is_link(el: etree._Element) -> bool:
    return el.find(f"{{{BPMN_NS}}}linkEventDefinition") is not None


def _named(el: etree._Element) -> str:
    name = (el.get("name") or "").strip()
    return f"{el.get('id')} {name!r}" if name else str(el.get("id"))


def gateway_pair_findings(process: etree._Element, filename: str) -> list[BpmnProblem]:
    findings: list[BpmnProblem] = []
    scopes = [process] + [
        el
        for el in process.iter()
        if isinstance(el.tag, str) and el is not process and local_name(el.tag) in _SCOPES
    ]
    for scope_el in scopes:
        scope = _Scope(scope_el)
        for join, el in scope.nodes.items():
            kind = scope.kind(join)
            if kind not in ("exclusiveGateway", "parallelGateway"):
                continue
            if len(scope.incoming[join]) < 2:
                continue
            found = scope.pair(join)
            if found is None:
                continue
            split_id, used = found
            split = scope.nodes[split_id]
            split_kind = scope.kind(split_id)
            if kind == split_kind or split_kind not in _PAIRED:
                continue
            findings.append(_finding(el, split, kind, used, filename))
    return findings


def _finding(
    join: etree._Element, split: etree._Element, kind: str, used: list[str], filename: str
) -> BpmnProblem:
    split_kind = _KIND_NAMES[local_name(split.tag)]
    at = f"the {split_kind} gateway {_named(split)} (line {split.sourceline})"
    branches = ", ".join(used)
    if split_kind == "inclusive":
        return _after_inclusive(join, split, kind, at, branches, filename)
    if kind == "exclusiveGateway":
        message = (
            f"the exclusive gateway {_named(join)} merges the branches of {at}, which all run: "
            f"an exclusive gateway passes each branch that arrives ({branches}), so the steps "
            f"after it run once per branch ({len(used)} times)"
        )
        hint = (
            f"use a parallel gateway to join the branches of {split.get('id')}: make "
            f"{join.get('id')} a parallel gateway (wrench menu), so that it waits for every "
            "branch and the steps after it run once"
        )
    else:
        message = (
            f"the parallel gateway {_named(join)} waits for every branch of {at} "
            f"({branches}), but that gateway sends a case down only one of them: the case "
            f"waits at {join.get('id')} for good"
        )
        hint = (
            f"use an exclusive gateway to merge the branches of {split.get('id')}: make "
            f"{join.get('id')} an exclusive gateway (wrench menu)"
        )
    return BpmnProblem(message, filename, join.sourceline, join.get("id"), CODE, hint, "warning")


def _after_inclusive(
    join: etree._Element, split: etree._Element, kind: str, at: str, branches: str, filename: str
) -> BpmnProblem:
    """An inclusive split sends a case down each branch whose condition holds: a parallel join
    waits for all of them, an exclusive merge passes each one that comes."""
    if kind == "parallelGateway":
        message = (
            f"the parallel gateway {_named(join)} waits for every branch of {at} ({branches}), "
            "but that gateway sends a case only down the branches whose conditions hold: when "
            f"one does not, the case waits at {join.get('id')} for good"
        )
    else:
        message = (
            f"the exclusive gateway {_named(join)} merges the branches of {at} ({branches}): "
            "when the conditions of several hold, each passes, and the steps after it run once "
            "per branch taken"
        )
    hint = (
        f"use an inclusive gateway to join the branches of {split.get('id')}: make "
        f"{join.get('id')} an inclusive gateway (wrench menu), which waits for the branches "
        "that were taken"
    )
    return BpmnProblem(message, filename, join.sourceline, join.get("id"), CODE, hint, "warning")
