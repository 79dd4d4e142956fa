"""What an analyst gets wrong in Camunda Modeler that the engine would not say clearly, or at all.

* a sequence flow, boundary event, default flow or lane reference naming an element that does not
  exist (a deleted task): an error at the referring element, with its line;
* Camunda attributes the service does not act on: `camunda:formKey` (forms are camunda:formData),
  an assignee or candidate user that is no known user, and every other camunda:* attribute the
  engine ignores: warnings, so that nothing is ignored silently;
* scripts written for another language (Groovy, JavaScript): the service runs only its expression
  language; a warning when the text happens to be valid there, an error saying so otherwise;
* a user task drawn in one lane but given the groups of another lane: a warning;
* Flowable's and Activiti's attributes and extension elements (a file exported from their
  modelers), and Camunda 8's zeebe:* extension elements (a file modelled for Camunda 8): a
  warning each, naming the Camunda 7 attribute to write instead; at another engine's assignment
  (flowable:candidateGroups, zeebe:assignmentDefinition …) it says who gets the task here (its
  lane's groups, or its camunda: assignment) and how to give it to the groups the file names. A
  warning, not an error: the task has an owner here, and the lane may be who should do it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from bpmn_service.errors import BpmnProblem

from .bpmn_xml import BPMN_NS, element_kinds, lanes_of_nodes, local_name, owner_of
from .camunda_ext import CAMUNDA_NS, ERROR_VARIABLES, NSMAP, USER_TASK_ATTRIBUTES
from .deploy_rules import ASSIGNMENTS, ZEEBE_ASSIGNMENT, ZEEBE_NS, offered_to_nobody
from .diagram import SUBPROCESS_KINDS, TASK_KINDS
from .report_marks import LEAD_TIME_END
from .script_engine import EVALUATOR

LaneGroupsOf = Callable[[str, str | None], list[str]]


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What a check knows beyond the file: the lane groups and, when the users file is at hand,
    the known user ids and the groups its users are in (None: unknown, no assignee or group is
    questioned)."""

    lane_groups: LaneGroupsOf
    known_users: frozenset[str] | None = None
    known_groups: frozenset[str] | None = None
    # Why a lane found no groups (lanes.LaneGroups.hint_for), where the lane groups are known.
    lane_hint: Callable[[str, str], str | None] | None = None

    def lane_has_groups(self, key: str, lane: str | None) -> bool:
        return bool(self.lane_groups(key, lane))


_USER_TASK_ATTRIBUTES = set(USER_TASK_ATTRIBUTES)
# camunda:* attributes the engine reads, per element (everything else is ignored and said so).
READ_ATTRIBUTES = {
    "userTask": _USER_TASK_ATTRIBUTES,
    # A plain bpmn:task runs as a user task and reads the same attributes (deploy_rules.py).
    "task": _USER_TASK_ATTRIBUTES,
    "serviceTask": {"type", "topic"},
    "process": {"candidateStarterGroups", "candidateStarterUsers"},
    "manualTask": {"candidateGroups", "candidateUsers", "assignee", "dueDate", "priority"},
    "multiInstanceLoopCharacteristics": {"collection", "elementVariable"},
    # The process's start event only (_has_no_effect says so elsewhere).
    "startEvent": {"initiator"},
    # On a catch only: a boundary event or an event subprocess's start (bpmn_errors.py).
    "errorEventDefinition": set(ERROR_VARIABLES),
}
# Refused outright by the deploy rules (deploy_rules.py), so not repeated here.
REFUSED_ATTRIBUTES = {
    "class",
    "delegateExpression",
    "expression",
    "resultVariable",
    "resource",
    "variableMappingClass",
    "variableMappingDelegateExpression",
}
# Written by Camunda Modeler into every new Camunda 7 diagram (History cleanup, 180 days): a
# warning on it would be on every file an analyst saves, so it is read past without one (the
# service keeps every case's history).
MODELER_DEFAULTS = {"historyTimeToLive"}
IGNORED_HINTS = {
    "versionTag": "each deployment of a changed file gets the next version number",
    "isStartableInTasklist": "who may start a process is decided by the users file's groups",
    "asyncBefore": "every step is committed with the request that completes it",
    "asyncAfter": "every step is committed with the request that completes it",
    "exclusive": "every step is committed with the request that completes it",
    "jobPriority": "timers and jobs have no priorities here",
    "taskPriority": "external tasks are fetched oldest first",
    "formKey": "",
}


def analyst_findings(
    root: etree._Element, process: etree._Element, filename: str, context: CheckContext
) -> list[BpmnProblem]:
    findings: list[BpmnProblem] = []

    def add(
        el: etree._Element,
        code: str,
        message: str,
        hint: str,
        severity: str = "warning",
        line: int | None = None,
    ) -> None:
        at = line or el.sourceline
        findings.append(BpmnProblem(message, filename, at, el.get("id"), code, hint, severity))

    _dangling_references(process, add)
    _lost_on_save(process, add)
    _camunda_attributes(root, add, context)
    _script_languages(process, add)
    _ignored_conditions(process, add)
    _no_default_flow(process, add)
    _timer_start(process, add)
    _lead_time_end(process, add)
    _lane_groups(process, process.get("id") or "", add, context)
    _lane_group_users(process, process.get("id") or "", add, context)
    _other_vendors(root, process, add, context)
    return findings


Add = Callable[..., None]
# What a boundary event can be attached to.
ACTIVITIES = TASK_KINDS | SUBPROCESS_KINDS


def _dangling_references(process: etree._Element, add: Add) -> None:
    ids = {el.get("id") for el in process.iter() if isinstance(el.tag, str) and el.get("id")}
    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        for attr, side in (("sourceRef", "starts"), ("targetRef", "ends")):
            ref = flow.get(attr)
            if ref is None or ref in ids:
                continue
            add(
                flow,
                "structure.dangling-reference",
                f"sequence flow {flow.get('id')} {side} at {ref!r} ({attr}), which is not an "
                f"element of this process",
                "reconnect the flow in the Modeler (the element it pointed to was deleted or "
                "renamed), or delete the flow",
                "error",
            )
    kinds = element_kinds(process)
    for event in process.iter(f"{{{BPMN_NS}}}boundaryEvent"):
        ref = event.get("attachedToRef")
        if ref in ids and kinds.get(ref) not in ACTIVITIES:
            add(
                event,
                "structure.dangling-reference",
                f"boundary event {event.get('id')} is attached to {kinds.get(ref)} {ref!r}; "
                f"boundary events belong on a task or a subprocess",
                "drag the event onto the border of the task or subprocess it watches",
                "error",
            )
        if ref and ref not in ids:
            add(
                event,
                "structure.dangling-reference",
                f"boundary event {event.get('id')} is attached to {ref!r}, which is not an "
                f"element of this process",
                "attach the event to a task again in the Modeler, or delete it",
                "error",
            )
    for el in process.iter():
        if not isinstance(el.tag, str) or not el.get("default"):
            continue
        if el.get("default") not in ids:
            add(
                el,
                "structure.dangling-reference",
                f"the default flow {el.get('default')!r} of {el.get('id')} does not exist",
                "mark one of the outgoing flows as the default flow again",
                "error",
            )
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.iterfind("bpmn:flowNodeRef", NSMAP):
            if (ref.text or "").strip() not in ids:
                add(
                    lane,
                    "structure.dangling-reference",
                    f"lane {lane.get('name') or lane.get('id')!r} lists {ref.text!r}, which is "
                    f"not an element of this process",
                    "move any shape in the lane once in the Modeler (it rewrites the list), or "
                    "delete the flowNodeRef line",
                )  # a warning: the engine ignores the stale entry


def _lost_on_save(process: etree._Element, add: Add) -> None:
    """loopDataInputRef / loopDataOutputRef name variables, but BPMN types them as references to
    data inputs: Camunda Modeler and bpmn.io cannot resolve them and drop them on save."""
    for loop in process.iter(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics"):
        refs = [
            local_name(child.tag)
            for child in loop
            if local_name(child.tag) in ("loopDataInputRef", "loopDataOutputRef")
        ]
        if refs:
            task = loop.getparent()
            add(
                task,
                "structure.modeler-save",
                f"{' and '.join(refs)} will be dropped the next time the file is saved in "
                f"Camunda Modeler or bpmn.io (they cannot resolve them), and the task will no "
                f"longer deploy",
                "set Collection and Element variable in the Multi instance panel and the "
                "outputCollection extension property instead (docs/authoring.md, Multi-instance)",
            )


def _camunda_attributes(root: etree._Element, add: Add, context: CheckContext) -> None:
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        kind = local_name(el.tag)
        owner = el
        while owner is not None and not owner.get("id"):
            owner = owner.getparent()
        for attr, value in el.attrib.items():
            q = etree.QName(attr)
            if q.namespace != CAMUNDA_NS or q.localname in REFUSED_ATTRIBUTES:
                continue
            name = q.localname
            unread = _has_no_effect(el, kind, name)
            if unread:
                add(
                    owner if owner is not None else el,
                    "camunda.ignored-attribute",
                    f"camunda:{name}={value!r} has no effect {unread}",
                    IGNORED_HINTS.get(name) or "remove it",
                )
                continue
            if name in READ_ATTRIBUTES.get(kind, ()):
                if name in ("assignee", "candidateUsers"):
                    _known_users(el, name, value, add, context)
                elif name in ("candidateGroups", "candidateStarterGroups"):
                    _known_groups(el, name, value, add, context)
                continue
            where = owner if owner is not None else el
            if name in MODELER_DEFAULTS:
                continue
            if name == "formKey":
                add(
                    where,
                    "camunda.form-key",
                    f"camunda:formKey {value!r} is not supported: the service shows no embedded, "
                    f"external or Camunda Forms form, so the task would have no fields",
                    "define the fields in the Modeler's Forms tab as a 'Generated Task Form' "
                    "(camunda:formData); the inbox renders them and validates the values",
                )
                continue
            if name in READ_ATTRIBUTES["userTask"]:
                add(
                    where,
                    "camunda.ignored-attribute",
                    f"camunda:{name} has no effect on a {kind}",
                    "assignment, due dates and priorities apply to user tasks only; remove it",
                )
                continue
            add(
                where,
                "camunda.ignored-attribute",
                f"camunda:{name}={value!r} is ignored by this service",
                IGNORED_HINTS.get(name) or "remove it; docs/authoring.md lists what is supported",
            )


def _has_no_effect(el: etree._Element, kind: str, name: str) -> str | None:
    """Where an attribute the engine reads on some elements of its kind does nothing: said as
    the end of "camunda:X='…' has no effect …"; None where it acts."""
    parent = el.getparent()
    parent_kind = local_name(parent.tag) if parent is not None else None
    if kind == "startEvent" and name == "initiator" and parent_kind != "process":
        return "on the start event of a subprocess: only the process's start knows who started it"
    if kind == "errorEventDefinition" and parent_kind in ("endEvent", "intermediateThrowEvent"):
        return "on an error end event: the catching boundary event or event subprocess sets it"
    return None


def _known_users(
    el: etree._Element, name: str, value: str, add: Add, context: CheckContext
) -> None:
    if context.known_users is None or value.strip().startswith(("${", "#{")):
        return
    unknown = [u for u in (v.strip() for v in value.split(",")) if u and not _expression(u)]
    unknown = [u for u in unknown if u not in context.known_users]
    if unknown:
        names = ", ".join(repr(u) for u in unknown)
        add(
            el,
            "camunda.unknown-user",
            f"camunda:{name} names {names}, which is no user of the users file: nobody would "
            f"see the task",
            "use a user id of the users file, or camunda:candidateGroups (a lane's groups) so "
            "that anyone of the group can take it",
        )


def _expression(entry: str) -> bool:
    return entry.startswith(("${", "#{"))


# What else analysts separate a list of groups with (a comma is the separator).
_GROUP_SEPARATORS = re.compile(r"[;；，、\s]+")
_GROUP_HINT = (
    "write a group some user of the users file is in, or give the users who do this work "
    "that group in the users file"
)


def _known_groups(
    el: etree._Element, name: str, value: str, add: Add, context: CheckContext
) -> None:
    """A group nobody is in offers the task to nobody (admins see every task)."""
    if context.known_groups is None or value.strip().startswith(("${", "#{")):
        return
    # An expression in the list (`hall_clerk,${extraGroup}`) is known only when the task starts.
    listed = [g for g in (v.strip() for v in value.split(",")) if g and not _expression(g)]
    unknown = [g for g in listed if g not in context.known_groups]
    if not unknown:
        return
    # Users the element names beside its groups (they see or start it anyway).
    users = (
        ("candidateUsers", "assignee") if name == "candidateGroups" else ("candidateStarterUsers",)
    )
    known = [g for g in listed if g not in unknown] + [
        value for u in users if (value := (el.get(f"{{{CAMUNDA_NS}}}{u}") or "").strip())
    ]
    what = "see the task" if name == "candidateGroups" else "start the process"
    whom = f"only {', '.join(known)} would {what}" if known else f"nobody but an admin would {what}"
    said, hints = _unknown_groups(unknown, listed, context, f"camunda:{name}")
    names = ", ".join(repr(g) for g in unknown)
    add(
        el,
        "camunda.unknown-group",
        f"camunda:{name} names {names}, which no user of the users file is in: {whom}{said}",
        "; ".join(hints) or _GROUP_HINT,
    )


def _unknown_groups(
    unknown: list[str], listed: list[str], context: CheckContext, where: str
) -> tuple[str, list[str]]:
    """What the message adds about each unknown group (the group meant), and the hints; `where`
    is what lists the groups (camunda:candidateGroups, lane-groups.toml's entry)."""
    known = sorted(context.known_groups or ())
    said: list[str] = []
    hints: list[str] = []
    for group in unknown:
        parts = [p for p in _GROUP_SEPARATORS.split(group) if p]
        if len(parts) > 1:
            fixed = [p for g in listed for p in (parts if g == group else [g])]
            if where.startswith("camunda:"):
                hints.append(f"separate groups with commas: {where}={','.join(fixed)!r}")
            else:
                hints.append(f"list the groups apart in {where}: {fixed!r}")
            continue
        if context.known_users is not None and group in context.known_users:
            said.append(f"{group!r} is a user of the users file, not a group")
            hints.append(f"to offer the task to the user {group!r}, use camunda:candidateUsers")
            continue
        same_letters = [k for k in known if k.lower() == group.lower()]
        meant = same_letters or difflib.get_close_matches(group, known, n=1, cutoff=0.6)
        if meant:
            said.append(f"did you mean {meant[0]!r}?")
            hints.append(
                f"write {meant[0]!r} for {group!r} in {where}; for a new group, give it to the "
                "users who do this work in the users file"
            )
    return "".join(f"; {s}" for s in said), hints


# Names of languages analysts paste from Camunda examples.
OTHER_LANGUAGES = {"groovy", "javascript", "js", "ecmascript", "nashorn", "graal.js", "juel"}
OUR_LANGUAGES = {"", "python", "expression"}


def _ignored_conditions(process: etree._Element, add: Add) -> None:
    """A condition moved onto a flow out of a parallel or event-based gateway is never evaluated
    (every branch runs; the first event decides), as in Camunda: the analyst meant a choice."""
    kinds = element_kinds(process)
    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        kind = kinds.get(flow.get("sourceRef"))
        if kind not in ("parallelGateway", "eventBasedGateway"):
            continue
        if flow.find(f"{{{BPMN_NS}}}conditionExpression") is None:
            continue
        what = "every branch runs" if kind == "parallelGateway" else "the first event decides"
        add(
            flow,
            "structure.ignored-condition",
            f"the condition of flow {flow.get('id')} is never evaluated: it leaves a "
            f"{'parallel' if kind == 'parallelGateway' else 'event-based'} gateway, where {what}",
            "to choose a path by the condition, make the gateway exclusive, or inclusive for "
            "several paths; otherwise delete the condition",
        )


def _no_default_flow(process: etree._Element, add: Add) -> None:
    """An exclusive or inclusive gateway whose every outgoing flow has a condition and none is
    the default (the Modeler deleted it): a case no condition holds for stops there with an
    error at run time. Only a warning: conditions that cover every case are legal."""
    by_source: dict[str | None, list[etree._Element]] = {}
    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        by_source.setdefault(flow.get("sourceRef"), []).append(flow)
    for gw in process.iter(f"{{{BPMN_NS}}}exclusiveGateway", f"{{{BPMN_NS}}}inclusiveGateway"):
        outgoing = by_source.get(gw.get("id"), [])
        if not outgoing or gw.get("default"):
            continue  # no way out is structure.dead-end; a missing default is dangling-reference
        if any(f.find(f"{{{BPMN_NS}}}conditionExpression") is None for f in outgoing):
            continue  # a flow always taken, or structure.gateway's error
        kind = "exclusive" if local_name(gw.tag) == "exclusiveGateway" else "inclusive"
        name = (gw.get("name") or "").strip()
        flows = ", ".join(str(f.get("id")) for f in outgoing)
        add(
            gw,
            "structure.no-default-flow",
            f"the {kind} gateway {gw.get('id')}{f' {name!r}' if name else ''} has no default "
            f"flow: when none of the conditions of its flows ({flows}) holds the case cannot "
            f"go on (it stops with an error)",
            "mark one outgoing flow as the default (wrench on the flow: Default flow) or make "
            "sure the conditions cover every case",
        )


def _timer_start(process: etree._Element, add: Add) -> None:
    """A timer on the process's own start event: Camunda starts a case at each time; this
    service starts cases only when asked (the API, a message), and such a case then waits for
    the timer before its first step. Said so, as nothing would start on its own."""
    for start in process.iterchildren(f"{{{BPMN_NS}}}startEvent"):
        if start.find(f"{{{BPMN_NS}}}timerEventDefinition") is None:
            continue
        add(
            start,
            "structure.timer-start",
            f"the start event {start.get('id')} has a timer: no case starts on its own at that "
            "time here; a case started over the API waits for the timer before its first step",
            "to start cases on a schedule, have a scheduler (cron) call POST "
            "/api/v1/process-definitions/{key}/instances, and make the start event a plain one "
            "(wrench: None start event)",
        )


def _lead_time_end(process: etree._Element, add: Add) -> None:
    """The reports end a case's cycle at the first completion of a user task marked
    leadTimeEnd (services/lead_time.py); on another element, or with another value than
    true, the marker would be ignored and the cycle silently run to the case's end."""
    for prop in process.iterfind(f".//camunda:property[@name='{LEAD_TIME_END}']", NSMAP):
        holder = prop.getparent()  # camunda:properties in bpmn:extensionElements
        extensions = holder.getparent() if holder is not None else None
        owner = extensions.getparent() if extensions is not None else None
        if owner is None:
            continue
        kind = etree.QName(owner).localname
        value = (prop.get("value") or "").strip()
        if kind != "userTask":
            add(
                owner,
                "structure.lead-time-end",
                f"leadTimeEnd is on {kind} {owner.get('id')}: only a user task's completion "
                "can end the lead time, so the reports ignore it",
                "put the property on the user task whose completion is power-on (送电), in its "
                "Extension properties",
                line=prop.sourceline,
            )
        elif value.lower() not in ("true", "false"):
            add(
                owner,
                "structure.lead-time-end",
                f"leadTimeEnd = {value!r} on {owner.get('id')}: the reports read only true",
                "set the value to true (or remove the property)",
                line=prop.sourceline,
            )


def _script_languages(process: etree._Element, add: Add) -> None:
    for script in process.iter(f"{{{BPMN_NS}}}scriptTask"):
        language = (script.get("scriptFormat") or "").strip().lower()
        if language in OUR_LANGUAGES:
            continue
        text = "".join(script.xpath("./bpmn:script/text()", namespaces=NSMAP))
        runs = bool(text.strip()) and not EVALUATOR.check_script(text)
        hint = (
            "write one `name = expression` line per variable: arithmetic, comparisons, "
            "and/or/not, `a if cond else b`, lists, dicts, comprehensions and functions such "
            "as len, sum, now() and add_working_days(); set scriptFormat to python"
        )
        if runs:
            add(
                script,
                "script.language",
                f"scriptFormat {language!r} is not run as such: the script is read as the "
                f"service's expression language, where it happens to be valid",
                hint,
            )
        else:
            # deploy_rules.py reports the script's syntax; this says why it fails.
            add(
                script,
                "script.language",
                f"scripts in {language!r} cannot run here: the service runs only its own "
                f"expression language",
                hint,
                "error",
            )


def _lane_groups(process: etree._Element, key: str, add: Add, context: CheckContext) -> None:
    lanes: dict[str, str] = {}
    names: list[str] = []
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        name = lane.get("name") or ""
        names.append(name)
        for ref in lane.iterfind("bpmn:flowNodeRef", NSMAP):
            lanes[(ref.text or "").strip()] = name
    for task in process.iter(f"{{{BPMN_NS}}}userTask", f"{{{BPMN_NS}}}task"):
        value = (task.get(f"{{{CAMUNDA_NS}}}candidateGroups") or "").strip()
        lane = lanes.get(task.get("id") or "")
        if not value or value.startswith(("${", "#{")) or lane is None:
            continue
        own = set(context.lane_groups(key, lane))
        given = {g.strip() for g in value.split(",") if g.strip()}
        if not own or given & own:
            continue
        others = [n for n in names if n != lane and given & set(context.lane_groups(key, n))]
        if others:
            add(
                task,
                "lanes.other-lane",
                f"the task is drawn in lane {lane!r} but given the groups of lane "
                f"{others[0]!r} ({', '.join(sorted(given))})",
                f"move the task into lane {others[0]!r}, or give it the groups of {lane!r} "
                f"({', '.join(sorted(own))}) by removing camunda:candidateGroups",
            )


def _lane_group_users(process: etree._Element, key: str, add: Add, context: CheckContext) -> None:
    """The groups lane-groups.toml gives a lane whose tasks have no groups of their own."""
    if context.known_groups is None:
        return
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        name = lane.get("name") or ""
        listed = context.lane_groups(key, name)
        unknown = [g for g in listed if g not in context.known_groups]
        refs = {(r.text or "").strip() for r in lane.iterfind("bpmn:flowNodeRef", NSMAP)}
        tasks = [
            t.get("id") or ""
            for t in process.iter(
                f"{{{BPMN_NS}}}userTask", f"{{{BPMN_NS}}}manualTask", f"{{{BPMN_NS}}}task"
            )
            if t.get("id") in refs and not (t.get(f"{{{CAMUNDA_NS}}}candidateGroups") or "")
        ]
        if not unknown or not tasks:
            continue
        known = [g for g in listed if g not in unknown]
        whom = f"only {', '.join(known)} would" if known else "nobody but an admin would"
        entry = f'lane-groups.toml (the lane under [{key}] or ["*"])'
        said, hints = _unknown_groups(unknown, listed, context, entry)
        names = ", ".join(repr(g) for g in unknown)
        add(
            lane,
            "lanes.unknown-group",
            f"lane {name!r} gets the group{'s' if len(unknown) > 1 else ''} {names} from "
            f"lane-groups.toml, which no user of the users file is in: {whom} see its tasks "
            f"({', '.join(tasks)}){said}",
            "; ".join(hints)
            or f'correct the lane\'s entry in lane-groups.toml (under [{key}] or ["*"]), '
            "or give the users who do this work that group in the users file",
        )


# Engines whose modelers write attributes of their own where Camunda 7 writes camunda:*: the
# prefix findings name them by, and the engine's name.
VENDORS = {
    "http://flowable.org/bpmn": ("flowable", "Flowable's"),
    "http://activiti.org/bpmn": ("activiti", "Activiti's"),
    ZEEBE_NS: ("zeebe", "Camunda 8's (Zeebe)"),
}
_ASSIGNMENT = "(Camunda Modeler: the task's User assignment)"
_EXTERNAL = 'service tasks here are external: camunda:type="external" and a camunda:topic'
_FORM_DATA = (
    "define the fields as camunda:formData (the Modeler's Forms tab, a Generated Task Form)"
)
VENDOR_HINTS = {
    "candidateGroups": f"write camunda:candidateGroups {_ASSIGNMENT}",
    "candidateUsers": f"write camunda:candidateUsers {_ASSIGNMENT}",
    "assignee": f"write camunda:assignee {_ASSIGNMENT}",
    "dueDate": f"write camunda:dueDate {_ASSIGNMENT}",
    "priority": f"write camunda:priority {_ASSIGNMENT}",
    "formProperty": _FORM_DATA,
    "formKey": _FORM_DATA,
    "initiator": "write camunda:initiator (the start event's Initiator field in Camunda "
    "Modeler); the starting user is also always in the variable `initiator`",
    "class": _EXTERNAL,
    "delegateExpression": _EXTERNAL,
    "expression": _EXTERNAL,
}
# Camunda 8 files carry extension elements; this service reads Camunda 7's camunda:* instead.
_C7 = "this service reads Camunda 7 diagrams (camunda:* attributes, docs/authoring.md)"
ZEEBE_HINTS = {
    "taskDefinition": f"{_EXTERNAL} (the job type as the topic); {_C7}",
    "assignmentDefinition": "write camunda:candidateGroups, camunda:candidateUsers or "
    f"camunda:assignee {_ASSIGNMENT}; {_C7}",
    "taskSchedule": f"write camunda:dueDate {_ASSIGNMENT}; {_C7}",
    "priorityDefinition": f"write camunda:priority {_ASSIGNMENT}; {_C7}",
    "formDefinition": f"{_FORM_DATA}; Camunda 8 (form-js) forms are not read; {_C7}",
    "userTask": f"a user task is always one of this service's tasks; {_C7}",
    "ioMapping": "variables pass by name here, no input or output mapping is read: set them "
    f"with a form field, a script task line (name = expression) or a message's variables; {_C7}",
    "taskHeaders": "a worker gets the case's variables: set fixed values in a script task "
    f"before the task; {_C7}",
    "subscription": "a message reaches the case by its business key (POST /api/v1/messages), "
    f"no correlation key is read; {_C7}",
    "loopCharacteristics": "write camunda:collection and camunda:elementVariable (the "
    f"Multi instance panel) and an outputCollection extension property; {_C7}",
    "properties": f"write camunda:properties (the Modeler's Extension properties); {_C7}",
    "script": f"write the script as name = expression lines in the script task itself; {_C7}",
    "calledElement": "call activities are refused: draw the called steps as a subprocess; " + _C7,
    "executionListeners": f"listeners are refused here; {_C7}",
    "taskListeners": f"listeners are refused here; {_C7}",
}
_OTHER_VENDOR_HINT = (
    "write the camunda: equivalent in Camunda Modeler (a Camunda Platform 7 diagram); "
    "docs/authoring.md lists what the service reads"
)


def _vendor_hint(namespace: str | None, name: str) -> str:
    hints = ZEEBE_HINTS if namespace == ZEEBE_NS else VENDOR_HINTS
    return hints.get(name) or _OTHER_VENDOR_HINT


def _other_vendors(
    root: etree._Element, process: etree._Element, add: Add, context: CheckContext
) -> None:
    named_by_rules = _unassigned_user_tasks(process, context)
    lanes = lanes_of_nodes(process)
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        names = [etree.QName(attr) for attr in el.attrib]
        if el in named_by_rules:  # its lanes.no-groups error already names the attribute
            names = [n for n in names if n.localname not in ASSIGNMENTS]
        tag = etree.QName(el.tag)
        parent = el.getparent()
        # An extension element once, not each of its children (a form property's values).
        if tag.namespace in VENDORS and (
            parent is None or etree.QName(parent).namespace not in VENDORS
        ):
            names.append(tag)
        owner = owner_of(el)
        if owner in named_by_rules and tag == ZEEBE_ASSIGNMENT:
            continue  # the error names it, as it names Flowable's attributes
        for name in names:
            vendor = VENDORS.get(name.namespace or "")
            if vendor is None:
                continue
            prefix, whose = vendor
            said, hint = "", _vendor_hint(name.namespace, name.localname)
            given = _vendor_assignment(el, name)
            if given and owner is not None:
                said, hint = _assignment_outcome(owner, given, process, lanes, context)
            add(
                owner,
                "vendor.extension",
                f"{prefix}:{name.localname} is {whose} extension, which this service does not "
                f"read{said}",
                hint,
                line=el.sourceline,  # an extension element's own line, inside its task
            )


def _vendor_assignment(el: etree._Element, name: etree.QName) -> dict[str, str]:
    """What another engine's assignment gives a task, as camunda: attribute → value: Flowable's
    or Activiti's attribute, or Camunda 8's zeebe:assignmentDefinition (empty for anything
    else)."""
    if name == ZEEBE_ASSIGNMENT:
        return {a: v.strip() for a in ASSIGNMENTS if (v := el.get(a) or "").strip()}
    if name.namespace != ZEEBE_NS and name.localname in ASSIGNMENTS:
        value = (el.get(name.text) or "").strip()
        return {name.localname: value} if value else {}
    return {}


def _assignment_outcome(
    task: etree._Element,
    given: dict[str, str],
    process: etree._Element,
    lanes: dict[str, str | None],
    context: CheckContext,
) -> tuple[str, str]:
    """Who gets the task here instead of whom the other engine's assignment names (the end of
    the message), and how to give it to them (the hint)."""
    written = " ".join(f'camunda:{a}="{v}"' for a, v in given.items())
    whom = ", ".join(given.values())
    how = f"to give it to {whom}, write {written} {_ASSIGNMENT}"
    own = {a: v for a in ASSIGNMENTS if (v := (task.get(f"{{{CAMUNDA_NS}}}{a}") or "").strip())}
    if own:
        mine = ", ".join(f"camunda:{a}={v!r}" for a, v in own.items())
        return f": the task goes to what its {mine} names, not to {whom}", f"{how} instead"
    key = process.get("id") or ""
    lane = lanes.get(task.get("id") or "")
    groups = context.lane_groups(key, lane) if lane is not None else []
    if not groups:
        return "", how  # lanes.no-groups refuses the task and names the attribute
    wanted = [g.strip() for g in given.get("candidateGroups", "").split(",") if g.strip()]
    said = f": the task goes to the lane {lane}'s groups: {', '.join(groups)}"
    if wanted and set(wanted) == set(groups) and len(given) == 1:
        return f"{said}, the same groups", f"nothing changes; {how} to say so in the file"
    said += f", not to {whom}"
    names = {lane.get("name") or "" for lane in process.iter(f"{{{BPMN_NS}}}lane")}
    mapped = sorted(
        other
        for other in names
        if other
        and other != lane
        and wanted
        and set(wanted) <= set(context.lane_groups(key, other))
    )
    if mapped:
        how += f", or move the task into the lane {' or '.join(mapped)}"
    elif wanted:
        how += f", or move the task into a lane lane-groups.toml maps to {', '.join(wanted)}"
    return said, how


def _unassigned_user_tasks(process: etree._Element, context: CheckContext) -> set[etree._Element]:
    """The user tasks the deploy rules refuse as offered to nobody: their error names another
    engine's assignment already."""
    key = process.get("id") or ""
    lanes = lanes_of_nodes(process)
    return {
        task
        for task in process.iter(f"{{{BPMN_NS}}}userTask", f"{{{BPMN_NS}}}task")
        if offered_to_nobody(task, key, lanes, context.lane_has_groups)
    }
