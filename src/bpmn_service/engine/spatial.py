"""A uniform grid of buckets over boxes, so that "what overlaps this?" costs about the size of the
answer instead of the size of the diagram (diagrams with thousands of elements stay linear)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from .diagram import Box

T = TypeVar("T")
CELL = 120.0
# A box spanning more cells than this (a pool, a lane) goes to a side list instead of the grid.
MAX_CELLS = 64


class GridIndex(Generic[T]):
    def __init__(self, cell: float = CELL) -> None:
        self._cell = cell
        self._buckets: dict[tuple[int, int], list[int]] = {}
        self._large: list[int] = []
        self._items: list[tuple[Box, T]] = []

    def _cells(self, box: Box) -> tuple[range, range]:
        c = self._cell
        return (
            range(int(box.x // c), int(box.right // c) + 1),
            range(int(box.y // c), int(box.bottom // c) + 1),
        )

    def add(self, box: Box, item: T) -> None:
        index = len(self._items)
        self._items.append((box, item))
        xs, ys = self._cells(box)
        if len(xs) * len(ys) > MAX_CELLS:
            self._large.append(index)
            return
        for gx in xs:
            for gy in ys:
                self._buckets.setdefault((gx, gy), []).append(index)

    def near(self, box: Box) -> Iterator[tuple[Box, T]]:
        """Every stored box whose grid cells meet `box`'s (a superset of those overlapping it)."""
        seen: set[int] = set()
        xs, ys = self._cells(box)
        candidates: list[int] = list(self._large)
        if len(xs) * len(ys) > MAX_CELLS:
            # A long box (a flow's long segment): the filled cells inside it, not every cell.
            for (gx, gy), bucket in self._buckets.items():
                if gx in xs and gy in ys:
                    candidates.extend(bucket)
        else:
            for gx in xs:
                for gy in ys:
                    candidates.extend(self._buckets.get((gx, gy), ()))
        for index in candidates:
            if index not in seen:
                seen.add(index)
                yield self._items[index]

    def items(self) -> Iterator[tuple[Box, T]]:
        """Every stored box and its item, in the order added."""
        return iter(self._items)

    def overlapping(self, box: Box, margin: float = 0.0) -> Iterator[tuple[Box, T]]:
        for other, item in self.near(box):
            if box.overlaps(other, margin):
                yield other, item
