"""Layered placement of one scope's nodes in lanes: columns (ranks), order and rows within lanes.

Sugiyama's scheme with lanes as fixed horizontal bands:
1. back edges (rework loops) are found by a depth-first search from the start events and drawn
   around instead of being ranked;
2. ranks are longest paths from the starts, then nodes with more outgoing than incoming flows
   move right towards their successors (the step of network simplex that shortens edges most);
3. a flow spanning several ranks gets a placeholder in each rank it crosses, in its source's lane,
   so that its horizontal run owns a free slot and never passes through a shape;
4. the order inside each (rank, lane) cell comes from barycenter sweeps, lanes staying in file
   order; the main path (the longest way to an end) is visited first and so keeps the top row;
5. rows: each item takes the row of its predecessor in the same lane when free, so chains are
   straight lines, and a flow leaving a boundary event goes one row below the task.
Everything is deterministic: ties are broken by file order.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

SWEEPS = 8
BAND_STRIDE = 1_000_000.0


@dataclass(frozen=True, slots=True)
class GraphEdge:
    id: str
    source: str  # the host task for a flow leaving a boundary event
    target: str
    from_below: bool = False  # leaves a boundary event on the source's bottom edge


@dataclass(slots=True)
class Placement:
    rank: dict[str, int]
    band: dict[str, int]
    row: dict[str, int]
    back: set[str]  # ids of edges drawn as loops back
    hops: dict[str, list[str]]  # edge id -> placeholder items in the ranks it crosses
    ranks: int
    rows: list[int]  # rows used in each band
    cells: dict[tuple[int, int], list[str]] = field(default_factory=dict)


def _back_edges(nodes: list[str], succ: dict[str, list[GraphEdge]], roots: list[str]) -> set[str]:
    state: dict[str, int] = {}
    back: set[str] = set()
    for root in roots + nodes:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(succ[root]))]
        while stack:
            node, it = stack[-1]
            edge = next(it, None)
            if edge is None:
                state[node] = 2
                stack.pop()
                continue
            seen = state.get(edge.target)
            if seen == 1:
                back.add(edge.id)
            elif seen is None:
                state[edge.target] = 1
                stack.append((edge.target, iter(succ[edge.target])))
    return back


def _topological(nodes: list[str], dag: dict[str, list[str]]) -> list[str]:
    index = {n: i for i, n in enumerate(nodes)}
    indegree = dict.fromkeys(nodes, 0)
    for targets in dag.values():
        for t in targets:
            indegree[t] += 1
    ready = [(index[n], n) for n in nodes if indegree[n] == 0]
    heapq.heapify(ready)
    out: list[str] = []
    while ready:
        _, node = heapq.heappop(ready)
        out.append(node)
        for t in dag[node]:
            indegree[t] -= 1
            if indegree[t] == 0:
                heapq.heappush(ready, (index[t], t))
    return out


def _ranks(nodes: list[str], dag: dict[str, list[str]], topo: list[str]) -> dict[str, int]:
    rank = dict.fromkeys(nodes, 0)
    for node in topo:
        for t in dag[node]:
            rank[t] = max(rank[t], rank[node] + 1)
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    for s, targets in dag.items():
        for t in targets:
            preds[t].append(s)
    # Pull a node towards its successors when that shortens more flows than it lengthens.
    for node in reversed(topo):
        if dag[node] and len(dag[node]) > len(preds[node]):
            rank[node] = max(rank[node], min(rank[t] for t in dag[node]) - 1)
    return rank


def _preorder(
    roots: list[str], nodes: list[str], dag: dict[str, list[str]], topo: list[str]
) -> dict[str, int]:
    """Depth-first visiting order, longest remaining path first: the main path comes first."""
    height = dict.fromkeys(nodes, 0)
    for node in reversed(topo):
        for t in dag[node]:
            height[node] = max(height[node], height[t] + 1)
    index = {n: i for i, n in enumerate(nodes)}
    order: dict[str, int] = {}
    for root in roots + nodes:
        if root in order:
            continue
        stack = [root]
        while stack:
            node = stack.pop()
            if node in order:
                continue
            order[node] = len(order)
            children = sorted(dag[node], key=lambda t: (-height[t], index[t]))
            stack.extend(reversed([c for c in children if c not in order]))
    return order


def _straighten(
    edges: list[GraphEdge],
    hops: dict[str, list[str]],
    row: dict[str, int],
    rank: dict[str, int],
    band: dict[str, int],
    rows: list[int],
) -> None:
    """Put the placeholders of one long flow on one row when that row is free all along, so the
    flow runs straight instead of stepping between rows."""
    used: dict[tuple[int, int], set[int]] = {}
    for item, r in rank.items():
        used.setdefault((r, band[item]), set()).add(row[item])
    for e in edges:
        chain = hops.get(e.id, [])
        if len({row[d] for d in chain}) < 2:
            continue
        b = band[chain[0]]
        candidates = [row[e.source]] if band[e.source] == b else []
        candidates += [row[e.target]] if band[e.target] == b else []
        candidates += sorted({row[d] for d in chain}, reverse=True)
        for target in candidates:
            if all(row[d] == target or target not in used[(rank[d], b)] for d in chain):
                for d in chain:
                    used[(rank[d], b)].discard(row[d])
                    row[d] = target
                    used[(rank[d], b)].add(target)
                rows[b] = max(rows[b], target + 1)
                break


def place(
    nodes: list[str],
    band: dict[str, int],
    edges: list[GraphEdge],
    satellites: dict[str, tuple[str, float]],
    starts: list[str],
) -> Placement:
    """Place `nodes` (file order) and `satellites` (item -> (anchor, order bias))."""
    succ: dict[str, list[GraphEdge]] = {n: [] for n in nodes}
    has_pred: set[str] = set()
    for e in edges:
        succ[e.source].append(e)
        has_pred.add(e.target)
    roots = [n for n in starts if n not in has_pred] + [n for n in nodes if n not in has_pred]
    back = _back_edges(nodes, succ, roots)
    dag: dict[str, list[str]] = {n: [] for n in nodes}
    for e in edges:
        if e.source == e.target:
            continue
        s, t = (e.target, e.source) if e.id in back else (e.source, e.target)
        if t not in dag[s]:
            dag[s].append(t)
    topo = _topological(nodes, dag)
    rank = _ranks(nodes, dag, topo)
    low = min(rank.values(), default=0)
    rank = {n: r - low for n, r in rank.items()}
    preorder = _preorder(roots, nodes, dag, topo)
    item_band = dict(band)
    item_key: dict[str, float] = {n: float(preorder[n]) for n in nodes}

    # Placeholders for flows that span ranks; links join consecutive ranks.
    up: dict[str, list[tuple[str, bool]]] = {}
    down: dict[str, list[tuple[str, bool]]] = {}
    hops: dict[str, list[str]] = {}
    for e in edges:
        if e.id in back or e.source == e.target:
            continue
        chain = [e.source]
        for k in range(rank[e.source] + 1, rank[e.target]):
            dummy = f"\x00{e.id}\x00{k}"
            rank[dummy] = k
            item_band[dummy] = band[e.source]
            item_key[dummy] = preorder[e.source] + 0.5
            chain.append(dummy)
        chain.append(e.target)
        hops[e.id] = chain[1:-1]
        for i, (a, b) in enumerate(zip(chain, chain[1:], strict=False)):
            below = e.from_below and i == 0
            down.setdefault(a, []).append((b, below))
            up.setdefault(b, []).append((a, below))
    for sat, (anchor, _bias) in satellites.items():
        rank[sat] = rank[anchor]
        item_band[sat] = item_band[anchor]
        item_key[sat] = item_key[anchor]

    ranks = max(rank.values(), default=-1) + 1
    cells: dict[tuple[int, int], list[str]] = {}
    for item in sorted(rank, key=lambda i: (item_key[i], i)):
        cells.setdefault((rank[item], item_band[item]), []).append(item)
    by_rank: dict[int, list[tuple[int, int]]] = {}
    for cell in sorted(cells):
        by_rank.setdefault(cell[0], []).append(cell)
    pos: dict[str, float] = {}

    def renumber(cell: tuple[int, int]) -> None:
        for i, item in enumerate(cells[cell]):
            pos[item] = cell[1] * BAND_STRIDE + i

    for cell in cells:
        renumber(cell)

    def sweep(r: int, links: dict[str, list[tuple[str, bool]]]) -> None:
        for cell in by_rank.get(r, []):
            items = cells[cell]
            keyed: list[tuple[float, int, str]] = []
            placed = [i for i in items if i not in satellites]
            for i, item in enumerate(placed):
                neighbours = links.get(item, [])
                if neighbours:
                    bary = sum(pos[n] + (0.5 if below else 0.0) for n, below in neighbours) / len(
                        neighbours
                    )
                else:
                    bary = pos[item]
                keyed.append((bary, i, item))
            keyed.sort()
            ordered = [item for _, _, item in keyed]
            for sat in [i for i in items if i in satellites]:
                anchor, bias = satellites[sat]
                at = ordered.index(anchor) if anchor in ordered else len(ordered) - 1
                ordered.insert(at + (1 if bias > 0 else 0), sat)
            cells[cell] = ordered
            renumber(cell)

    for n in range(SWEEPS):
        if n % 2 == 0:
            for r in range(1, ranks):
                sweep(r, up)
        else:
            for r in range(ranks - 2, -1, -1):
                sweep(r, down)
    for r in range(1, ranks):
        sweep(r, up)

    # Rows: keep the row of a same-lane predecessor when the cell order allows it.
    row: dict[str, int] = {}
    bands = max(item_band.values(), default=-1) + 1
    rows = [0] * bands
    for r in range(ranks):
        for cell in by_rank.get(r, []):
            previous = -1
            for item in cells[cell]:
                desired = 0
                if item in satellites:
                    anchor, bias = satellites[item]
                    desired = row.get(anchor, 0) + (1 if bias > 0 else 0)
                else:
                    same_band = [
                        (row[n] + (1 if below else 0))
                        for n, below in up.get(item, [])
                        if item_band[n] == cell[1] and n in row
                    ]
                    if same_band:
                        desired = min(same_band)
                row[item] = max(desired, previous + 1)
                previous = row[item]
                rows[cell[1]] = max(rows[cell[1]], row[item] + 1)
    _straighten(edges, hops, row, rank, item_band, rows)
    return Placement(
        rank=rank,
        band=item_band,
        row=row,
        back=back,
        hops=hops,
        ranks=ranks,
        rows=rows,
        cells=cells,
    )
