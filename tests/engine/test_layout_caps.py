"""The layout checks stay bounded on diagrams that pile shapes on top of one another: at most CAP
findings of a code are listed and one summary counts the rest; shapes at the same bounds are
compared once; the pairwise comparisons stop at MAX_COMPARISONS (docs/reliability.md)."""

from __future__ import annotations

import time

from bpmn_service.engine.bpmn_xml import parse_xml
from bpmn_service.engine.diagram import read_diagram
from bpmn_service.engine.diagram_checks import (
    CAP,
    MAX_COMPARISONS,
    _segment_hits,
    check_layout,
)

NS = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
    'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
    'xmlns:di="http://www.omg.org/spec/DD/20100524/DI"'
)


def pile(
    n: int,
    *,
    shift: float = 0.0,
) -> bytes:
    """start → n tasks in a chain, every task drawn at (about) the same place, every flow drawn
    as a big Z across all of them; `shift` moves each task by that much more than the last."""
    nodes = ['<bpmn:startEvent id="s"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>']
    shapes = [
        '<bpmndi:BPMNShape id="s_di" bpmnElement="s">'
        '<dc:Bounds x="0" y="0" width="36" height="36"/></bpmndi:BPMNShape>'
    ]
    flows, edges = [], []
    for i in range(1, n + 1):
        nodes.append(
            f'<bpmn:task id="t{i}"><bpmn:incoming>f{i - 1}</bpmn:incoming>'
            f"<bpmn:outgoing>f{i}</bpmn:outgoing></bpmn:task>"
        )
        x = 100 + i * shift
        shapes.append(
            f'<bpmndi:BPMNShape id="t{i}_di" bpmnElement="t{i}">'
            f'<dc:Bounds x="{x}" y="100" width="100" height="80"/></bpmndi:BPMNShape>'
        )
    nodes.append(f'<bpmn:endEvent id="e"><bpmn:incoming>f{n}</bpmn:incoming></bpmn:endEvent>')
    shapes.append(
        '<bpmndi:BPMNShape id="e_di" bpmnElement="e">'
        '<dc:Bounds x="5000" y="5000" width="36" height="36"/></bpmndi:BPMNShape>'
    )
    ids = ["s", *(f"t{i}" for i in range(1, n + 1)), "e"]
    for i in range(n + 1):
        flows.append(
            f'<bpmn:sequenceFlow id="f{i}" sourceRef="{ids[i]}" targetRef="{ids[i + 1]}"/>'
        )
        edges.append(
            f'<bpmndi:BPMNEdge id="f{i}_di" bpmnElement="f{i}"><di:waypoint x="0" y="0"/>'
            f'<di:waypoint x="5000" y="5000"/><di:waypoint x="0" y="5000"/>'
            f'<di:waypoint x="5000" y="0"/></bpmndi:BPMNEdge>'
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions {NS} id="d" '
        f'targetNamespace="http://qa/"><bpmn:process id="p" isExecutable="true">'
        f'{"".join(nodes)}{"".join(flows)}</bpmn:process><bpmndi:BPMNDiagram id="dd">'
        f'<bpmndi:BPMNPlane id="pl" bpmnElement="p">{"".join(shapes)}{"".join(edges)}'
        f"</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>"
    ).encode()


def _check(data: bytes) -> tuple[list, float]:  # type: ignore[type-arg]
    root = parse_xml(data, "pile.bpmn")
    began = time.perf_counter()
    findings = check_layout(root, "pile.bpmn")
    return findings, time.perf_counter() - began


def test_a_pile_lists_the_first_findings_and_counts_the_rest() -> None:
    n = 300  # each of the 301 flows crosses the 299 tasks it does not connect
    findings, _seconds = _check(pile(n))
    through = [f for f in findings if f.code == "layout.flow-through-shape"]
    assert len(through) == CAP + 1
    summary = through[-1]
    assert summary.line is None and summary.severity == "warning"
    total = _brute_force_crossings(pile(n))
    assert total > 80_000
    assert f"and {total - CAP:,} more layout.flow-through-shape warnings" in summary.message
    assert "only the first 50 are listed" in summary.message


def _brute_force_crossings(data: bytes) -> int:
    """Every flow segment against every shape, as the check did before it grouped piles."""
    diagram = read_diagram(parse_xml(data, "pile.bpmn"))
    count = 0
    for c in diagram.connections.values():
        edge = diagram.edges[c.id]
        for element_id, shape in diagram.shapes.items():
            if element_id in (c.source, c.target):
                continue
            pairs = zip(edge.waypoints, edge.waypoints[1:], strict=False)
            if any(_segment_hits(a, b, shape.bounds) for a, b in pairs):
                count += 1
    return count


def test_a_pile_of_1500_is_checked_in_well_under_a_second() -> None:
    findings, seconds = _check(pile(1500))
    assert len(findings) == CAP + 1
    assert seconds < 2.0  # 36 of 44 s before, for 300 tasks


def test_shapes_shifted_apart_stop_at_the_comparison_budget() -> None:
    # 1,500 tasks 0.01 px apart: no two at the same bounds, every flow crosses every task.
    findings, seconds = _check(pile(1500, shift=0.01))
    [summary] = [f for f in findings if f.line is None]
    assert summary.code == "layout.flow-through-shape"
    assert f"stopped after {MAX_COMPARISONS:,} comparisons" in summary.message
    assert len(findings) == CAP + 1
    assert seconds < 5.0


def test_a_plain_diagram_is_unchanged() -> None:
    findings, _ = _check(pile(3))
    assert len(findings) == _brute_force_crossings(pile(3))  # no summary: under the cap
    assert all(f.line is not None for f in findings)
