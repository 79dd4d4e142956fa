"""Time limits declared on a process's elements, read from the BPMN document.

An analyst declares a limit with Camunda Modeler's own "Extension properties" (camunda:property
inside camunda:properties), naming a row of the limit table (config/time-limits.toml):

* ``timeLimit.start`` = ``A-T-SCHEME`` — the clock starts when this element completes;
* ``timeLimit.stop`` = ``A-T-SCHEME`` — the clock stops when this element completes;
* ``timeLimit.stopAtClaim`` = ``A-T-MID`` — the clock stops when work on this user task starts:
  when someone claims it (or, if nobody claimed it, when it completes). For limits the
  regulation measures to the start of a step (中间检查: from the request to the inspection's
  start-up);
* ``timeLimit.pause`` = ``A-T-SCHEME`` — the clock stands still while this element is open
  (a wait on the customer: the correction the customer owes, an objection being negotiated).

A value may name several limits, separated by commas. Nothing is drawn: the service runs the
clocks (services/clocks.py). The steps a limit covers are the elements on some path from one of
its starts to one of its stops; their tasks are due when the limit ends, and the case diagram
shades them.
"""

from __future__ import annotations

import difflib
import re
from collections import deque
from dataclasses import dataclass, field, replace

from lxml import etree

from bpmn_service.errors import BpmnProblem

from .bpmn_xml import BPMN_NS, SAFE_XML_PARSER, local_name, with_lf_lines
from .camunda_ext import CAMUNDA_NS

ROLES = ("start", "stop", "stopAtClaim", "pause")
PREFIX = "timeLimit."
NAMES = tuple(PREFIX + r for r in ROLES)
CODE = "structure.time-limit"
RENAME_HINT = (
    "correct the property's name in the element's Extension properties (Camunda Modeler); "
    f"names are case-sensitive: {', '.join(NAMES)}"
)
ROW_HINT = "name a row of the limit table (config/time-limits.toml), several separated by commas"
_LIMIT_ID = re.compile(r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*")
# Elements a clock cannot sensibly start, stop or pause at.
_NOT_STEPS = {
    "sequenceFlow",
    "laneSet",
    "lane",
    "dataObject",
    "dataObjectReference",
    "textAnnotation",
}


@dataclass(frozen=True)
class DeclaredLimit:
    """One limit of a process: where its clock starts, stops and pauses, and what it covers."""

    limit_id: str
    starts: tuple[str, ...]
    stops: tuple[str, ...]  # stops at completion, the stopAtClaim ones included
    pauses: tuple[str, ...] = ()
    claim_stops: tuple[str, ...] = ()  # also stop when claimed
    line: int | None = field(default=None, compare=False)  # first declared here, for problems
    covered: tuple[str, ...] = ()  # the steps between a start and a stop, stops included


@dataclass(frozen=True)
class LimitUse:
    """One row named by one timeLimit.* property: where a problem with that name is told."""

    limit_id: str
    role: str
    element: str
    line: int | None


@dataclass(frozen=True)
class Declarations:
    limits: dict[str, DeclaredLimit] = field(default_factory=dict)
    # every malformed declaration, each at its line and element
    problems: tuple[BpmnProblem, ...] = ()
    # every row a well-formed property names, so that a row the table lacks is told where it is
    uses: tuple[LimitUse, ...] = ()
    # the limits without a start or without a stop: their problem (also in `problems`), by id
    incomplete: dict[str, BpmnProblem] = field(default_factory=dict)
    # those problems without the guess at a misspelt row, for where the table has the row
    unguessed: dict[str, BpmnProblem] = field(default_factory=dict)

    def by_element(self, role: str) -> dict[str, tuple[str, ...]]:
        """Element id -> the limits it starts (role "start"), stops ("stop"), stops when
        claimed ("claim_stop") or pauses ("pause")."""
        found: dict[str, list[str]] = {}
        for limit in self.limits.values():
            for element in getattr(limit, role + "s"):
                found.setdefault(element, []).append(limit.limit_id)
        return {k: tuple(v) for k, v in found.items()}


def read_declarations(xml: str | bytes, process_id: str, filename: str = "") -> Declarations:
    """The limits declared in process ``process_id`` of an already-validated BPMN document."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    root = etree.fromstring(with_lf_lines(data), SAFE_XML_PARSER)
    process = root.find(f"{{{BPMN_NS}}}process[@id='{process_id}']")
    if process is None:
        return Declarations()
    return declarations_in(process, filename)


def declarations_in(process: etree._Element, filename: str = "") -> Declarations:
    """The limits declared in a parsed process element (see read_declarations)."""
    roles: dict[str, dict[str, list[str]]] = {}
    lines: dict[str, int | None] = {}
    problems: list[BpmnProblem] = []
    uses: list[LimitUse] = []
    misnamed: dict[str, list[str]] = {}  # limit id -> what a misspelt property naming it says
    for prop in process.iter(f"{{{CAMUNDA_NS}}}property"):
        name = (prop.get("name") or "").strip()
        # timelimit.start, TimeLimit.stop: meant as declarations, but not read as written.
        if not name.lower().startswith(PREFIX.lower()):
            continue
        owner = prop.getparent()
        while owner is not None and not owner.get("id"):
            owner = owner.getparent()
        element = owner.get("id") if owner is not None else None
        role = name[len(PREFIX) :] if name.startswith(PREFIX) else ""

        def problem(
            message: str, hint: str, line: int | None = prop.sourceline, at: str | None = element
        ) -> None:
            problems.append(BpmnProblem(message, filename, line, at, CODE, hint))

        if role not in ROLES:
            meant = closest(name, NAMES)
            problem(
                f"extension property {name!r}: expected one of {', '.join(NAMES)}"
                + (f"; did you mean {meant}?" if meant else ""),
                RENAME_HINT,
            )
            for limit_id in (p.strip() for p in (prop.get("value") or "").split(",")):
                said = f"{name!r} on {element} (line {prop.sourceline}) names it"
                misnamed.setdefault(limit_id, []).append(said)
            continue
        if owner is None or local_name(owner.tag) in _NOT_STEPS or owner is process:
            problem(
                f"extension property {name!r} must be on a task, event or gateway",
                "move the property to the step where the clock starts, stops or pauses",
            )
            continue
        for limit_id in (p.strip() for p in (prop.get("value") or "").split(",")):
            if not _LIMIT_ID.fullmatch(limit_id):
                problem(
                    f"extension property {name!r} = {prop.get('value')!r}: name a row of the "
                    f"limit table, like 'A-T-SCHEME' (several separated by commas)",
                    ROW_HINT,
                )
                continue
            roles.setdefault(limit_id, {r: [] for r in ROLES})[role].append(str(element))
            lines.setdefault(limit_id, prop.sourceline)
            uses.append(LimitUse(limit_id, role, str(element), prop.sourceline))
    graph = _flows(process)
    limits: dict[str, DeclaredLimit] = {}
    incomplete: dict[str, BpmnProblem] = {}
    unguessed: dict[str, BpmnProblem] = {}
    for limit_id, by_role in roles.items():
        claim_stops = tuple(by_role["stopAtClaim"])
        starts, stops = tuple(by_role["start"]), tuple(by_role["stop"]) + claim_stops
        if not starts or not stops:
            missing = "timeLimit.start" if not starts else "timeLimit.stop (or stopAtClaim)"
            where = (starts or stops or tuple(by_role["pause"]))[0]
            line = next(u.line for u in uses if u.limit_id == limit_id and u.element == where)
            # A misspelt property naming this limit is most likely the missing one.
            said = "".join(f"; {s}: misspelt?" for s in misnamed.get(limit_id, []))
            hint = f"add the {missing} property to the step where the clock " + (
                "starts" if not starts else "stops"
            )
            # So is a misspelt row that a limit declared in full resembles (without a limit
            # table to look the row up in).
            meant = closest(limit_id, [k for k in roles if k != limit_id and _complete(roles[k])])
            plain = BpmnProblem(
                f"time limit {limit_id} has no element with {missing}; a clock needs both a "
                f"start and a stop{said}",
                filename,
                line,
                where,
                CODE,
                hint,
            )
            incomplete[limit_id] = plain
            if meant is not None:
                on = ", ".join(
                    dict.fromkeys(e for elements in roles[meant].values() for e in elements)
                )
                incomplete[limit_id] = replace(
                    plain,
                    message=f"{plain.message}; did you mean {meant}, declared on {on}?",
                    hint=f"write {meant} in the element's Extension properties, or {hint}",
                )
                unguessed[limit_id] = plain
            problems.append(incomplete[limit_id])
            continue
        limits[limit_id] = DeclaredLimit(
            limit_id,
            starts,
            stops,
            pauses=tuple(by_role["pause"]),
            claim_stops=claim_stops,
            covered=_covered(graph, starts, stops),
            line=lines.get(limit_id),
        )
    return Declarations(limits, tuple(problems), tuple(uses), incomplete, unguessed)


def _complete(by_role: dict[str, list[str]]) -> bool:
    return bool(by_role["start"]) and bool(by_role["stop"] or by_role["stopAtClaim"])


def closest(word: str, choices: tuple[str, ...] | list[str]) -> str | None:
    """The choice `word` most likely misspells (case aside), if any is close enough."""
    lowered = {c.lower(): c for c in choices}
    found = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[found[0]] if found else None


def _flows(process: etree._Element) -> dict[str, list[str]]:
    """Successors of every element: sequence flows, plus an activity's boundary events."""
    graph: dict[str, list[str]] = {}
    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if source and target:
            graph.setdefault(source, []).append(target)
    for boundary in process.iter(f"{{{BPMN_NS}}}boundaryEvent"):
        host, event = boundary.get("attachedToRef"), boundary.get("id")
        if host and event:
            graph.setdefault(host, []).append(event)
    return graph


def _covered(
    graph: dict[str, list[str]], starts: tuple[str, ...], stops: tuple[str, ...]
) -> tuple[str, ...]:
    ahead = _reach(graph, starts, set(stops) | set(starts))
    backwards: dict[str, list[str]] = {}
    for source, targets in graph.items():
        for target in targets:
            backwards.setdefault(target, []).append(source)
    behind = _reach(backwards, stops, set(starts))
    return tuple(sorted((ahead & behind) | (set(stops) & ahead)))


def _reach(graph: dict[str, list[str]], origins: tuple[str, ...], barriers: set[str]) -> set[str]:
    """Elements reachable from the origins (not the origins themselves, unless reached again),
    never walking on past a barrier."""
    seen: set[str] = set()
    queue = deque(origins)
    while queue:
        node = queue.popleft()
        for nxt in graph.get(node, []):
            if nxt in seen:
                continue
            seen.add(nxt)
            if nxt not in barriers:
                queue.append(nxt)
    return seen
