"""Writing a laid-out drawing as the text of a BPMNDiagram element.

The text uses the prefixes the file already declares and keeps the ids and extra attributes
(colours, for instance) of the DI elements it replaces, so a diff of the file shows geometry only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

from lxml import etree

from .diagram import (
    DC_NS,
    DD_DI_NS,
    DI_NS,
    SUBPROCESS_KINDS,
    Box,
    Diagram,
    Element,
    Point,
    main_plane,
)


@dataclass(slots=True)
class Drawing:
    """Absolute geometry of everything drawn, keyed by BPMN element id."""

    shapes: dict[str, Box] = field(default_factory=dict)
    expanded: set[str] = field(default_factory=set)
    labels: dict[str, Box] = field(default_factory=dict)
    edges: dict[str, list[Point]] = field(default_factory=dict)
    node_labels: dict[str, tuple[float, float]] = field(default_factory=dict)
    flow_labels: dict[str, tuple[float, float]] = field(default_factory=dict)
    containers: set[str] = field(default_factory=set)  # pools, lanes, expanded subprocesses


def _num(v: float) -> str:
    r = round(v)
    return str(int(r))


def _attrs(el: etree._Element | None, skip: set[str], nsmap: dict[str, str]) -> str:
    """Attributes of an existing DI element worth keeping (colours, isHorizontal...)."""
    if el is None:
        return ""
    out = []
    by_ns = {v: k for k, v in nsmap.items() if k}
    for name, value in el.attrib.items():
        q = etree.QName(name)
        if q.localname in skip and q.namespace is None:
            continue
        prefix = by_ns.get(q.namespace) if q.namespace else None
        if q.namespace and prefix is None:
            continue
        key = f"{prefix}:{q.localname}" if prefix else q.localname
        out.append(f" {key}={quoteattr(value)}")
    return "".join(out)


def _di_prefixes(nsmap: dict[str, str]) -> tuple[dict[str, str], str]:
    """The prefix of each diagram namespace, and the declarations the diagram element must carry
    for those the file does not declare at its root (a file written by a tool that draws
    nothing, say): the usual prefix, or a numbered one where the file uses it for another
    namespace."""
    declared = {v: k for k, v in nsmap.items() if k}
    prefixes: dict[str, str] = {}
    declare = []
    for namespace, usual in ((DI_NS, "bpmndi"), (DC_NS, "dc"), (DD_DI_NS, "di")):
        if namespace in declared:
            prefixes[namespace] = declared[namespace]
            continue
        prefix, n = usual, 1
        while prefix in nsmap:
            n += 1
            prefix = f"{usual}{n}"
        prefixes[namespace] = prefix
        declare.append(f" xmlns:{prefix}={quoteattr(namespace)}")
    return prefixes, "".join(declare)


def render_plane(root: etree._Element, diagram: Diagram, drawing: Drawing, indent: str) -> str:
    """The text of the new first BPMNDiagram element."""
    nsmap = {k or "": v for k, v in root.nsmap.items()}
    prefixes, declare = _di_prefixes(nsmap)
    di, dc, dd = prefixes[DI_NS], prefixes[DC_NS], prefixes[DD_DI_NS]
    old_plane = main_plane(root)
    old_diagram = old_plane.getparent() if old_plane is not None else None
    old: dict[str, etree._Element] = {}
    if old_plane is not None:
        for el in old_plane:
            ref = el.get("bpmnElement")
            if ref:
                old[ref] = el
    i1, i2, i3, i4 = (indent + "  " * n for n in range(1, 5))
    diagram_id = old_diagram.get("id") if old_diagram is not None else "BPMNDiagram_1"
    plane_id = old_plane.get("id") if old_plane is not None else "BPMNPlane_1"
    plane_ref = (
        diagram.plane_element
        or diagram.collaboration
        or (diagram.pools[0].process or "" if diagram.pools else "")
    )
    lines = [
        f"<{di}:BPMNDiagram{declare} id={quoteattr(diagram_id or 'BPMNDiagram_1')}"
        f"{_attrs(old_diagram, {'id'}, nsmap)}>",
        f"{i1}<{di}:BPMNPlane id={quoteattr(plane_id or 'BPMNPlane_1')} "
        f"bpmnElement={quoteattr(plane_ref)}"
        f"{_attrs(old_plane, {'id', 'bpmnElement'}, nsmap)}>",
    ]

    def bounds(box: Box, ind: str) -> str:
        return (
            f'{ind}<{dc}:Bounds x="{_num(box.x)}" y="{_num(box.y)}" '
            f'width="{_num(box.width)}" height="{_num(box.height)}" />'
        )

    def label(element: str, ind: str) -> list[str]:
        box = drawing.labels.get(element)
        if box is None:
            return []
        return [f"{ind}<{di}:BPMNLabel>", bounds(box, ind + "  "), f"{ind}</{di}:BPMNLabel>"]

    taken = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}

    def di_id(element_id: str, existing: etree._Element | None) -> str:
        """The old DI element's id, or a new one that no element of the file has."""
        if existing is not None and existing.get("id"):
            return str(existing.get("id"))
        candidate, n = f"{element_id}_di", 1
        while candidate in taken:
            n += 1
            candidate = f"{element_id}_di_{n}"
        taken.add(candidate)
        return candidate

    def shape(element: Element) -> None:
        box = drawing.shapes[element.id]
        existing = old.get(element.id)
        shape_id = di_id(element.id, existing)
        extra = _attrs(existing, {"id", "bpmnElement", "isExpanded", "isHorizontal"}, nsmap)
        if element.kind in ("participant", "lane"):
            extra = ' isHorizontal="true"' + extra
        if element.id in drawing.expanded:
            extra = ' isExpanded="true"' + extra
        elif element.kind in SUBPROCESS_KINDS:
            extra = ' isExpanded="false"' + extra
        lines.append(
            f"{i2}<{di}:BPMNShape id={quoteattr(shape_id)} "
            f"bpmnElement={quoteattr(element.id)}{extra}>"
        )
        lines.append(bounds(box, i3))
        lines.extend(label(element.id, i3))
        lines.append(f"{i2}</{di}:BPMNShape>")

    ordered = sorted(
        (e for e in diagram.elements.values() if e.id in drawing.shapes),
        key=lambda e: (
            {"participant": 0, "lane": 1}.get(e.kind, 3 if e.kind == "boundaryEvent" else 2),
            e.line or 0,
        ),
    )
    for element in ordered:
        shape(element)
    for c in sorted(diagram.connections.values(), key=lambda c: c.line or 0):
        points = drawing.edges.get(c.id)
        if not points:
            continue
        existing = old.get(c.id)
        edge_id = di_id(c.id, existing)
        extra = _attrs(existing, {"id", "bpmnElement"}, nsmap)
        lines.append(
            f"{i2}<{di}:BPMNEdge id={quoteattr(edge_id)} bpmnElement={quoteattr(c.id)}{extra}>"
        )
        for px, py in points:
            lines.append(f'{i3}<{dd}:waypoint x="{_num(px)}" y="{_num(py)}" />')
        lines.extend(label(c.id, i3))
        lines.append(f"{i2}</{di}:BPMNEdge>")
    lines.append(f"{i1}</{di}:BPMNPlane>")
    lines.append(f"{indent}</{di}:BPMNDiagram>")
    del i4
    return "\n".join(lines)
