"""Automatic layout: rewrite a BPMN file's diagram (BPMNDI) so it reads left to right in its lanes.

Only the first BPMNDiagram (the one Camunda Modeler shows) is replaced; every byte outside it,
element ids and semantics included, stays as it was. The result depends only on the file, so
laying out a laid-out file gives the same bytes again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bpmn_service.errors import BpmnProblem, InvalidBpmn

from .bpmn_xml import BPMN_NS, id_used_again, parse_xml
from .diagram import (
    ARTIFACT_KINDS,
    DATA_KINDS,
    DEFAULT_SIZES,
    SUBPROCESS_KINDS,
    Box,
    Diagram,
    Element,
    Point,
    Pool,
    main_plane,
    read_diagram,
)
from .layout_collaboration import association_line, place_annotation, route_message
from .layout_di import Drawing, render_plane
from .layout_geometry import (
    LANE_HEADER,
    ROW_PAD,
    Boundary,
    Item,
    RouteRequest,
    ScopeDrawing,
    ScopeGeometry,
    boundary_host_width,
)
from .layout_graph import GraphEdge, place
from .layout_labels import place_labels
from .spatial import GridIndex
from .text_metrics import external_label_size, task_lines

POOL_GAP = 40.0
SUB_PAD = 20.0
SUB_TOP = 34.0  # room for an expanded subprocess's name
MAX_TASK_LINES = 5
COLLAPSED_POOL_HEIGHT = 60.0
ORIGIN = (150.0, 80.0)


@dataclass(slots=True)
class _Scope:
    """A laid-out scope at the origin: what to translate into place."""

    width: float
    height: float
    shapes: dict[str, Box]
    edges: dict[str, list[Point]]
    bands: list[tuple[float, float]]
    expanded: set[str]


def _translate(box: Box, dx: float, dy: float) -> Box:
    return Box(box.x + dx, box.y + dy, box.width, box.height)


class DocumentLayout:
    def __init__(self, diagram: Diagram) -> None:
        self.d = diagram
        self.drawing = Drawing()
        self.by_scope: dict[str, list[Element]] = {}
        for element in diagram.elements.values():
            self.by_scope.setdefault(element.scope, []).append(element)

    # --- sizes ---------------------------------------------------------------------------------

    def _is_expanded(self, element: Element) -> bool:
        if element.kind not in SUBPROCESS_KINDS:
            return False
        drawn = self.d.shapes.get(element.id)
        if drawn is not None and drawn.expanded is not None:
            return drawn.expanded
        return bool(self.by_scope.get(element.id))

    def _item(self, element: Element, boundaries: int) -> Item:
        family = element.shape_family
        if family == "task":
            width = 100.0
            while width < 200 and task_lines(element.name, width) > MAX_TASK_LINES:
                width += 20
            if boundaries:
                width = max(width, boundary_host_width(boundaries, element.has_bottom_marker))
            return Item(element.id, width, 80.0, marker=element.has_bottom_marker)
        size = DEFAULT_SIZES.get(family, DEFAULT_SIZES.get(element.kind, (100.0, 80.0)))
        label = external_label_size(element.name) if element.has_external_label else (0.0, 0.0)
        if element.kind == "textAnnotation":
            lines = max(1, task_lines(element.name, 100.0))
            size = (100.0, max(30.0, lines * 14.4 + 10))
            label = (0.0, 0.0)
        return Item(element.id, size[0], size[1], label=label, gateway=family == "gateway")

    # --- one scope -----------------------------------------------------------------------------

    def layout_scope(self, scope: str, lanes: list[str]) -> _Scope:
        elements = self.by_scope.get(scope, [])
        ids = {e.id for e in elements}
        nested: dict[str, _Scope] = {}
        for e in elements:
            if self._is_expanded(e):
                nested[e.id] = self.layout_scope(e.id, [])
        event_subs = [e for e in elements if e.triggered_by_event and e.id in nested]
        nodes = [
            e
            for e in elements
            if e.kind not in DATA_KINDS
            and e.kind not in ARTIFACT_KINDS
            and e.kind != "boundaryEvent"
            and e.id not in {s.id for s in event_subs}
        ]
        node_ids = {e.id for e in nodes}
        boundary_els = [
            e for e in elements if e.kind == "boundaryEvent" and e.attached_to in node_ids
        ]
        host_of = {b.id: str(b.attached_to) for b in boundary_els}
        count_on: dict[str, int] = {}
        for b in boundary_els:
            count_on[host_of[b.id]] = count_on.get(host_of[b.id], 0) + 1

        flows = [
            c
            for c in self.d.connections.values()
            if c.kind == "sequenceFlow"
            and c.scope == scope
            and (c.source in node_ids or c.source in host_of)
            and c.target in node_ids
        ]
        graph_edges = [
            GraphEdge(f.id, host_of.get(f.source, f.source), f.target, f.source in host_of)
            for f in flows
        ]
        satellites, links = self._satellites(elements, node_ids, ids)

        leaf = self.d.leaf_lanes(lanes)
        band_of_lane = {lane: i for i, lane in enumerate(leaf)}
        band = self._bands(nodes, graph_edges, band_of_lane)
        for sat, (anchor, _bias) in satellites.items():
            band[sat] = band[anchor]

        items: dict[str, Item] = {}
        for e in nodes + [self.d.elements[s] for s in satellites]:
            if e.id in nested:
                inner = nested[e.id]
                items[e.id] = Item(e.id, inner.width, inner.height)
            else:
                items[e.id] = self._item(e, count_on.get(e.id, 0))
        boundaries: list[Boundary] = []
        for b in boundary_els:
            label = external_label_size(b.name)
            boundaries.append(Boundary(b.id, host_of[b.id], label))
            host = items[host_of[b.id]]
            host.below = max(host.below, 18 + (label[1] + 4 if label[1] else 0) + 14)

        placement = place(
            [e.id for e in nodes],
            band,
            graph_edges,
            satellites,
            [e.id for e in nodes if e.kind == "startEvent"],
        )
        requests = [
            RouteRequest(
                f.id,
                g,
                f.source if f.source in host_of else None,
                external_label_size(f.name),
            )
            for f, g in zip(flows, graph_edges, strict=True)
        ]
        requests += [
            RouteRequest(c_id, GraphEdge(c_id, s, t), None, (0.0, 0.0)) for c_id, s, t in links
        ]
        for r in requests:
            if (
                r.edge.id not in placement.back
                and placement.rank[r.edge.target] > placement.rank[r.edge.source] + 1
                and r.edge.id not in placement.hops
            ):
                placement.back.add(r.edge.id)  # associations far apart: around, like loops

        strip: dict[int, list[str]] = {}
        for sub in event_subs:
            strip.setdefault(
                band_of_lane.get(sub.lane or "", len(leaf) - 1 if leaf else 0), []
            ).append(sub.id)
        n_bands = max(len(leaf), 1)
        left = LANE_HEADER * (self._lane_depth(lanes) + 1) if lanes else 0.0
        geometry = ScopeGeometry(
            placement,
            items,
            boundaries,
            requests,
            n_bands,
            left,
            {sat: anchor for sat, (anchor, _bias) in satellites.items()},
            band_extra=lambda b: (
                max(nested[s].height for s in strip[b]) + ROW_PAD if b in strip else 0.0
            ),
        )
        drawn = geometry.compute()
        shapes = dict(drawn.boxes)
        edges = dict(drawn.routes)
        expanded: set[str] = set()
        width = drawn.width

        for strip_band, subs in strip.items():
            top, height = drawn.bands[strip_band]
            inner_h = max(nested[s].height for s in subs)
            y = top + height - 12 - inner_h
            x = left + 40
            blocked = sorted(
                px
                for pts in edges.values()
                for (px, py0), (qx, py1) in zip(pts, pts[1:], strict=False)
                if px == qx and min(py0, py1) < y + inner_h and max(py0, py1) > y
            )
            for sub_id in subs:
                inner = nested[sub_id]
                while any(x - 8 <= bx <= x + inner.width + 8 for bx in blocked):
                    x = max(bx for bx in blocked if x - 8 <= bx <= x + inner.width + 8) + 12
                shapes[sub_id] = Box(x, y, inner.width, inner.height)
                x += inner.width + 30
                width = max(width, x + 10)
        for nid, inner in nested.items():
            box = shapes[nid]
            expanded.add(nid)
            for k, v in inner.shapes.items():
                shapes[k] = _translate(v, box.x, box.y)
            for k, pts in inner.edges.items():
                edges[k] = [(px + box.x, py + box.y) for px, py in pts]
            expanded |= inner.expanded
        if not lanes and scope in self._subprocess_ids():
            # Content of an expanded subprocess: frame it with padding and room for its name.
            shift_x, shift_y = SUB_PAD, SUB_TOP
            shapes = {k: _translate(v, shift_x, shift_y) for k, v in shapes.items()}
            edges = {k: [(x + shift_x, y + shift_y) for x, y in pts] for k, pts in edges.items()}
            return _Scope(
                max(width - 40 + 2 * SUB_PAD, 160),
                drawn.height + SUB_TOP + SUB_PAD - 12,
                shapes,
                edges,
                drawn.bands,
                expanded,
            )
        return _Scope(width, drawn.height, shapes, edges, drawn.bands, expanded)

    def _subprocess_ids(self) -> set[str]:
        return {e.id for e in self.d.elements.values() if e.kind in SUBPROCESS_KINDS}

    def _lane_depth(self, lanes: list[str]) -> int:
        depth = 0
        for lane in lanes:
            children = self.d.elements[lane].children
            if children:
                depth = max(depth, 1 + self._lane_depth(children))
        return depth

    def _satellites(
        self, elements: list[Element], node_ids: set[str], scope_ids: set[str]
    ) -> tuple[dict[str, tuple[str, float]], list[tuple[str, str, str]]]:
        """Data objects and annotations: each stands beside the first node it is connected to."""
        satellites: dict[str, tuple[str, float]] = {}
        links: list[tuple[str, str, str]] = []
        kinds = {e.id: e.kind for e in elements}
        for c in self.d.connections.values():
            if c.kind == "sequenceFlow" or c.kind == "messageFlow":
                continue
            if c.source not in scope_ids or c.target not in scope_ids:
                continue
            ends = (c.source, c.target)
            satellite = next((x for x in ends if x not in node_ids), None)
            anchor = next((x for x in ends if x in node_ids), None)
            if satellite is None or anchor is None:
                continue
            if satellite not in satellites:
                bias = -1.0 if kinds.get(satellite) == "textAnnotation" else 1.0
                satellites[satellite] = (anchor, bias)
            links.append((c.id, c.source, c.target))
        return satellites, links

    def _bands(
        self, nodes: list[Element], edges: list[GraphEdge], band_of_lane: dict[str, int]
    ) -> dict[str, int]:
        band = {e.id: band_of_lane[e.lane] for e in nodes if e.lane in band_of_lane}
        neighbours: dict[str, list[str]] = {}
        for g in edges:
            neighbours.setdefault(g.target, []).append(g.source)
            neighbours.setdefault(g.source, []).append(g.target)
        for _ in range(len(nodes)):
            missing = [e.id for e in nodes if e.id not in band]
            if not missing:
                break
            changed = False
            for node in missing:
                known = [band[n] for n in neighbours.get(node, []) if n in band]
                if known:
                    band[node] = known[0]
                    changed = True
            if not changed:
                break
        for e in nodes:
            band.setdefault(e.id, 0)
        return band

    # --- the document --------------------------------------------------------------------------

    def run(self) -> Drawing:
        x0, y = ORIGIN
        placed: list[tuple[Pool, _Scope | None]] = []
        for pool in self.d.pools:
            scope = self.layout_scope(pool.process, pool.lanes) if pool.process else None
            placed.append((pool, scope))
        participants = any(p.id in self.d.elements for p in self.d.pools)
        width = max((s.width for _, s in placed if s is not None), default=400.0)
        header = LANE_HEADER if participants else 0.0
        for pool, scope in placed:
            if scope is None:
                self.drawing.shapes[pool.id] = Box(x0, y, width + header, COLLAPSED_POOL_HEIGHT)
                self.drawing.containers.add(pool.id)
                y += COLLAPSED_POOL_HEIGHT + POOL_GAP
                continue
            dx = x0 + header
            for k, v in scope.shapes.items():
                self.drawing.shapes[k] = _translate(v, dx, y)
            for k, pts in scope.edges.items():
                self.drawing.edges[k] = [(px + dx, py + y) for px, py in pts]
            self.drawing.expanded |= scope.expanded
            if participants:
                self.drawing.shapes[pool.id] = Box(x0, y, width + header, scope.height)
                self.drawing.containers.add(pool.id)
            self._lanes(pool.lanes, scope, x0 + header, y, width, 0)
            y += scope.height + POOL_GAP
        self.drawing.containers |= self.drawing.expanded
        occupied: GridIndex[str] = GridIndex()
        for k, box in self.drawing.shapes.items():
            if k not in self.drawing.containers:
                occupied.add(box, k)
            elif self.d.elements[k].kind in ("participant", "lane"):
                occupied.add(Box(box.x, box.y, LANE_HEADER, box.height), k)  # its name strip
        self._collaboration(occupied)
        for e in self.d.elements.values():
            if e.id in self.drawing.shapes and e.has_external_label and e.name:
                self.drawing.node_labels[e.id] = external_label_size(e.name)
        for c in self.d.connections.values():
            if c.name and c.id in self.drawing.edges:
                self.drawing.flow_labels[c.id] = external_label_size(c.name)
        canvas = ScopeDrawing(
            boxes=self.drawing.shapes, labels=self.drawing.labels, routes=self.drawing.edges
        )
        place_labels(canvas, self.drawing.node_labels, self.drawing.flow_labels, occupied)
        return self.drawing

    def _pool_of(self, element_id: str) -> Box | None:
        scope = element_id
        while scope in self.d.elements and self.d.elements[scope].scope:
            scope = self.d.elements[scope].scope
        for pool in self.d.pools:
            if pool.id == scope or pool.process == scope:
                return self.drawing.shapes.get(pool.id)
        return None

    def _collaboration(self, occupied: GridIndex[str]) -> None:
        """Annotations outside the processes, then message flows and associations between
        what the pools hold."""
        shapes = self.drawing.shapes
        outside = [c for c in self.d.connections.values() if c.scope == ""]
        for e in self.d.elements.values():
            if e.kind != "textAnnotation" or e.scope != "":
                continue
            partner = next(
                (
                    c.source if c.target == e.id else c.target
                    for c in outside
                    if e.id in (c.source, c.target)
                ),
                None,
            )
            lines = max(1, task_lines(e.name, 100.0))
            size = (100.0, max(30.0, lines * 14.4 + 10))
            anchor = shapes.get(partner) if partner else None
            if anchor is None:
                anchor = Box(ORIGIN[0], ORIGIN[1] - 10, 0, 0)
            box = place_annotation(anchor, size, occupied)
            shapes[e.id] = box
            occupied.add(box, e.id)
        for c in outside:
            a, b = shapes.get(c.source), shapes.get(c.target)
            if a is None or b is None:
                continue
            if c.kind == "messageFlow":
                self.drawing.edges[c.id] = route_message(
                    a,
                    b,
                    self._pool_of(c.source),
                    self._pool_of(c.target),
                    occupied,
                    {c.source, c.target},
                )
            else:
                self.drawing.edges[c.id] = association_line(a, b)

    def _lanes(
        self, lanes: list[str], scope: _Scope, x: float, y0: float, width: float, depth: int
    ) -> tuple[float, float] | None:
        """Lane boxes from the bands of their leaf lanes; returns the (top, bottom) covered."""
        leaf = self.d.leaf_lanes(lanes)
        band_of_lane = {lane: i for i, lane in enumerate(leaf)}
        covered: tuple[float, float] | None = None
        for lane in lanes:
            children = self.d.elements[lane].children
            if children:
                span = self._lanes(
                    children, scope, x + LANE_HEADER, y0, width - LANE_HEADER, depth + 1
                )
            else:
                top, height = scope.bands[band_of_lane[lane]]
                span = (y0 + top, y0 + top + height)
            if span is None:
                continue
            self.drawing.shapes[lane] = Box(x, span[0], width, span[1] - span[0])
            self.drawing.containers.add(lane)
            covered = (
                span if covered is None else (min(covered[0], span[0]), max(covered[1], span[1]))
            )
        return covered


_DIAGRAM_SPAN = re.compile(
    rb"<(?P<p>[A-Za-z_][\w.-]*:)?BPMNDiagram\b.*?</(?P=p)?BPMNDiagram\s*>", re.DOTALL
)
_DEFINITIONS_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?definitions\s*>\s*$")


def _refuse_duplicate_ids(root: Any, filename: str) -> None:
    """The layout follows elements by id (a subprocess sharing its process's id would contain
    itself): a file that gives two BPMN elements one id, which no modeler writes, is refused
    first. (Extension elements, such as form fields, have ids of their own kind.)"""
    first: dict[str, int | None] = {}
    problems: list[BpmnProblem] = []
    for element in root.iter(f"{{{BPMN_NS}}}*"):
        element_id = element.get("id")
        if element_id is None:
            continue
        if element_id in first:
            problems.append(
                id_used_again(element_id, filename, element.sourceline, first[element_id])
            )
        else:
            first[element_id] = element.sourceline
    if problems:
        raise InvalidBpmn(problems)


def layout_bpmn(data: bytes, filename: str) -> bytes:
    """The file with its first diagram replaced by an automatic layout; raises InvalidBpmn."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidBpmn(
            [BpmnProblem("the file is not UTF-8 encoded; save it as UTF-8 first", filename)]
        ) from None
    root = parse_xml(data, filename)
    _refuse_duplicate_ids(root, filename)
    diagram = read_diagram(root)
    if not diagram.pools:
        raise InvalidBpmn([BpmnProblem("the file defines no process to lay out", filename)])
    drawing = DocumentLayout(diagram).run()
    newline = b"\r\n" if b"\r\n" in data else b"\n"
    plane = main_plane(root)
    match = None
    if plane is not None and plane.getparent() is not None:
        # Start the search on the diagram's own line, so text before it cannot be mistaken for it.
        line = plane.getparent().sourceline or 1
        start = 0
        for _ in range(line - 1):
            start = data.find(b"\n", start) + 1
        match = _DIAGRAM_SPAN.search(data, start)
    if match is not None:
        line_start = data.rfind(b"\n", 0, match.start()) + 1
        indent = data[line_start : match.start()].decode("utf-8")
        indent = indent if indent.strip() == "" else "  "
        text = render_plane(root, diagram, drawing, indent).encode("utf-8")
        result = data[: match.start()] + text.replace(b"\n", newline) + data[match.end() :]
    else:
        end = _DEFINITIONS_END.search(data)
        if end is None:
            raise InvalidBpmn([BpmnProblem("the file has no closing definitions tag", filename)])
        text = render_plane(root, diagram, drawing, "  ").encode("utf-8")
        result = (
            data[: end.start()]
            + b"  "
            + text.replace(b"\n", newline)
            + newline
            + data[end.start() :]
        )
    # The caller replaces the analyst's file with this: it must at least read back.
    parse_xml(result, filename)
    return result


@dataclass(frozen=True, slots=True)
class DiagramSize:
    """How big the main diagram is drawn, and what it draws."""

    width: float
    height: float
    shapes: int
    edges: int


def diagram_size(data: bytes, filename: str) -> DiagramSize:
    """The extent of the first diagram (from its left-most to its right-most drawn point)."""
    diagram = read_diagram(parse_xml(data, filename))
    xs: list[float] = []
    ys: list[float] = []
    for shape in diagram.shapes.values():
        xs += [shape.bounds.x, shape.bounds.right]
        ys += [shape.bounds.y, shape.bounds.bottom]
    for edge in diagram.edges.values():
        xs += [p[0] for p in edge.waypoints]
        ys += [p[1] for p in edge.waypoints]
    if not xs:
        return DiagramSize(0.0, 0.0, 0, 0)
    return DiagramSize(
        max(xs) - min(xs), max(ys) - min(ys), len(diagram.shapes), len(diagram.edges)
    )
