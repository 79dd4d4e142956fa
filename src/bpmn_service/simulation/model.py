"""A deployed BPMN model as the simulation sees it: the compiled spec, its elements and forms.

The model is compiled by the engine exactly as a deployment does (same parser, same checks, same
lane-groups file), then read for what the driver needs: every element's kind, lane, groups, form
fields, report properties (customerProcedure, hallVisit) and message name. Submissions for user
tasks start from the values recorded in the process's path file (processes/paths/<key>.json:
valid values for every user task, by element id), fill what is still required from the field's
type and constraints, and are then validated with the engine's own form validation.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bpmn_service.engine import FormField, compile_bpmn, validate
from bpmn_service.engine.live import LiveProcess
from bpmn_service.engine.report_marks import lead_time_ends
from bpmn_service.errors import InvalidBpmn
from bpmn_service.lanes import LaneGroups
from bpmn_service.services.projection import EXTERNAL_GROUPS
from bpmn_service.timelimits import CATEGORIES

from .limits import ProcessLimits

USER_TASK = "UserTask"
EXTERNAL_TASK = "ExternalTask"
MESSAGE_WAIT = "MessageWait"
START_EVENT = "StartEvent"


@dataclass(frozen=True)
class Element:
    id: str
    kind: str
    name: str
    lane: str | None
    groups: tuple[str, ...]  # from candidateGroups (literal) or the lane; () when dynamic
    dynamic_groups: bool
    fields: tuple[FormField, ...] = ()
    properties: Mapping[str, str] = field(default_factory=dict)
    message: str | None = None
    topic: str | None = None

    @property
    def external_party(self) -> bool:
        return bool(self.groups) and set(self.groups) <= EXTERNAL_GROUPS


@dataclass
class SimModel:
    key: str
    name: str | None
    spec_json: str
    start_form: list[FormField]
    elements: dict[str, Element]
    lanes: set[str]
    start_values: dict[str, dict[str, Any]]
    recorded: dict[str, dict[str, list[dict[str, Any]]]]  # element -> category -> values
    bpmn: bytes = b""
    filename: str = ""
    # The recorded paths the values came from; None where none were found.
    values_file: Path | None = None
    # The time limits the model declares (timeLimit.* extension properties).
    time_limits: ProcessLimits | None = None

    def live(self) -> LiveProcess:
        """A live process of the model, reporting the completions its time limits follow."""
        watched = self.time_limits.watched if self.time_limits is not None else frozenset()
        return LiveProcess(self.spec_json, watched)

    @functools.cached_property
    def lead_time_end(self) -> frozenset[str]:
        """The user tasks whose completion is power-on (the leadTimeEnd property), read as the
        service's reports read them (engine/report_marks.py)."""
        return lead_time_ends(self.bpmn, self.key)

    def field_ids(self) -> set[str]:
        ids = {f.id for f in self.start_form}
        for element in self.elements.values():
            ids.update(f.id for f in element.fields)
        return ids


def load_model(key: str, bpmn_file: Path, values_file: Path | None, lanes: LaneGroups) -> SimModel:
    """Compile ``bpmn_file`` (ValueError when it is invalid or not process ``key``)."""
    try:
        data = bpmn_file.read_bytes()
    except OSError as exc:
        raise ValueError(f"{bpmn_file}: cannot read the model: {exc.strerror}") from None
    try:
        compiled = compile_bpmn(data, str(bpmn_file), lanes.has_groups)
    except InvalidBpmn as exc:
        raise ValueError(exc.message) from None
    if compiled.key != key:
        raise ValueError(f"{bpmn_file} defines process {compiled.key!r}, not {key!r}")
    spec = json.loads(compiled.spec_json)
    elements: dict[str, Element] = {}
    lane_names: set[str] = set()
    specs = [spec["spec"], *spec.get("subprocess_specs", {}).values()]
    for process_spec in specs:
        for ts in process_spec["task_specs"].values():
            element = _element(key, ts, lanes)
            if element is None:
                continue
            if element.lane:
                lane_names.add(element.lane)
            known = elements.get(element.id)
            # A multi-instance task appears as its wrapper and its [child] user task.
            if known is None or (known.kind not in (USER_TASK, EXTERNAL_TASK)):
                elements[element.id] = element
    start_values, recorded = _recorded(values_file)
    return SimModel(
        key=key,
        name=compiled.name,
        spec_json=compiled.spec_json,
        start_form=list(compiled.start_form),
        elements=elements,
        lanes=lane_names,
        start_values=start_values,
        recorded=recorded,
        bpmn=data,
        filename=bpmn_file.name,
        values_file=values_file if values_file is not None and values_file.exists() else None,
        time_limits=ProcessLimits.read(key, data, str(bpmn_file)),
    )


def _element(key: str, ts: dict[str, Any], lanes: LaneGroups) -> Element | None:
    bpmn_id = ts.get("bpmn_id")
    if not bpmn_id:
        return None
    ext = ts.get("extensions") or {}
    typename = ts.get("typename", "")
    lane = ts.get("lane")
    raw_groups = ext.get("candidateGroups")
    dynamic = bool(raw_groups) and str(raw_groups).strip().startswith("${")
    if raw_groups and not dynamic:
        groups = tuple(g.strip() for g in str(raw_groups).split(",") if g.strip())
    else:
        groups = tuple(lanes.groups_for(key, lane))
    definition = ts.get("event_definition") or {}
    if typename == "UserTask":
        kind = USER_TASK
    elif ext.get("topic"):
        kind = EXTERNAL_TASK
    elif definition.get("typename") == "MessageEventDefinition" and typename in (
        "IntermediateCatchEvent",
        "ReceiveTask",
        "BoundaryEvent",
    ):
        kind = MESSAGE_WAIT
    elif typename == "StartEvent" and ts.get("name") == bpmn_id:
        kind = START_EVENT
    else:
        kind = typename
    return Element(
        id=bpmn_id,
        kind=kind,
        name=ts.get("bpmn_name") or bpmn_id,
        lane=lane,
        groups=groups,
        dynamic_groups=dynamic,
        fields=tuple(FormField.from_dict(f) for f in ext.get("formFields", [])),
        properties=dict(ext.get("properties", {})),
        message=definition.get("name") if kind == MESSAGE_WAIT else None,
        topic=ext.get("topic"),
    )


def _path_category(name: str, data: dict[str, Any]) -> str | None:
    for mapping in ("pathStart", "path_category"):
        table = data.get(mapping)
        if isinstance(table, dict) and name in table:
            return str(table[name])
    for category in sorted(CATEGORIES, key=len, reverse=True):
        if name.startswith(category + "_"):
            return category
    return None


def _recorded(
    values_file: Path | None,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, list[dict[str, Any]]]]]:
    """Start values per category and recorded submissions per element and category."""
    if values_file is None or not values_file.exists():
        return {}, {}
    try:
        data = json.loads(values_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{values_file}: cannot read recorded values: {exc}") from None
    start = {k: dict(v) for k, v in (data.get("start") or {}).items() if isinstance(v, dict)}
    recorded: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for name, steps in (data.get("paths") or {}).items():
        category = _path_category(name, data) or "*"
        category = category if category in start or category in CATEGORIES else "*"
        for step in steps:
            if not (isinstance(step, list) and len(step) == 2 and isinstance(step[1], dict)):
                continue
            element, values = step
            recorded.setdefault(str(element), {}).setdefault(category, []).append(dict(values))
    return start, recorded


def generated_value(f: FormField, today: date) -> Any:
    """A valid value for a required field with no recorded value, from its type."""
    c = f.constraints
    if f.type == "enum":
        return f.values[0][0] if f.values else None
    if f.type == "boolean":
        return True
    if f.type in ("long", "double"):
        low = float(c.get("min") or 1)
        high = c.get("max")
        value = low if high is None else min(low, float(high))
        return int(value) if f.type == "long" else float(value)
    if f.type == "date":
        return today.isoformat()
    length = int(c.get("minlength") or 1)
    return ("模拟" * length)[: max(length, 2)][: int(c.get("maxlength") or 100)]


class Submissions:
    """Valid form values for an element, by customer category (cached)."""

    def __init__(self, model: SimModel) -> None:
        self.model = model
        self._cache: dict[tuple[str, str], dict[str, Any]] = {}

    def base(self, element: Element, category: str) -> dict[str, Any]:
        key = (element.id, category)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._build(element, category)
            self._cache[key] = cached
        return cached

    def _build(self, element: Element, category: str) -> dict[str, Any]:
        by_category = self.model.recorded.get(element.id, {})
        candidates = by_category.get(category) or next(
            (v for k, v in sorted(by_category.items()) if v), []
        )
        recorded = dict(candidates[0]) if candidates else {}
        recorded.pop("_message", None)
        recorded.pop("_external", None)
        if element.kind != USER_TASK:
            return recorded
        writable = {f.id: f for f in element.fields if not f.readonly}
        values = {k: v for k, v in recorded.items() if k in writable}
        for f in writable.values():
            if f.required and values.get(f.id) is None:
                values[f.id] = generated_value(f, date(2025, 1, 2))
        return values

    def start(self, category: str) -> dict[str, Any]:
        key = ("<start>", category)
        cached = self._cache.get(key)
        if cached is None:
            starts = self.model.start_values
            base = dict(starts.get(category) or next(iter(starts.values()), {}))
            form = {f.id: f for f in self.model.start_form}
            cached = {k: v for k, v in base.items() if k in form}
            for f in form.values():
                if f.required and cached.get(f.id) is None:
                    cached[f.id] = generated_value(f, date(2025, 1, 2))
            self._cache[key] = cached
        return cached


def coerce_option(f: FormField | None, value: str) -> Any:
    """A probability table's key (always a string in TOML) as the field's value."""
    if f is None:
        if value in ("true", "false"):
            return value == "true"
        try:
            return json.loads(value)
        except ValueError:
            return value
    if f.type == "boolean":
        if value not in ("true", "false"):
            raise ValueError(f"field {f.id} is a boolean: use true or false, not {value!r}")
        return value == "true"
    if f.type == "long":
        return int(value)
    if f.type == "double":
        return float(value)
    if f.type == "enum":
        options = [v[0] for v in f.values]
        if value not in options:
            raise ValueError(f"{value!r} is not an option of field {f.id} ({', '.join(options)})")
    return value


def validated(fields: tuple[FormField, ...] | list[FormField], values: dict[str, Any]) -> Any:
    return validate(list(fields), values)
