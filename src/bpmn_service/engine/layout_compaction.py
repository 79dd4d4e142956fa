"""Horizontal compaction: the left-most x for every shape and flow track that keeps the drawing
clean, as a longest path over difference constraints (x_v >= x_u + d).

Columns shared by all lanes waste width wherever one lane has a wide task and the others a narrow
gateway or nothing at all. Here every row packs to the left on its own; only what the drawing
needs ties rows together: a vertical flow run must stand clear of every shape in every row it
crosses, and a flow label needs room on its first segment. The constraints only ever point from a
lower (rank, phase) key to a higher one, so one pass in key order solves them.
"""

from __future__ import annotations

Key = tuple[int, int, int]


class XConstraints:
    def __init__(self) -> None:
        self._key: dict[str, Key] = {}
        self._low: dict[str, float] = {}
        self._arcs: dict[str, list[tuple[str, float]]] = {}

    def var(self, name: str, key: Key, minimum: float) -> None:
        """Declare `name` (a centre or a track) with its topological key and least value."""
        self._key[name] = key
        self._low[name] = max(self._low.get(name, minimum), minimum)

    def at_least(self, before: str, after: str, distance: float) -> None:
        """x[after] >= x[before] + distance."""
        if self._key[before] >= self._key[after]:
            raise ValueError(f"constraint {before} -> {after} points backwards")
        self._arcs.setdefault(before, []).append((after, distance))

    def solve(self) -> dict[str, float]:
        x = dict(self._low)
        self.binding: dict[str, tuple[str, float]] = {}
        for name in sorted(self._key, key=lambda n: (self._key[n], n)):
            here = x[name]
            for after, distance in self._arcs.get(name, ()):
                if x[after] < here + distance:
                    x[after] = here + distance
                    self.binding[after] = (name, distance)
        return x
