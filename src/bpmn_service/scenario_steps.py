"""The element ids a simulation scenario (config/simulation.toml) names, with their lines.

A step's id is the BPMN element's id, so a deployment that renames the element leaves the
scenario naming nothing, and what-if simulations of that process fail. A deployment warns of it
(services/scenario_drift.py), and the simulation's own check names the entry the same way
(simulation/runner.py). Plain TOML reading: a foundation module every layer may use.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass

_KEY = re.compile(r"""\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*""")
_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _key_path(text: str) -> list[str] | None:
    """The keys of a dotted TOML key (``a."b-c".d``), or None when it is not one."""
    keys: list[str] = []
    pos = 0
    while True:
        match = _KEY.match(text, pos)
        if not match or match.end() == pos:
            return None
        keys.append(next(g for g in match.groups() if g is not None))
        pos = match.end()
        if pos >= len(text):
            return keys
        if text[pos] != ".":
            return None
        pos += 1


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Line number (1-based) of every table header and key written in a TOML text."""
    lines: dict[tuple[str, ...], int] = {}
    table: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            inner = line.lstrip("[").split("]", 1)[0]
            keys = _key_path(inner)
            if keys is not None:
                table = keys
                lines.setdefault(tuple(table), number)
            continue
        if "=" in line:
            keys = _key_path(line.split("=", 1)[0])
            if keys is not None:
                lines.setdefault((*table, *keys), number)
    return lines


def entry_name(path: tuple[str, ...]) -> str:
    """How the file writes the entry at ``path``: a step as its table header
    ``[processes.k.steps.A-UT01]``, any other key dotted."""
    dotted = ".".join(k if _BARE.fullmatch(k) else f'"{k}"' for k in path)
    return f"[{dotted}]" if len(path) == 4 and path[2] == "steps" else dotted


def close_match(element: str, ids: Iterable[str]) -> str | None:
    """The id `element` was most likely renamed to, if one is close (a typo, a suffix)."""
    found = difflib.get_close_matches(element, sorted(ids), n=1, cutoff=0.7)
    return found[0] if found else None


@dataclass(frozen=True, slots=True)
class StepEntry:
    """One element id the scenario names for a process: a step table or a lead_time_end id."""

    process: str
    element: str
    path: tuple[str, ...]
    line: int | None

    @property
    def entry(self) -> str:
        return entry_name(self.path)


def step_entries(text: str, process: str) -> list[StepEntry]:
    """The element ids the scenario names for ``process``; none for a text that is not TOML
    (the simulation refuses such a file itself, with its line)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return []
    table = data.get("processes", {}).get(process)
    if not isinstance(table, dict):
        return []
    lines = key_lines(text)
    base = ("processes", process)
    found: list[StepEntry] = []
    ends = table.get("lead_time_end", ())
    end_path = (*base, "lead_time_end")
    for element in [ends] if isinstance(ends, str) else ends:
        if isinstance(element, str):
            found.append(StepEntry(process, element, end_path, lines.get(end_path)))
    steps = table.get("steps", {})
    for element in steps if isinstance(steps, dict) else ():
        step_path = (*base, "steps", str(element))
        found.append(StepEntry(process, str(element), step_path, lines.get(step_path)))
    return found
