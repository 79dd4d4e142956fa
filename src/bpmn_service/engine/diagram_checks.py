"""Layout warnings: what makes a diagram hard to read in Camunda Modeler, found in its BPMNDI.

* a sequence or message flow drawn through a shape it does not connect,
* a boundary event covering the loop / multi-instance marker of its task (the 会签 disappears),
* a label over another label or over a shape,
* a pool, lane, data object, annotation or message flow with no shape in the diagram (flow nodes
  and sequence flows without one are refused on deploy).

None of these changes what the engine runs, so they are warnings. Every lookup goes through a grid
index, so the check is about linear in the size of the file; shapes drawn at the very same bounds
are compared once as a group. A diagram that piles shapes on top of one another could still ask
for a comparison of every flow (or label) with every shape: the comparisons are counted and stop
at MAX_COMPARISONS, and each code lists its first CAP findings and one summary of the rest.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable

from lxml import etree

from bpmn_service.errors import BpmnProblem

from .bpmn_xml import parse_xml
from .diagram import (
    DATA_KINDS,
    DI_NS,
    SUBPROCESS_KINDS,
    Box,
    Connection,
    Diagram,
    DrawnShape,
    Element,
    Point,
    read_diagram,
)
from .spatial import GridIndex
from .text_metrics import external_label_size

FIX = "or run `bpmn-service layout FILE` to redraw the whole diagram"
# A flow may touch a shape's border (it ends there); only a real crossing counts.
INSET = 3.0
LABEL_TOLERANCE = 2.0
MARKER_WIDTH = 14.0
MARKER_HEIGHT = 20.0  # bpmn-js draws markers in the bottom 20 px of an activity
# At most this many findings of one code are listed per file, then one saying how many more.
CAP = 50
# Flow-segment/shape and label/label-or-shape comparisons one file may cost (about 0.5 s).
MAX_COMPARISONS = 300_000


def layout_warning(
    file: str, line: int | None, element: str | None, message: str, hint: str, code: str
) -> BpmnProblem:
    """A layout warning: a finding of severity warning."""
    return BpmnProblem(message, file, line, element, code, hint, "warning")


class _Findings:
    """The findings of one file, at most CAP listed per code (the rest counted), and the
    comparisons the pairwise checks have made against MAX_COMPARISONS."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.listed: list[BpmnProblem] = []
        self.counts: Counter[str] = Counter()
        self.comparisons = 0
        self.stopped: set[str] = set()  # codes whose check ran out of comparisons

    def add(self, code: str, build: Callable[[], BpmnProblem]) -> None:
        """Count a finding of `code`; `build` it only while it is among the listed."""
        self.counts[code] += 1
        if self.counts[code] <= CAP:
            self.listed.append(build())

    def extend(self, findings: Iterable[BpmnProblem]) -> None:
        for finding in findings:
            self.add(finding.code, functools.partial(_same, finding))

    def compare(self, code: str, n: int = 1) -> bool:
        """Spend `n` comparisons for the check of `code`; False once they are used up."""
        self.comparisons += n
        if self.comparisons > MAX_COMPARISONS:
            self.stopped.add(code)
            return False
        return True

    def summaries(self) -> list[BpmnProblem]:
        out = []
        for code, count in sorted(self.counts.items()):
            more = count - CAP
            if more <= 0 and code not in self.stopped:
                continue
            if code in self.stopped:
                what = (
                    f"the {code} check stopped after {MAX_COMPARISONS:,} comparisons of flows, "
                    f"labels and shapes, having found {count:,}"
                    + (f" ({more:,} more than the {CAP} listed)" if more > 0 else "")
                    + ": the diagram draws very many shapes on top of one another or flows "
                    "across them, and may hold more"
                )
            else:
                what = f"and {more:,} more {code} warnings (only the first {CAP} are listed)"
            out.append(
                layout_warning(
                    self.filename,
                    None,
                    None,
                    what,
                    f"redraw the diagram in the Modeler, {FIX}",
                    code,
                )
            )
        return out


def _same(finding: BpmnProblem) -> BpmnProblem:
    return finding


def _describe(element: Element | None, fallback: str) -> str:
    if element is None:
        return fallback
    kind = {
        "participant": "pool",
        "boundaryEvent": "boundary event",
        "sequenceFlow": "sequence flow",
    }.get(element.kind, element.kind)
    if element.kind.endswith("Task") or element.kind == "task":
        kind = "task"
    elif element.kind.endswith("Gateway"):
        kind = "gateway"
    elif element.kind.endswith("Event"):
        kind = "event"
    name = f" '{element.name}'" if element.name else ""
    return f"{kind}{name} ({element.id})"


def _segment_hits(a: Point, b: Point, box: Box) -> bool:
    """Liang-Barsky: does segment a-b enter the box (shrunk by INSET)?"""
    x0, y0, x1, y1 = box.x + INSET, box.y + INSET, box.right - INSET, box.bottom - INSET
    if x0 >= x1 or y0 >= y1:
        return False
    dx, dy = b[0] - a[0], b[1] - a[1]
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, a[0] - x0), (dx, x1 - a[0]), (-dy, a[1] - y0), (dy, y1 - a[1])):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return t1 - t0 > 1e-9


def _is_container(diagram: Diagram, element_id: str, shape: DrawnShape) -> bool:
    element = diagram.elements.get(element_id)
    if element is None:
        return True
    if element.kind in ("participant", "lane", "group"):
        return True
    return element.kind in SUBPROCESS_KINDS and shape.expanded is not False


def _default_label(element: Element, box: Box) -> Box | None:
    """Where bpmn-js puts an external label that has no bounds in the file: below the shape."""
    if not element.name or not element.has_external_label:
        return None
    w, h = external_label_size(element.name)
    return Box(box.cx - w / 2, box.bottom + 5, w, h)


def layout_warnings(data: bytes, filename: str) -> list[BpmnProblem]:
    """The layout warnings of a BPMN file; raises InvalidBpmn if it is not even XML we accept."""
    return check_layout(parse_xml(data, filename), filename)


def check_layout(root: etree._Element, filename: str) -> list[BpmnProblem]:
    """The layout warnings of a parsed BPMN document, in file order (at most CAP of each code,
    then one summary of the code's others)."""
    diagram = read_diagram(root)
    found = _Findings(filename)
    found.extend(_missing(root, diagram, filename))
    shapes: GridIndex[str] = GridIndex()
    for element_id, drawn in diagram.shapes.items():
        if not _is_container(diagram, element_id, drawn):
            shapes.add(drawn.bounds, element_id)
    _flows_through_shapes(diagram, shapes, found)
    found.extend(_covered_markers(diagram, filename))
    _overlapping_labels(diagram, shapes, found)
    findings = found.listed
    findings.sort(key=lambda f: (f.line or 0, f.code, f.element or ""))
    return findings + found.summaries()


def _piles(shapes: GridIndex[str]) -> GridIndex[list[str]]:
    """The shapes grouped by their bounds: a pile of shapes drawn at the same place is one."""
    by_bounds: dict[tuple[float, float, float, float], tuple[Box, list[str]]] = {}
    for box, element_id in shapes.items():
        key = (box.x, box.y, box.width, box.height)
        by_bounds.setdefault(key, (box, []))[1].append(element_id)
    piles: GridIndex[list[str]] = GridIndex()
    for box, ids in by_bounds.values():
        piles.add(box, ids)
    return piles


def _missing(root: etree._Element, diagram: Diagram, filename: str) -> list[BpmnProblem]:
    """Pools, lanes, data and annotations without a shape, message flows without a line.

    Flow nodes and sequence flows are left out: a file that does not draw those is refused on
    deploy (deploy_rules), so a warning would say the same twice."""
    drawn: set[str] = set()
    for el in root.iter(f"{{{DI_NS}}}BPMNShape", f"{{{DI_NS}}}BPMNEdge"):
        ref = el.get("bpmnElement")
        if ref:
            drawn.add(ref)
    planes = {p.get("bpmnElement") for p in root.iter(f"{{{DI_NS}}}BPMNPlane")}
    if not planes - {None}:
        return []
    out: list[BpmnProblem] = []
    for element in diagram.elements.values():
        wanted = element.kind in DATA_KINDS or element.kind == "textAnnotation"
        wanted = wanted or element.kind in ("lane", "participant")
        if wanted and element.id not in drawn and element.id not in planes:
            out.append(
                layout_warning(
                    filename,
                    element.line,
                    element.id,
                    f"{_describe(element, element.id)} has no shape in the diagram, so Camunda "
                    "Modeler does not show it",
                    f"draw it in the Modeler, {FIX}",
                    "layout.missing-shape",
                )
            )
    for c in diagram.connections.values():
        if c.kind == "messageFlow" and c.id not in drawn:
            out.append(
                layout_warning(
                    filename,
                    c.line,
                    c.id,
                    f"message flow {c.id} has no line in the diagram, so Camunda Modeler does "
                    "not show it",
                    f"connect the two shapes in the Modeler, {FIX}",
                    "layout.missing-edge",
                )
            )
    return out


def _flows_through_shapes(diagram: Diagram, shapes: GridIndex[str], found: _Findings) -> None:
    code = "layout.flow-through-shape"
    filename = found.filename
    elements = diagram.elements
    piles = _piles(shapes)
    attached: dict[str, list[str]] = {}
    for e in elements.values():
        if e.attached_to:
            attached.setdefault(e.attached_to, []).append(e.id)
    for c in diagram.connections.values():
        if c.kind not in ("sequenceFlow", "messageFlow"):
            continue
        edge = diagram.edges.get(c.id)
        if edge is None or len(edge.waypoints) < 2:
            continue
        ends = {c.source, c.target}
        for end in list(ends):
            element = elements.get(end)
            if element is not None and element.attached_to:
                ends.add(element.attached_to)  # a flow leaving a boundary event touches its task
        for end in list(ends):
            ends.update(attached.get(end, ()))
        hit: dict[int, list[str]] = {}  # the piles it crosses, in the order found
        for a, b in zip(edge.waypoints, edge.waypoints[1:], strict=False):
            seg = Box(min(a[0], b[0]), min(a[1], b[1]), abs(b[0] - a[0]), abs(b[1] - a[1]))
            for box, pile in piles.near(seg):
                if id(pile) in hit:
                    continue
                if not found.compare(code):
                    return
                if _segment_hits(a, b, box):
                    hit[id(pile)] = pile
        kind = "sequence flow" if c.kind == "sequenceFlow" else "message flow"
        for pile in hit.values():
            crossed = [i for i in pile if i not in ends] if found.counts[code] < CAP else None
            if crossed is None:  # past the listed ones: only counted
                found.counts[code] += len(pile) - len(ends.intersection(pile))
                continue
            for element_id in crossed:
                found.add(
                    code,
                    functools.partial(_through, diagram, c, edge.line, kind, element_id, filename),
                )


def _through(
    diagram: Diagram, c: Connection, line: int | None, kind: str, element_id: str, filename: str
) -> BpmnProblem:
    return layout_warning(
        filename,
        line,
        c.id,
        f"{kind} {c.id} is drawn through "
        f"{_describe(diagram.elements.get(element_id), element_id)}, which it does not "
        "connect: readers take it for a flow into that shape",
        f"move the flow's bend points around the shape, {FIX}",
        "layout.flow-through-shape",
    )


def _marker_zone(host: Box, markers: int) -> Box:
    width = markers * MARKER_WIDTH + (markers - 1) * 4
    return Box(host.cx - width / 2, host.bottom - MARKER_HEIGHT, width, MARKER_HEIGHT - 4)


def _covered_markers(diagram: Diagram, filename: str) -> list[BpmnProblem]:
    out: list[BpmnProblem] = []
    for element in diagram.elements.values():
        if element.kind != "boundaryEvent" or not element.attached_to:
            continue
        host = diagram.elements.get(element.attached_to)
        drawn_host = diagram.shapes.get(element.attached_to)
        drawn = diagram.shapes.get(element.id)
        if host is None or drawn_host is None or drawn is None:
            continue
        markers = list(host.markers)
        if host.kind in SUBPROCESS_KINDS and drawn_host.expanded is False:
            markers.append("collapsed")
        if not markers:
            continue
        if drawn.bounds.overlaps(_marker_zone(drawn_host.bounds, len(markers))):
            what = "multi-instance" if "multi-instance" in markers else markers[0]
            out.append(
                layout_warning(
                    filename,
                    drawn.line,
                    element.id,
                    f"{_describe(element, element.id)} covers the {what} marker of "
                    f"{_describe(host, host.id)}, so readers cannot see it",
                    "drag the event along the task's bottom edge away from the centre, " + FIX,
                    "layout.marker-covered",
                )
            )
    return out


def _overlapping_labels(diagram: Diagram, shapes: GridIndex[str], found: _Findings) -> None:
    filename = found.filename
    labels: list[tuple[str, Box, int | None]] = []
    for element_id, drawn in diagram.shapes.items():
        element = diagram.elements.get(element_id)
        if element is None or not element.name or not element.has_external_label:
            continue
        box = drawn.label or _default_label(element, drawn.bounds)
        if box is not None:
            labels.append((element_id, box, drawn.line))
    for edge_id, edge in diagram.edges.items():
        c = diagram.connections.get(edge_id)
        if c is not None and c.name and edge.label is not None:
            labels.append((edge_id, edge.label, edge.line))
    index: GridIndex[int] = GridIndex()
    for i, (_owner, box, _line) in enumerate(labels):
        index.add(box, i)
    elements = diagram.elements
    for i, (owner, box, line) in enumerate(labels):
        own = elements.get(owner)
        what = _describe(own, f"flow {owner}") if own else f"flow {owner}"
        for _other_box, j in index.overlapping(box, LABEL_TOLERANCE):
            if not found.compare("layout.label-overlap"):
                return
            if j <= i:
                continue
            other = labels[j][0]
            found.add(
                "layout.label-overlap",
                functools.partial(_label_overlap, diagram, filename, line, owner, what, other),
            )
        for _shape_box, element_id in shapes.overlapping(box, LABEL_TOLERANCE):
            if not found.compare("layout.label-over-shape"):
                return
            if element_id == owner:
                continue
            found.add(
                "layout.label-over-shape",
                functools.partial(_label_over, diagram, filename, line, owner, what, element_id),
            )


def _label_overlap(
    diagram: Diagram, filename: str, line: int | None, owner: str, what: str, other: str
) -> BpmnProblem:
    other_what = _describe(diagram.elements.get(other), f"flow {other}")
    return layout_warning(
        filename,
        line,
        owner,
        f"the label of {what} overlaps the label of {other_what}",
        f"drag one of the labels apart, {FIX}",
        "layout.label-overlap",
    )


def _label_over(
    diagram: Diagram, filename: str, line: int | None, owner: str, what: str, element_id: str
) -> BpmnProblem:
    return layout_warning(
        filename,
        line,
        owner,
        f"the label of {what} lies over {_describe(diagram.elements.get(element_id), element_id)}",
        f"drag the label off the shape, {FIX}",
        "layout.label-over-shape",
    )
