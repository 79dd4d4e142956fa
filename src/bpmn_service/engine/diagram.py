"""What a BPMN file draws: its elements (pools, lanes, nodes, flows) and its BPMNDI geometry.

The layout tool and the layout checks both read a file through this module, so they agree on what
an element is, which lane holds it and where the file says it is drawn. Everything here is plain
data; lxml stays inside `read_diagram`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from .camunda_ext import NSMAP

BPMN_NS = NSMAP["bpmn"]
DI_NS = NSMAP["bpmndi"]
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DD_DI_NS = "http://www.omg.org/spec/DD/20100524/DI"

TASK_KINDS = frozenset(
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
    }
)
SUBPROCESS_KINDS = frozenset({"subProcess", "transaction", "adHocSubProcess"})
EVENT_KINDS = frozenset(
    {
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
    }
)
GATEWAY_KINDS = frozenset(
    {
        "exclusiveGateway",
        "parallelGateway",
        "inclusiveGateway",
        "eventBasedGateway",
        "complexGateway",
    }
)
DATA_KINDS = frozenset({"dataObjectReference", "dataStoreReference"})
ARTIFACT_KINDS = frozenset({"textAnnotation", "group"})
DRAWN_KINDS = TASK_KINDS | SUBPROCESS_KINDS | EVENT_KINDS | GATEWAY_KINDS | DATA_KINDS

# The sizes bpmn-js and Camunda Modeler give new elements.
DEFAULT_SIZES = {
    "task": (100.0, 80.0),
    "event": (36.0, 36.0),
    "gateway": (50.0, 50.0),
    "dataObjectReference": (36.0, 50.0),
    "dataStoreReference": (50.0, 50.0),
    "textAnnotation": (100.0, 30.0),
}


@dataclass(frozen=True, slots=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    @property
    def cx(self) -> float:
        return self.x + self.width / 2

    @property
    def cy(self) -> float:
        return self.y + self.height / 2

    def overlaps(self, other: Box, margin: float = 0.0) -> bool:
        """True if the interiors overlap by more than `margin` on both axes."""
        return (
            min(self.right, other.right) - max(self.x, other.x) > margin
            and min(self.bottom, other.bottom) - max(self.y, other.y) > margin
        )


Point = tuple[float, float]


@dataclass(slots=True)
class Element:
    """A drawable BPMN element: pool, lane, flow node, data reference or artifact."""

    id: str
    kind: str
    name: str
    line: int | None
    scope: str  # id of the process or subprocess that contains it ("" for pools and lanes)
    lane: str | None = None
    attached_to: str | None = None
    markers: tuple[str, ...] = ()  # "multi-instance", "loop", "compensation", "ad-hoc"...
    triggered_by_event: bool = False
    children: list[str] = field(default_factory=list)  # lanes: child lanes; pools: its lanes

    @property
    def shape_family(self) -> str:
        if self.kind in TASK_KINDS or self.kind in SUBPROCESS_KINDS:
            return "task"
        if self.kind in EVENT_KINDS:
            return "event"
        if self.kind in GATEWAY_KINDS:
            return "gateway"
        return self.kind

    @property
    def has_bottom_marker(self) -> bool:
        """bpmn-js draws loop, multi-instance, ad-hoc and collapsed-subprocess markers at the
        bottom centre of an activity; a boundary event there hides them."""
        return bool(self.markers)

    @property
    def has_external_label(self) -> bool:
        return self.shape_family in ("event", "gateway") or self.kind in DATA_KINDS


@dataclass(slots=True)
class Connection:
    id: str
    kind: str
    source: str
    target: str
    name: str
    line: int | None
    scope: str


@dataclass(slots=True)
class DrawnShape:
    element: str
    bounds: Box
    label: Box | None
    line: int | None
    expanded: bool | None


@dataclass(slots=True)
class DrawnEdge:
    element: str
    waypoints: list[Point]
    label: Box | None
    line: int | None


@dataclass(slots=True)
class Pool:
    """A participant (or, without a collaboration, the process itself)."""

    id: str  # participant id, or the process id when there is no collaboration
    name: str
    line: int | None
    process: str | None
    lanes: list[str]  # top-level lanes in file order


@dataclass(slots=True)
class Diagram:
    elements: dict[str, Element]
    connections: dict[str, Connection]
    pools: list[Pool]
    plane_element: str | None  # what the main BPMNPlane draws (collaboration or process)
    collaboration: str | None
    shapes: dict[str, DrawnShape]
    edges: dict[str, DrawnEdge]

    def leaf_lanes(self, lane_ids: list[str]) -> list[str]:
        out: list[str] = []
        for lane_id in lane_ids:
            children = self.elements[lane_id].children
            out.extend(self.leaf_lanes(children) if children else [lane_id])
        return out


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _markers(node: etree._Element, kind: str) -> tuple[str, ...]:
    found: list[str] = []
    for child in node:
        name = _local(child.tag)
        if name == "multiInstanceLoopCharacteristics":
            found.append("multi-instance")
        elif name == "standardLoopCharacteristics":
            found.append("loop")
    if node.get("isForCompensation") == "true":
        found.append("compensation")
    if kind == "adHocSubProcess":
        found.append("ad-hoc")
    return tuple(found)


def _read_scope(
    scope_el: etree._Element,
    scope_id: str,
    elements: dict[str, Element],
    connections: dict[str, Connection],
) -> None:
    for node in scope_el:
        kind = _local(node.tag)
        node_id = node.get("id")
        if not node_id:
            continue
        name = (node.get("name") or "").strip()
        if kind in DRAWN_KINDS:
            elements[node_id] = Element(
                id=node_id,
                kind=kind,
                name=name,
                line=node.sourceline,
                scope=scope_id,
                attached_to=node.get("attachedToRef") if kind == "boundaryEvent" else None,
                markers=_markers(node, kind),
                triggered_by_event=node.get("triggeredByEvent") == "true",
            )
            if kind in SUBPROCESS_KINDS:
                _read_scope(node, node_id, elements, connections)
            _read_data_associations(node, node_id, scope_id, connections)
        elif kind == "textAnnotation":
            text = node.find(f"{{{BPMN_NS}}}text")
            label = (text.text or "").strip() if text is not None else ""
            elements[node_id] = Element(node_id, kind, label, node.sourceline, scope_id)
        elif kind == "group":
            elements[node_id] = Element(node_id, kind, name, node.sourceline, scope_id)
        elif kind in ("sequenceFlow", "association"):
            connections[node_id] = Connection(
                id=node_id,
                kind=kind,
                source=node.get("sourceRef") or "",
                target=node.get("targetRef") or "",
                name=name,
                line=node.sourceline,
                scope=scope_id,
            )


def _read_data_associations(
    node: etree._Element, node_id: str, scope_id: str, connections: dict[str, Connection]
) -> None:
    for assoc in node:
        kind = _local(assoc.tag)
        if kind not in ("dataInputAssociation", "dataOutputAssociation") or not assoc.get("id"):
            continue
        source_el = assoc.find(f"{{{BPMN_NS}}}sourceRef")
        target_el = assoc.find(f"{{{BPMN_NS}}}targetRef")
        if kind == "dataInputAssociation":
            source, target = (
                (source_el.text or "").strip() if source_el is not None else "",
                node_id,
            )
        else:
            source, target = (
                node_id,
                (target_el.text or "").strip() if target_el is not None else "",
            )
        connections[assoc.get("id")] = Connection(
            assoc.get("id"), kind, source, target, "", assoc.sourceline, scope_id
        )


def _read_lanes(
    lane_set: etree._Element, process_id: str, elements: dict[str, Element]
) -> list[str]:
    lane_ids: list[str] = []
    for lane in lane_set.findall(f"{{{BPMN_NS}}}lane"):
        lane_id = lane.get("id")
        if not lane_id:
            continue
        element = Element(lane_id, "lane", (lane.get("name") or "").strip(), lane.sourceline, "")
        elements[lane_id] = element
        lane_ids.append(lane_id)
        child_set = lane.find(f"{{{BPMN_NS}}}childLaneSet")
        if child_set is not None:
            element.children = _read_lanes(child_set, process_id, elements)
        for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef"):
            node = elements.get((ref.text or "").strip())
            if node is not None and node.lane is None and not element.children:
                node.lane = lane_id
    return lane_ids


def _box(bounds: etree._Element | None) -> Box | None:
    if bounds is None:
        return None
    try:
        return Box(
            float(bounds.get("x", "0")),
            float(bounds.get("y", "0")),
            float(bounds.get("width", "0")),
            float(bounds.get("height", "0")),
        )
    except ValueError:
        return None


def _label_box(di: etree._Element) -> Box | None:
    label = di.find(f"{{{DI_NS}}}BPMNLabel")
    return _box(label.find(f"{{{DC_NS}}}Bounds")) if label is not None else None


def main_plane(root: etree._Element) -> etree._Element | None:
    """The plane that draws the collaboration (or the process): the first BPMNDiagram's."""
    for diagram in root.findall(f"{{{DI_NS}}}BPMNDiagram"):
        plane = diagram.find(f"{{{DI_NS}}}BPMNPlane")
        if plane is not None:
            return plane
    return None


def read_diagram(root: etree._Element) -> Diagram:
    """The drawable elements of a parsed BPMN document and the geometry its main plane gives."""
    elements: dict[str, Element] = {}
    connections: dict[str, Connection] = {}
    pools: list[Pool] = []
    processes = {p.get("id"): p for p in root.findall(f"{{{BPMN_NS}}}process") if p.get("id")}
    lanes_of: dict[str, list[str]] = {}
    for process_id, process in processes.items():
        _read_scope(process, process_id, elements, connections)
        lane_set = process.find(f"{{{BPMN_NS}}}laneSet")
        lanes_of[process_id] = (
            _read_lanes(lane_set, process_id, elements) if lane_set is not None else []
        )
    collaboration = root.find(f"{{{BPMN_NS}}}collaboration")
    if collaboration is not None:
        for participant in collaboration.findall(f"{{{BPMN_NS}}}participant"):
            pid = participant.get("id")
            if not pid:
                continue
            process_ref = participant.get("processRef")
            process_id = process_ref if process_ref in processes else None
            elements[pid] = Element(
                pid,
                "participant",
                (participant.get("name") or "").strip(),
                participant.sourceline,
                "",
            )
            pools.append(
                Pool(
                    pid,
                    elements[pid].name,
                    participant.sourceline,
                    process_id,
                    lanes_of.get(process_id, []) if process_id else [],
                )
            )
        for flow in collaboration:
            kind = _local(flow.tag)
            if kind in ("messageFlow", "association") and flow.get("id"):
                connections[flow.get("id")] = Connection(
                    flow.get("id"),
                    kind,
                    flow.get("sourceRef") or "",
                    flow.get("targetRef") or "",
                    (flow.get("name") or "").strip(),
                    flow.sourceline,
                    "",
                )
            elif kind == "textAnnotation" and flow.get("id"):
                text = flow.find(f"{{{BPMN_NS}}}text")
                label = (text.text or "").strip() if text is not None else ""
                elements[flow.get("id")] = Element(flow.get("id"), kind, label, flow.sourceline, "")
    else:
        for process_id, process in processes.items():
            pools.append(Pool(process_id, "", process.sourceline, process_id, lanes_of[process_id]))
    plane = main_plane(root)
    shapes: dict[str, DrawnShape] = {}
    edges: dict[str, DrawnEdge] = {}
    if plane is not None:
        for di in plane:
            kind = _local(di.tag)
            ref = di.get("bpmnElement")
            if not ref:
                continue
            if kind == "BPMNShape":
                bounds = _box(di.find(f"{{{DC_NS}}}Bounds"))
                if bounds is not None:
                    expanded = di.get("isExpanded")
                    shapes[ref] = DrawnShape(
                        ref,
                        bounds,
                        _label_box(di),
                        di.sourceline,
                        None if expanded is None else expanded == "true",
                    )
            elif kind == "BPMNEdge":
                points: list[Point] = []
                for wp in di.findall(f"{{{DD_DI_NS}}}waypoint"):
                    try:
                        points.append((float(wp.get("x", "0")), float(wp.get("y", "0"))))
                    except ValueError:
                        continue
                edges[ref] = DrawnEdge(ref, points, _label_box(di), di.sourceline)
    return Diagram(
        elements=elements,
        connections=connections,
        pools=pools,
        plane_element=plane.get("bpmnElement") if plane is not None else None,
        collaboration=collaboration.get("id") if collaboration is not None else None,
        shapes=shapes,
        edges=edges,
    )
