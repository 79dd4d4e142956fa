"""Where labels go: the first candidate spot beside their element or flow that overlaps no shape,
no other label and, if possible, no flow line."""

from __future__ import annotations

from .diagram import Box
from .layout_geometry import FLOW_LABEL_LEAD, LABEL_GAP, ScopeDrawing
from .spatial import GridIndex


def place_labels(
    drawing: ScopeDrawing,
    node_labels: dict[str, tuple[float, float]],
    flow_labels: dict[str, tuple[float, float]],
    occupied: GridIndex[str],
) -> None:
    """Put each label at the first candidate spot that overlaps no shape, label or flow line."""
    lines: GridIndex[str] = GridIndex()
    for rid, points in drawing.routes.items():
        for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
            lines.add(
                Box(min(x0, x1) - 1, min(y0, y1) - 1, abs(x1 - x0) + 2, abs(y1 - y0) + 2), rid
            )

    def free(box: Box, strict: bool) -> bool:
        if any(True for _ in occupied.overlapping(box)):
            return False
        return not strict or not any(True for _ in lines.overlapping(box))

    def choose(owner: str, candidates: list[Box]) -> None:
        for strict in (True, False):
            for box in candidates:
                if free(box, strict):
                    drawing.labels[owner] = box
                    occupied.add(box, owner)
                    return
        drawing.labels[owner] = candidates[0]
        occupied.add(candidates[0], owner)

    for element, (w, h) in node_labels.items():
        box = drawing.boxes.get(element)
        if box is None or not w:
            continue
        g = LABEL_GAP
        choose(
            element,
            [
                Box(box.cx - w / 2, box.bottom + g, w, h),
                Box(box.cx - w / 2, box.y - g - h, w, h),
                Box(box.right + g, box.bottom + g, w, h),
                Box(box.x - g - w, box.bottom + g, w, h),
                Box(box.right + g, box.y - g - h, w, h),
                Box(box.x - g - w, box.y - g - h, w, h),
                Box(box.right + g, box.cy - h / 2, w, h),
            ],
        )
    for flow, (w, h) in flow_labels.items():
        points = drawing.routes.get(flow, [])
        if not points or not w:
            continue
        candidates: list[Box] = []
        for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
            g = LABEL_GAP
            if y0 == y1:
                left = min(x0, x1) + (g + 2 if x1 >= x0 else 0)
                # Past the slash bpmn-js draws across the start of a default flow.
                start = x0 + FLOW_LABEL_LEAD if x1 >= x0 else x0 - FLOW_LABEL_LEAD - w
                candidates += [
                    Box(start, y0 - g - h, w, h),
                    Box(start, y0 + g, w, h),
                    Box(left + (abs(x1 - x0) - w) / 2, y0 - g - h, w, h),
                ]
            else:
                start = y0 + g + 2 if y1 >= y0 else y0 - g - 2 - h
                candidates += [Box(x0 + g, start, w, h), Box(x0 - g - w, start, w, h)]
        if candidates:
            choose(flow, candidates)
