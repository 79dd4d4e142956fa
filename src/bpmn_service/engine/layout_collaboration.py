"""What lies between pools: message flows, and annotations drawn outside any process.

Pools are stacked top to bottom; a message flow goes straight down (or up) from its source to its
target, stepping sideways once in the gap between the two pools. Its vertical runs are put where
they cross no shape: the centre of the shape first, then nearby offsets.
"""

from __future__ import annotations

from .diagram import Box, Point
from .spatial import GridIndex

OFFSETS = (0.0, 15.0, -15.0, 30.0, -30.0, 40.0, -40.0)
ANNOTATION_GAP = 30.0


def _clear(x: float, y0: float, y1: float, shapes: GridIndex[str], ends: set[str]) -> bool:
    lo, hi = min(y0, y1), max(y0, y1)
    probe = Box(x - 1, lo + 1, 2, max(hi - lo - 2, 0.0))
    return not any(owner not in ends for _box, owner in shapes.overlapping(probe))


def _column(
    box: Box, y0: float, y1: float, shapes: GridIndex[str], ends: set[str], prefer: float | None
) -> float:
    """An x inside `box` whose vertical run from y0 to y1 crosses no other shape."""
    candidates = [prefer] if prefer is not None and box.x < prefer < box.right else []
    candidates += [box.cx + d for d in OFFSETS if box.x + 4 < box.cx + d < box.right - 4]
    for x in candidates:
        if _clear(x, y0, y1, shapes, ends):
            return x
    return candidates[0] if candidates else box.cx


def route_message(
    source: Box,
    target: Box,
    source_pool: Box | None,
    target_pool: Box | None,
    shapes: GridIndex[str],
    ends: set[str],
) -> list[Point]:
    if source.bottom <= target.y:
        y0, y1 = source.bottom, target.y
        gap_top = source_pool.bottom if source_pool is not None else y0
        gap_bottom = target_pool.y if target_pool is not None else y1
    elif target.bottom <= source.y:
        y0, y1 = source.y, target.bottom
        gap_top = target_pool.bottom if target_pool is not None else y1
        gap_bottom = source_pool.y if source_pool is not None else y0
    else:  # side by side: a straight line between facing sides
        if source.right <= target.x:
            return [(source.right, source.cy), (target.x, target.cy)]
        return [(source.x, source.cy), (target.right, target.cy)]
    mid = (gap_top + gap_bottom) / 2 if gap_bottom > gap_top else (y0 + y1) / 2
    x0 = _column(source, y0, mid, shapes, ends, None)
    x1 = _column(target, mid, y1, shapes, ends, x0)
    points = [(x0, y0), (x0, mid), (x1, mid), (x1, y1)] if x0 != x1 else [(x0, y0), (x1, y1)]
    return [(round(x), round(y)) for x, y in points]


def place_annotation(anchor: Box, size: tuple[float, float], shapes: GridIndex[str]) -> Box:
    """A free spot above-right, above, below-right or below an annotated shape."""
    w, h = size
    g = ANNOTATION_GAP
    candidates = [
        Box(anchor.right + g / 2, anchor.y - g - h, w, h),
        Box(anchor.cx - w / 2, anchor.y - g - h, w, h),
        Box(anchor.right + g / 2, anchor.bottom + g, w, h),
        Box(anchor.cx - w / 2, anchor.bottom + g, w, h),
    ]
    for box in candidates:
        if not any(True for _ in shapes.overlapping(box)):
            return box
    return candidates[0]


def association_line(a: Box, b: Box) -> list[Point]:
    """A straight dotted association between the facing sides or edges of two boxes."""
    if a.bottom <= b.y:
        return [(round(a.cx), round(a.bottom)), (round(b.cx), round(b.y))]
    if b.bottom <= a.y:
        return [(round(a.cx), round(a.y)), (round(b.cx), round(b.bottom))]
    if a.right <= b.x:
        return [(round(a.right), round(a.cy)), (round(b.x), round(b.cy))]
    return [(round(a.x), round(a.cy)), (round(b.right), round(b.cy))]
