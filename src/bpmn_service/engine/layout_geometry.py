"""Coordinates for a placed scope: rows in lane bands, orthogonal flow routes, labels.

Each lane is a band of rows as tall as their content; shapes sit centred on their row, so flows
between neighbours in a row are straight lines. Flows change rows only

* between two ranks, on a track of their own (parallel flows do not overlap), or
* straight down or up from a gateway, a boundary event or a loop's end, when no shape stands in
  that rank in the rows it passes;

and loops back (rework) run in a margin kept free at the top of a lane. The x of every shape and
track then comes from layout_compaction: each row packs to the left on its own, with every
vertical run clear of the shapes of every row it crosses. So by construction no flow crosses a
shape it does not connect. Labels are put at the first candidate spot that touches no shape, label
or line.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from .diagram import Box, Point
from .layout_compaction import XConstraints
from .layout_graph import GraphEdge, Placement

LANE_HEADER = 30.0
LEFT_PAD = 30.0
RIGHT_PAD = 30.0
ROW_PAD = 12.0
BAND_PAD = 12.0
TRACK = 10.0
SHAPE_GAP = 34.0  # between neighbours in a row: room for an arrow
TRACK_GAP = 16.0  # between a shape and a flow running past it
LABEL_OVERHANG = 2 * SHAPE_GAP - 8
FLOW_LABEL_LEAD = 16.0  # a flow's label starts this far from where the flow starts
LABEL_GAP = 4.0
BOUNDARY_DROP = 12.0  # how far below a boundary event its flow turns when it cannot go straight

AX = tuple[str, str | int, float]  # ("left"|"right"|"cx"|"chan", item or channel, extra)
AY = tuple[str, str | int, float]  # ("row"|"top"|"bottom"|"margin"|"gap", item or band, extra)


@dataclass(slots=True)
class Item:
    """Something with a box in the grid: a node, or a data object / annotation beside one."""

    id: str
    width: float
    height: float
    label: tuple[float, float] = (0.0, 0.0)  # external label size below the shape
    below: float = 0.0  # extra height hanging below the shape (boundary events and their labels)
    gateway: bool = False
    marker: bool = False  # a loop or multi-instance marker at the bottom centre


@dataclass(slots=True)
class Boundary:
    id: str
    host: str
    label: tuple[float, float]


@dataclass(slots=True)
class RouteRequest:
    id: str
    edge: GraphEdge
    boundary: str | None  # the boundary event it leaves from
    label: tuple[float, float]


@dataclass(slots=True)
class ScopeDrawing:
    boxes: dict[str, Box] = field(default_factory=dict)
    labels: dict[str, Box] = field(default_factory=dict)
    routes: dict[str, list[Point]] = field(default_factory=dict)
    bands: list[tuple[float, float]] = field(default_factory=list)  # (top, height) per band
    width: float = 0.0
    height: float = 0.0


@dataclass(slots=True)
class _Vertical:
    channel: int
    lo: float
    hi: float
    group: str
    request: str


class ScopeGeometry:
    """Turns a Placement into boxes, routes and label bounds, origin at (0, 0)."""

    def __init__(
        self,
        placement: Placement,
        items: dict[str, Item],
        boundaries: list[Boundary],
        routes: list[RouteRequest],
        n_bands: int,
        left: float,
        anchors: dict[str, str],
        band_extra: Callable[[int], float] = lambda _b: 0.0,
    ) -> None:
        self.p = placement
        self.items = items
        self.boundaries = boundaries
        self.requests = routes
        self.n_bands = max(n_bands, 1)
        self.left = left
        self.band_extra = band_extra
        self.rows = [max(r, 1) for r in (placement.rows + [0] * self.n_bands)[: self.n_bands]]
        self.row_base = [sum(self.rows[:b]) for b in range(self.n_bands)]
        self.shapes_at: set[tuple[int, int]] = set()  # (rank, global row) holding a shape
        self.used_at: set[tuple[int, int]] = set()  # ... holding anything (shape or flow)
        for item, rank in placement.rank.items():
            g = self.grow(item)
            self.used_at.add((rank, g))
            if item in items:
                self.shapes_at.add((rank, g))
        self.paths: dict[str, list[tuple[AX, AY]]] = {}
        self.verticals: list[_Vertical] = []
        self.margin_tracks: dict[str, tuple[int, int]] = {}  # back edge -> (band, track)
        self.margin_count = [0] * self.n_bands
        self.boundary_of = {b.id: b for b in boundaries}
        self.boundaries_on: dict[str, list[str]] = {}
        for b in boundaries:
            self.boundaries_on.setdefault(b.host, []).append(b.id)
        self.merging: dict[str, int] = {}
        for request in routes:
            self.merging[request.edge.target] = self.merging.get(request.edge.target, 0) + 1
        self.margin_top: dict[int, float] = {}
        self._planning = ""
        self.anchors = anchors
        self.anchored = set(anchors.values())
        self.track_x: dict[str, float] = {}
        # Vertical runs through a node's own column: (node, boundary or "", rows crossed).
        self.drops: list[tuple[str, str, list[int]]] = []
        # Flow labels on a first segment: (source, row of the segment, label width, from centre).
        self.label_room: list[tuple[str, int, float, bool, str]] = []
        self.track_of: dict[tuple[int, str], int] = {}

    # --- the grid -----------------------------------------------------------------------------

    def grow(self, item: str) -> int:
        return self.row_base[self.p.band[item]] + self.p.row[item]

    def column_free(self, rank: int, g_from: int, g_to: int, end: str) -> bool:
        """No shape in column `rank` strictly between global rows g_from and g_to; the cell of
        g_to holds nothing at all ("empty"), no shape ("shape") or is not looked at ("none")."""
        step = 1 if g_to > g_from else -1
        for g in range(g_from + step, g_to, step):
            if (rank, g) in self.shapes_at:
                return False
        if end == "empty":
            return (rank, g_to) not in self.used_at
        if end == "shape":
            return (rank, g_to) not in self.shapes_at
        return True

    # --- abstract routes -------------------------------------------------------------------------

    def _vy(self, ay: AY) -> float:
        kind, ref, extra = ay
        if kind == "row":
            return float(ref) + extra
        if kind == "margin":
            return self.row_base[int(ref)] - 0.9 + 0.001 * extra
        if kind == "gap":
            return self.grow(str(ref)) + 0.45
        if kind == "top":
            return self.grow(str(ref)) - 0.3
        return self.grow(str(ref)) + 0.3

    def _vertical(self, channel: int, a: AY, b: AY, group: str) -> AX:
        lo, hi = sorted((self._vy(a), self._vy(b)))
        v = _Vertical(channel, lo, hi, group, self._planning)
        self.verticals.append(v)
        return ("chan", channel, float(len(self.verticals) - 1))

    def plan(self) -> None:
        for request in self.requests:
            self._planning = request.id
            if request.edge.id in self.p.back:
                self.paths[request.id] = self._plan_back(request)
            else:
                self.paths[request.id] = self._plan_forward(request)

    def _plan_forward(self, request: RouteRequest) -> list[tuple[AX, AY]]:
        e = request.edge
        chain = [e.source, *self.p.hops.get(e.id, []), e.target]
        rank = self.p.rank
        src, dst = e.source, e.target
        if rank[dst] <= rank[src]:  # a data object or annotation beside its node
            return self._plan_same_column(request)
        g_src, g_next = self.grow(src), self.grow(chain[1])
        points: list[tuple[AX, AY]] = []
        level = g_src
        if request.boundary is not None:
            b = request.boundary
            points.append((("cx", b, 0.0), ("bottom", b, 0.0)))
            if g_next > g_src and self.column_free(rank[src], g_src, g_next, "empty"):
                points.append((("cx", b, 0.0), ("row", g_next, 0.0)))
                self._drop(src, b, g_src, g_next)
            else:
                points.append((("cx", b, 0.0), ("gap", src, 0.0)))
                x = self._vertical(rank[src], ("gap", src, 0.0), ("row", g_next, 0.0), request.id)
                points += [(x, ("gap", src, 0.0)), (x, ("row", g_next, 0.0))]
            level = g_next
        elif (
            self._ports_free(src)
            and g_next != g_src
            and self.column_free(rank[src], g_src, g_next, "empty")
        ):
            side = "bottom" if g_next > g_src else "top"
            points.append((("cx", src, 0.0), (side, src, 0.0)))
            points.append((("cx", src, 0.0), ("row", g_next, 0.0)))
            self._drop(src, "", g_src, g_next)
            level = g_next
            if request.label[0]:
                self.label_room.append((src, g_next, request.label[0], True, request.id))
        else:
            points.append((("right", src, 0.0), ("row", g_src, 0.0)))
            if request.label[0]:
                self.label_room.append((src, g_src, request.label[0], False, request.id))
        for i in range(1, len(chain)):
            a, b = chain[i - 1], chain[i]
            gb = self.grow(b)
            if level == gb:
                continue
            last = i == len(chain) - 1
            if last and self._ports_free(dst) and self.column_free(rank[dst], gb, level, "empty"):
                side = "bottom" if level > gb else "top"
                points.append((("cx", dst, 0.0), ("row", level, 0.0)))
                points.append((("cx", dst, 0.0), (side, dst, 0.0)))
                self._drop(dst, "", gb, level)
                return points
            if last and self.merging.get(dst, 0) > 1:
                group = f"in:{dst}"
            elif i == 1:
                group = f"out:{src}"
            else:
                group = request.id
            x = self._vertical(rank[a], ("row", level, 0.0), ("row", gb, 0.0), group)
            points += [(x, ("row", level, 0.0)), (x, ("row", gb, 0.0))]
            level = gb
        points.append((("left", dst, 0.0), ("row", self.grow(dst), 0.0)))
        return points

    def _ports_free(self, item: str) -> bool:
        """May a flow leave or enter `item` at its top or bottom centre? Not where a marker or
        boundary events are drawn; data objects and annotations keep their one link."""
        it = self.items[item]
        return (
            item not in self.anchors
            and not it.marker
            and item not in self.boundaries_on
            and item not in self.anchored
        )

    def _drop(
        self, node: str, boundary: str, g_from: int, g_to: int, inclusive: bool = True
    ) -> None:
        """Remember a vertical run in `node`'s column from its row to g_to (or just short of it)."""
        step = 1 if g_to > g_from else -1
        end = g_to + step if inclusive else g_to
        self.drops.append((node, boundary, list(range(g_from + step, end, step))))

    def _plan_same_column(self, request: RouteRequest) -> list[tuple[AX, AY]]:
        src, dst = request.edge.source, request.edge.target
        rank = self.p.rank[src]
        gs, gd = self.grow(src), self.grow(dst)
        if gs != gd and self.column_free(rank, gs, gd, "shape"):
            down = gd > gs
            narrow = src if self.items[src].width <= self.items[dst].width else dst
            x: AX = ("cx", narrow, 0.0)
            self._drop(narrow, "", gs, gd, inclusive=False)
            return [
                (x, ("bottom" if down else "top", src, 0.0)),
                (x, ("top" if down else "bottom", dst, 0.0)),
            ]
        x = self._vertical(rank, ("row", gs, 0.0), ("row", gd, 0.0), request.id)
        return [
            (("right", src, 0.0), ("row", gs, 0.0)),
            (x, ("row", gs, 0.0)),
            (x, ("row", gd, 0.0)),
            (("right", dst, 0.0), ("row", gd, 0.0)),
        ]

    def _plan_back(self, request: RouteRequest) -> list[tuple[AX, AY]]:
        e = request.edge
        src, dst = e.source, e.target
        band = min(self.p.band[src], self.p.band[dst])
        track = self.margin_count[band]
        self.margin_count[band] += 1
        margin: AY = ("margin", band, float(track))
        top_row = self.row_base[band] - 1
        points: list[tuple[AX, AY]] = []
        if request.boundary is not None:
            b = request.boundary
            points.append((("cx", b, 0.0), ("bottom", b, 0.0)))
            points.append((("cx", b, 0.0), ("gap", src, 0.0)))
            x = self._vertical(self.p.rank[src], ("gap", src, 0.0), margin, request.id)
            points += [(x, ("gap", src, 0.0)), (x, margin)]
        elif self.column_free(self.p.rank[src], self.grow(src), top_row, "none"):
            points += [(("cx", src, 0.0), ("top", src, 0.0)), (("cx", src, 0.0), margin)]
            self._drop(src, "", self.grow(src), top_row, inclusive=False)
        else:
            g = self.grow(src)
            x = self._vertical(self.p.rank[src], ("row", g, 0.0), margin, request.id)
            points += [(("right", src, 0.0), ("row", g, 0.0)), (x, ("row", g, 0.0)), (x, margin)]
        g_dst = self.grow(dst)
        if self.column_free(self.p.rank[dst], g_dst, top_row, "none"):
            points += [(("cx", dst, 0.0), margin), (("cx", dst, 0.0), ("top", dst, 0.0))]
            self._drop(dst, "", g_dst, top_row, inclusive=False)
        else:
            x = self._vertical(self.p.rank[dst] - 1, margin, ("row", g_dst, 0.0), f"in:{dst}")
            points += [(x, margin), (x, ("row", g_dst, 0.0))]
            points.append((("left", dst, 0.0), ("row", g_dst, 0.0)))
        return points

    # --- coordinates ---------------------------------------------------------------------------

    def _channel_tracks(self) -> None:
        """Give every vertical run a track in its channel (runs whose heights overlap get
        different ones, left to right in the order they start); runs of one group share one."""
        merged: dict[tuple[int, str], list[float]] = {}
        for v in self.verticals:
            key = (v.channel, v.group)
            if key in merged:
                span = merged[key]
                span[0], span[1] = min(span[0], v.lo), max(span[1], v.hi)
            else:
                merged[key] = [v.lo, v.hi]
        by_channel: dict[int, list[tuple[float, float, str]]] = {}
        for (channel, group), (lo, hi) in merged.items():
            by_channel.setdefault(channel, []).append((lo, hi, group))
        for channel, spans in by_channel.items():
            ends: list[float] = []
            for lo, hi, group in sorted(spans):
                for t, end in enumerate(ends):
                    if end < lo - 0.05:
                        ends[t] = hi
                        self.track_of[(channel, group)] = t
                        break
                else:
                    ends.append(hi)
                    self.track_of[(channel, group)] = len(ends) - 1

    def _solve_x(self) -> tuple[dict[str, float], float]:
        """Centres of the shapes and x of the tracks (keyed "\x01channel\x01group")."""
        rank = self.p.rank
        anchors = self.anchors

        def var(item: str) -> str:
            return anchors.get(item, item)

        half = {i: max(it.width, it.label[0]) / 2 for i, it in self.items.items() if i in rank}
        rows: dict[int, list[tuple[int, str]]] = {}
        for item in half:
            rows.setdefault(self.grow(item), []).append((rank[item], item))
        ranks_in_row: dict[int, list[int]] = {}
        for g, members in rows.items():
            members.sort()
            ranks_in_row[g] = [r for r, _ in members]

        def left_of(g: int, limit: int) -> str | None:  # last shape at rank <= limit
            at = bisect.bisect_right(ranks_in_row.get(g, []), limit)
            return rows[g][at - 1][1] if at else None

        def right_of(g: int, limit: int) -> str | None:  # first shape at rank >= limit
            members = ranks_in_row.get(g, [])
            at = bisect.bisect_left(members, limit)
            return rows[g][at][1] if at < len(members) else None

        c = XConstraints()
        base = self.left + LEFT_PAD
        for item in half:
            c.var(var(item), (rank[item], 0, 0), base + half[item])
        spans: dict[str, tuple[int, float, float, int]] = {}
        for v in self.verticals:
            name = f"\x01{v.channel}\x01{v.group}"
            lo, hi = v.lo, v.hi
            if name in spans:
                lo, hi = min(lo, spans[name][1]), max(hi, spans[name][2])
            spans[name] = (v.channel, lo, hi, self.track_of[(v.channel, v.group)])
        for name, (channel, _lo, _hi, track) in spans.items():
            c.var(name, (channel, 1, track), self.left + TRACK)
        for members in rows.values():
            for (_ra, a), (_rb, b) in zip(members, members[1:], strict=False):
                c.at_least(var(a), var(b), half[a] + half[b] + SHAPE_GAP)
        by_channel: dict[int, list[tuple[int, float, float, str]]] = {}
        for name, (channel, lo, hi, track) in spans.items():
            by_channel.setdefault(channel, []).append((track, lo, hi, name))
            for g in range(math.ceil(lo - 1e-6), math.floor(hi + 1e-6) + 1):
                before, after = left_of(g, channel), right_of(g, channel + 1)
                if before is not None:
                    c.at_least(var(before), name, half[before] + TRACK_GAP)
                if after is not None:
                    c.at_least(name, var(after), half[after] + TRACK_GAP)
        for tracks in by_channel.values():
            tracks.sort()
            for i, (ti, lo_i, hi_i, name_i) in enumerate(tracks):
                for tj, lo_j, hi_j, name_j in tracks[i + 1 :]:
                    if tj > ti and lo_j <= hi_i + 0.05 and lo_i <= hi_j + 0.05:
                        c.at_least(name_i, name_j, TRACK)
        for node, boundary, crossed in self.drops:
            off = self._boundary_offset(node, boundary) if boundary else 0.0
            r = rank[node]
            for g in crossed:
                before, after = left_of(g, r - 1), right_of(g, r + 1)
                if before is not None:
                    c.at_least(var(before), var(node), half[before] + TRACK_GAP - off)
                if after is not None:
                    c.at_least(var(node), var(after), half[after] + TRACK_GAP + off)
        self._monotonic_paths(c, var)
        first_track: dict[str, str] = {}
        for v in self.verticals:
            first_track.setdefault(v.request, f"\x01{v.channel}\x01{v.group}")
        for src, g, width, from_centre, request in self.label_room:
            room = width + FLOW_LABEL_LEAD + LABEL_GAP
            first = first_track.get(request)
            if not from_centre and first is not None and spans[first][0] == rank[src]:
                c.at_least(var(src), first, half[src] + room)
                continue
            after = right_of(g, rank[src] + 1)
            if after is not None:
                lead = 0.0 if from_centre else half[src]
                c.at_least(var(src), var(after), lead + room + half[after])
        x = c.solve()
        self.solver = c
        self.track_x = {name: x[name] for name in spans}
        right = max([x[var(i)] + half[i] for i in half] + list(self.track_x.values()) + [base])
        return {i: x[var(i)] for i in half}, right + RIGHT_PAD

    def _monotonic_paths(self, c: XConstraints, var: Callable[[str], str]) -> None:
        """A forward flow never runs back left: each of its tracks stands right of the point
        before it and left of the point after it (rows of placeholders alone do not say so)."""
        rank = self.p.rank
        for request in self.requests:
            e = request.edge
            if e.id in self.p.back or rank[e.target] <= rank[e.source]:
                continue
            anchors: list[tuple[str, float, bool]] = []
            for ax, _ay in self.paths[request.id]:
                kind, ref, extra = ax
                if kind == "chan":
                    group = self.verticals[int(extra)].group
                    anchors.append((f"\x01{int(ref)}\x01{group}", 0.0, True))
                    continue
                item = str(ref)
                if item in self.boundary_of:
                    host = self.boundary_of[item].host
                    anchors.append((var(host), self._boundary_offset(host, item), False))
                    continue
                width = self.items[item].width
                offset = {"left": -width / 2, "right": width / 2}.get(kind, 0.0)
                anchors.append((var(item), offset, False))
            for (a, off_a, track_a), (b, off_b, track_b) in zip(anchors, anchors[1:], strict=False):
                if a != b and (track_a or track_b):
                    c.at_least(a, b, off_a - off_b + TRACK_GAP)

    def _boundary_offset(self, host: str, boundary: str) -> float:
        it = self.items[host]
        ids = self.boundaries_on[host]
        slots = boundary_slots(Box(-it.width / 2, 0, it.width, it.height), len(ids), it.marker)
        return slots[ids.index(boundary)]

    def compute(self) -> ScopeDrawing:
        self.plan()
        self._channel_tracks()
        centres, width = self._solve_x()

        # Rows: each as tall as its tallest content, labels and hanging boundary events included.
        n_rows = sum(self.rows)
        above = [0.0] * n_rows
        below = [0.0] * n_rows
        for item, it in self.items.items():
            if item not in self.p.rank:
                continue
            g = self.grow(item)
            label = it.label[1] + LABEL_GAP if it.label[1] else 0.0
            above[g] = max(above[g], it.height / 2, it.height / 2 + label if it.gateway else 0.0)
            below[g] = max(below[g], it.height / 2 + max(label, it.below))
        self.row_y: list[float] = [0.0] * n_rows
        self.bands: list[tuple[float, float]] = []
        y = 0.0
        for band in range(self.n_bands):
            top = y
            y += BAND_PAD + self.margin_count[band] * TRACK
            self.margin_top[band] = top + BAND_PAD
            for g in range(self.row_base[band], self.row_base[band] + self.rows[band]):
                a = max(above[g], 20.0) + ROW_PAD
                b = max(below[g], 20.0) + ROW_PAD
                self.row_y[g] = y + a
                y += a + b
            y += self.band_extra(band) + BAND_PAD
            self.bands.append((top, y - top))
        height = y

        drawing = ScopeDrawing(width=width, height=height, bands=self.bands)
        for item, it in self.items.items():
            if item in self.p.rank:
                cx = centres[item]
                cy = self.row_y[self.grow(item)]
                drawing.boxes[item] = Box(
                    cx - it.width / 2, cy - it.height / 2, it.width, it.height
                )
        self._place_boundaries(drawing)
        for rid, path in self.paths.items():
            drawing.routes[rid] = _simplify([self._point(ax, ay, drawing) for ax, ay in path])
        return drawing

    def _place_boundaries(self, drawing: ScopeDrawing) -> None:
        for host, ids in self.boundaries_on.items():
            box = drawing.boxes.get(host)
            if box is None:
                continue
            for bid, cx in zip(
                ids, boundary_slots(box, len(ids), self._has_marker(host)), strict=False
            ):
                drawing.boxes[bid] = Box(cx - 18, box.bottom - 18, 36, 36)

    def _has_marker(self, host: str) -> bool:
        return self.items[host].marker

    def _point(self, ax: AX, ay: AY, drawing: ScopeDrawing) -> Point:
        return (self._x(ax, drawing), self._y(ay, drawing))

    def _x(self, ax: AX, drawing: ScopeDrawing) -> float:
        kind, ref, _extra = ax
        if kind == "chan":
            v = self.verticals[int(_extra)]
            return round(self.track_x[f"\x01{int(ref)}\x01{v.group}"])
        box = drawing.boxes[str(ref)]
        if kind == "left":
            return box.x
        if kind == "right":
            return box.right
        return box.cx

    def _y(self, ay: AY, drawing: ScopeDrawing) -> float:
        kind, ref, extra = ay
        if kind == "row":
            return self.row_y[int(ref)]
        if kind == "margin":
            return self.margin_top[int(ref)] + extra * TRACK
        box = drawing.boxes[str(ref)]
        if kind == "gap":
            return box.bottom + 18 + BOUNDARY_DROP
        if kind == "top":
            return box.y
        return box.bottom


def boundary_slots(host: Box, count: int, marker: bool) -> list[float]:
    """Centres of `count` boundary events along a task's bottom edge: from the right, clear of
    the bottom-centre marker zone when the task has a marker (bpmn-js draws it there)."""
    zone = (host.cx - 17, host.cx + 17) if marker else (host.cx, host.cx)
    slots: list[float] = []
    cx = host.right - 22
    while len(slots) < count and cx - 18 >= host.x - 0.5:
        if marker and cx - 18 < zone[1] and cx + 18 > zone[0]:
            cx = zone[0] - 18 - 2
            continue
        slots.append(cx)
        cx -= 42
    while len(slots) < count:  # more than fit: the task is widened beforehand, so rare
        slots.append(host.x + 22)
    return slots


def boundary_host_width(count: int, marker: bool) -> float:
    return max(100.0, count * 42 + (36 if marker else 0) + 8)


def _simplify(points: list[Point]) -> list[Point]:
    out: list[Point] = []
    for p in points:
        p = (round(p[0]), round(p[1]))
        if out and out[-1] == p:
            continue
        if len(out) >= 2:
            (x0, y0), (x1, y1) = out[-2], out[-1]
            if (x0 == x1 == p[0]) or (y0 == y1 == p[1]):
                out[-1] = p
                continue
        out.append(p)
    return out
