"""The data-flow check: every variable an expression reads is written on every path reaching it.

A case whose gateway condition reads a variable nothing set any more stops at run time (the
completion that reaches the gateway is refused, and the case can only be cancelled); this finds it
when the file is checked. It is the classic "definitely assigned" analysis over the sequence flows
of each scope: what is set when a step starts is what every incoming path has set (a parallel join
waits for all its branches, so there it is what any branch has set), and a step adds what it
writes:

* the start event: its form's fields (or, without a form, anything the starter sends), the
  variable its camunda:initiator names, and `businessKey` and `initiator`, which every case has;
* user tasks: their form's fields that are not read-only (stored as null when left empty);
* script tasks: the names left of `=`, each line seeing the lines before it;
* multi-instance tasks: the element variable inside each instance; after them the
  outputCollection, or the form's fields without one; their completion condition also reads
  Camunda's counters (multi_instance.BUILT_INS), which the engine provides there only: a read of
  one anywhere else says that plainly;
* messages (catch, boundary, start events and receive tasks): their `variables` property, or
  anything without one; errors: anything their thrower sends; external service tasks: anything
  their worker sends, unless a `variables` property lists it;
* subprocesses: what is set at every end of their content; data objects are always readable.

Reads are the names in gateway conditions, scripts, timers, assignment expressions, multi-instance
collections and cardinalities, and loop conditions. A read that some path reaches without the
variable is an error naming the variable, the element and one such path.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lxml import etree

from bpmn_service.errors import BpmnProblem

from .bpmn_xml import BPMN_NS, local_name
from .camunda_ext import NSMAP, listed_names, read_extensions
from .deploy_rules import FLOW_NODE_TAGS
from .expressions import CONSTANT_NAMES, strip_wrapper
from .multi_instance import BUILT_INS, read_loop

ALWAYS = frozenset({"businessKey", "initiator"})


@dataclass(frozen=True, slots=True)
class Vars:
    """A set of variable names, or every name (`anything`: a step whose writes are unknown)."""

    names: frozenset[str] = frozenset()
    anything: bool = False

    def __or__(self, other: Vars) -> Vars:
        if self.anything or other.anything:
            return ANYTHING
        return Vars(self.names | other.names)

    def __and__(self, other: Vars) -> Vars:
        if self.anything:
            return other
        if other.anything:
            return self
        return Vars(self.names & other.names)

    def has(self, name: str) -> bool:
        return self.anything or name in self.names


ANYTHING = Vars(anything=True)
NOTHING = Vars()


@lru_cache(maxsize=4096)
def names_read(text: str) -> frozenset[str]:
    """The variable names an expression reads (not functions, constants or loop variables)."""
    try:
        tree = ast.parse(strip_wrapper(text), mode="eval")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return frozenset()  # refused by the expression check, which says why
    return frozenset(_free_names(tree))


@lru_cache(maxsize=1024)
def script_lines(text: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """(name written, names read) per `name = expression` line."""
    try:
        module = ast.parse(text)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return ()
    lines = []
    for stmt in module.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, ast.Name):
                lines.append((target.id, frozenset(_free_names(stmt.value))))
    return tuple(lines)


def _free_names(tree: ast.AST) -> set[str]:
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.comprehension):
            bound |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Lambda):
            bound |= {a.arg for a in node.args.args}
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    return {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name)
        and isinstance(node.ctx, ast.Load)
        and id(node) not in called
        and node.id not in bound
        and node.id not in CONSTANT_NAMES
    }


@dataclass(slots=True)
class _Read:
    name: str
    what: str  # "the condition of flow f3", "line 2 of the script", ...
    element: etree._Element
    extra: frozenset[str] = frozenset()  # set locally before the read (script lines, MI item)


@dataclass(slots=True)
class _Scope:
    """The flow nodes and sequence flows directly inside a process or subprocess."""

    nodes: dict[str, etree._Element] = field(default_factory=dict)
    preds: dict[str, list[str]] = field(default_factory=dict)
    flows: list[etree._Element] = field(default_factory=list)


def _scope(container: etree._Element) -> _Scope:
    scope = _Scope()
    for child in container:
        kind = local_name(child.tag)
        if kind in FLOW_NODE_TAGS and child.get("id"):
            if kind == "subProcess" and child.get("triggeredByEvent") == "true":
                continue
            scope.nodes[child.get("id")] = child
            scope.preds.setdefault(child.get("id"), [])
        elif kind == "sequenceFlow":
            scope.flows.append(child)
    for flow in scope.flows:
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if source in scope.nodes and target in scope.nodes:
            scope.preds[target].append(source)
    return scope


class _Analysis:
    def __init__(
        self,
        root: etree._Element,
        process: etree._Element,
        filename: str,
        *,
        formless_start_sends: Vars | None = None,
    ) -> None:
        self.filename = filename
        # What a start event without a form gives the case: anything the starter sends, or (for
        # the start-only pass of data_flow_findings) only what every case has.
        self.formless_start_sends = (
            ANYTHING if formless_start_sends is None else formless_start_sends
        )
        self.unset_reads: list[_Read] = []
        self.messages = {
            m.get("id"): m.get("name") for m in root.xpath("./bpmn:message", namespaces=NSMAP)
        }
        self.findings: list[BpmnProblem] = []
        self.data_objects = frozenset(
            name
            for el in process.iter(f"{{{BPMN_NS}}}dataObject", f"{{{BPMN_NS}}}dataObjectReference")
            for name in (el.get("id"), el.get("name"), el.get("dataObjectRef"))
            if name
        )
        self.reported: set[tuple[str, str | None, str]] = set()
        self._writes: dict[tuple[etree._Element, bool], Vars] = {}
        self._extensions: dict[etree._Element, dict[str, Any]] = {}
        self._subprocesses: dict[tuple[etree._Element, Vars], Vars] = {}
        self.written = Vars()
        for node in process.iter():
            if isinstance(node.tag, str) and local_name(node.tag) in FLOW_NODE_TAGS:
                self.written = self.written | self.writes(node, start_of_process=False)
                loop = node.find("bpmn:multiInstanceLoopCharacteristics", NSMAP)
                if loop is not None:
                    item = read_loop(node, loop).element_variable
                    self.written = self.written | Vars(frozenset({item} if item else ()))

    def ext(self, node: etree._Element) -> dict[str, Any]:
        found = self._extensions.get(node)
        if found is None:
            found = self._extensions[node] = read_extensions(node)
        return found

    # ---- what a step writes ----
    def form_fields(self, node: etree._Element) -> Vars:
        fields = self.ext(node).get("formFields", [])
        return Vars(
            frozenset(f["id"] for f in fields if f["id"] and "readonly" not in f["constraints"])
        )

    def message_vars(self, node: etree._Element) -> Vars:
        declared = self.ext(node).get("properties", {}).get("variables")
        return ANYTHING if declared is None else Vars(frozenset(listed_names(declared)))

    def writes(self, node: etree._Element, start_of_process: bool) -> Vars:
        key = (node, start_of_process)  # the element itself: keeps its proxy, so its id, alive
        found = self._writes.get(key)
        if found is None:
            found = self._writes[key] = self._read_writes(node, start_of_process)
        return found

    def _read_writes(self, node: etree._Element, start_of_process: bool) -> Vars:
        kind = local_name(node.tag)
        definitions = {local_name(c.tag) for c in node if isinstance(c.tag, str)}
        if kind == "startEvent":
            if "messageEventDefinition" in definitions:
                return self.message_vars(node)
            if definitions & {"errorEventDefinition"}:
                return ANYTHING
            fields = self.form_fields(node)
            if start_of_process and not fields.names:
                fields = self.formless_start_sends  # no start form: the starter may send any
            starter = self.ext(node).get("initiator")  # camunda:initiator
            return fields | Vars(frozenset({starter})) if starter else fields
        if kind in ("intermediateCatchEvent", "boundaryEvent", "receiveTask"):
            if "messageEventDefinition" in definitions or kind == "receiveTask":
                return self.message_vars(node)
            if "errorEventDefinition" in definitions:
                return ANYTHING
            return NOTHING
        if kind == "scriptTask":
            text = "".join(node.xpath("./bpmn:script/text()", namespaces=NSMAP))
            return Vars(frozenset(name for name, _reads in script_lines(text)))
        if kind == "serviceTask":
            declared = self.ext(node).get("properties", {}).get("variables")
            return ANYTHING if declared is None else Vars(frozenset(listed_names(declared)))
        if kind in ("callActivity", "businessRuleTask"):
            return ANYTHING
        if kind in ("userTask", "manualTask"):
            loop = node.find("bpmn:multiInstanceLoopCharacteristics", NSMAP)
            if loop is not None:
                data = read_loop(node, loop)
                if data.output_collection:
                    return Vars(frozenset({data.output_collection}))
            return self.form_fields(node)
        return NOTHING

    # ---- what a step reads ----
    def reads(self, node: etree._Element) -> Iterator[_Read]:
        kind = local_name(node.tag)
        ext = self.ext(node)
        item: frozenset[str] = frozenset()
        loop = node.find("bpmn:multiInstanceLoopCharacteristics", NSMAP)
        if loop is not None:
            data = read_loop(node, loop)
            if data.collection:
                yield _Read(data.collection, "the multi-instance collection", node)
            for text, what in ((data.cardinality, "the loop cardinality"),):
                for name in names_read(text or ""):
                    yield _Read(name, what, node)
            item = frozenset({data.element_variable} if data.element_variable else ())
            if data.condition:
                local = item | self.form_fields(node).names | BUILT_INS
                for name in names_read(data.condition):
                    yield _Read(name, "the completion condition", node, local)
        standard = node.find("bpmn:standardLoopCharacteristics/bpmn:loopCondition", NSMAP)
        if standard is not None:
            local = self.writes(node, False).names
            for name in names_read(standard.text or ""):
                yield _Read(name, "the loop condition", node, local)
        for attr in ("candidateGroups", "candidateUsers", "assignee", "dueDate", "followUpDate"):
            value = ext.get(attr) or ""
            if value.startswith(("${", "#{")):
                for name in names_read(value):
                    yield _Read(name, f"camunda:{attr}", node, item)
        if kind == "scriptTask":
            text = "".join(node.xpath("./bpmn:script/text()", namespaces=NSMAP))
            earlier: set[str] = set()
            for number, (target, names) in enumerate(script_lines(text), start=1):
                for name in names:
                    yield _Read(name, f"line {number} of the script", node, frozenset(earlier))
                earlier.add(target)
        for timer in node.xpath("./bpmn:timerEventDefinition/*", namespaces=NSMAP):
            text = (timer.text or "").strip()
            if text.startswith(("${", "#{")):
                for name in names_read(text):
                    yield _Read(name, f"the timer's {local_name(timer.tag)}", node)

    # ---- the analysis of one scope ----
    def run(self, container: etree._Element, entry: Vars, *, is_process: bool) -> Vars:
        """Analyse the scope given what is set on entry; what is set at its end events."""
        scope = _scope(container)
        attached: dict[str, str] = {
            nid: n.get("attachedToRef") or ""
            for nid, n in scope.nodes.items()
            if local_name(n.tag) == "boundaryEvent"
        }
        out: dict[str, Vars] = dict.fromkeys(scope.nodes, ANYTHING)
        into: dict[str, Vars] = {}
        order = list(scope.nodes)
        changed = True
        rounds = 0
        while changed and rounds < 4 * len(order) + 10:
            changed, rounds = False, rounds + 1
            for nid in order:
                new_in = self._into(nid, scope, attached, into, out, entry)
                node = scope.nodes[nid]
                new_out = new_in | self._effect(node, new_in, is_process)
                if into.get(nid) != new_in or out[nid] != new_out:
                    into[nid], out[nid] = new_in, new_out
                    changed = True
        for nid in order:
            self._check(scope.nodes[nid], into[nid], scope, out, attached)
        for flow in scope.flows:
            source = flow.get("sourceRef")
            if source not in out:
                continue
            for cond in flow.iterfind("bpmn:conditionExpression", NSMAP):
                for name in sorted(names_read(cond.text or "")):
                    if not out[source].has(name) and name not in self.data_objects:
                        self._report(
                            _Read(name, f"the condition of flow {flow.get('id')}", flow),
                            self._witness(name, source, scope, out, attached),
                        )
        ends = [out[nid] for nid, n in scope.nodes.items() if local_name(n.tag) == "endEvent"]
        result = ANYTHING
        for end in ends:
            result = result & end
        return result if ends else entry

    def _into(
        self,
        nid: str,
        scope: _Scope,
        attached: dict[str, str],
        into: dict[str, Vars],
        out: dict[str, Vars],
        entry: Vars,
    ) -> Vars:
        node = scope.nodes[nid]
        kind = local_name(node.tag)
        if nid in attached:
            host = attached[nid]
            return into.get(host, ANYTHING) if host in scope.nodes else ANYTHING
        preds = scope.preds[nid]
        if not preds:
            return entry if kind == "startEvent" else ANYTHING
        sets = [out[p] for p in preds]
        if kind == "parallelGateway" and len(preds) > 1:
            result = NOTHING
            for s in sets:
                result = result | s
            return result
        result = ANYTHING
        for s in sets:
            result = result & s
        return result

    def _effect(self, node: etree._Element, before: Vars, is_process: bool) -> Vars:
        if local_name(node.tag) in ("subProcess", "transaction"):
            key = (node, before)
            if key not in self._subprocesses:
                self._subprocesses[key] = self.run(node, before, is_process=False)
            return self._subprocesses[key]
        return self.writes(node, start_of_process=is_process)

    def _check(
        self,
        node: etree._Element,
        before: Vars,
        scope: _Scope,
        out: dict[str, Vars],
        attached: dict[str, str],
    ) -> None:
        for read in self.reads(node):
            if before.has(read.name) or read.name in read.extra or read.name in self.data_objects:
                continue
            if read.name in ALWAYS:
                continue
            witness = self._witness(read.name, node.get("id"), scope, out, attached)
            self._report(read, witness)

    def _witness(
        self,
        name: str,
        nid: str | None,
        scope: _Scope,
        out: dict[str, Vars],
        attached: dict[str, str],
    ) -> list[str]:
        """One path back towards a start on which `name` is never written (element ids)."""
        path: list[str] = []
        current = nid
        while current is not None and current not in path:
            path.append(current)
            if current in attached:
                current = attached[current]
                continue
            lacking = [
                p for p in scope.preds.get(current, []) if not out[p].has(name) and p not in path
            ]
            current = lacking[0] if lacking else None
        return list(reversed(path))

    def _report(self, read: _Read, path: list[str]) -> None:
        element = read.element.get("id")
        key = (read.name, element, read.what)
        if key in self.reported:
            return
        self.reported.add(key)
        self.unset_reads.append(read)
        route = " → ".join(path)
        if read.name in BUILT_INS and not self.written.has(read.name):
            self.findings.append(_built_in_read(read, self.filename, element))
            return
        if not self.written.has(read.name):
            why = "no step of the process sets it (renamed or misspelt?)"
        else:
            why = "it is not set on every path that reaches it" + (
                f" (not on {route})" if len(path) > 1 else ""
            )
        self.findings.append(
            BpmnProblem(
                f"variable {read.name!r} is read by {read.what}, but {why}",
                self.filename,
                read.element.sourceline,
                element,
                "data.unset-variable",
                f"set {read.name!r} before it is read on every path: a form field, a script "
                f"line `{read.name} = ...`, a message's `variables` property, or the start form "
                f"(a script can give a default: `{read.name} = None`)",
            )
        )


def _built_in_read(read: _Read, filename: str, element: str | None) -> BpmnProblem:
    """A read of a Camunda multi-instance counter where the engine does not provide it."""
    return BpmnProblem(
        f"variable {read.name!r} is read by {read.what}, but it is a Camunda built-in this "
        f"service provides only in a multi-instance task's completion condition",
        filename,
        read.element.sourceline,
        element,
        "data.unset-variable",
        "for a count of rounds, draw the repetition as a flow back through an exclusive "
        "gateway, with a script task `rounds = 0` before it and `rounds = rounds + 1` on the "
        "way back, and test `rounds` in the gateway's condition; inside a multi-instance "
        "task, use its element variable (the item) instead of the index; a multi-instance "
        "task's completion condition may read nrOfInstances, nrOfCompletedInstances, "
        "nrOfActiveInstances and loopCounter",
    )


def data_flow_findings(
    root: etree._Element, process: etree._Element, filename: str
) -> list[BpmnProblem]:
    """The data-flow errors of the file's executable process."""
    analysis = _Analysis(root, process, filename)
    analysis.run(process, Vars(ALWAYS), is_process=True)
    # An event subprocess starts whenever its event comes, possibly right after the start.
    starts = list(process.iterfind("bpmn:startEvent", NSMAP))
    at_start = ANYTHING
    for start in starts:
        at_start = at_start & analysis.writes(start, start_of_process=True)
    at_start = Vars(ALWAYS) | (at_start if starts else NOTHING)
    for sub in process.iterfind("bpmn:subProcess", NSMAP):
        if sub.get("triggeredByEvent") == "true":
            analysis.run(sub, at_start, is_process=False)
    return (
        analysis.findings
        + _start_only_findings(root, process, filename, analysis)
        + _unfed_data_objects(process, filename, analysis)
    )


def _unfed_data_objects(
    process: etree._Element, filename: str, analysis: _Analysis
) -> list[BpmnProblem]:
    """A data output association copies the step's variable named as the data object into it when
    the step completes, and the engine refuses the completion when the step has no such
    variable: a documentation-only association drawn in the Modeler failed every completion."""
    objects = {
        ref.get("id"): ref.get("dataObjectRef")
        for ref in process.iter(f"{{{BPMN_NS}}}dataObjectReference")
    }
    found = []
    for node in process.iter():
        if not isinstance(node.tag, str) or local_name(node.tag) not in FLOW_NODE_TAGS:
            continue
        for association in node.iterfind("bpmn:dataOutputAssociation", NSMAP):
            target = (association.findtext("bpmn:targetRef", "", NSMAP) or "").strip()
            name = objects.get(target)
            if not name or analysis.writes(node, start_of_process=False).has(name):
                continue
            found.append(
                BpmnProblem(
                    f"{local_name(node.tag)} {node.get('id')} writes the data object {name!r} "
                    f"({target}), but sets no variable {name!r}: completing it would fail",
                    filename,
                    association.sourceline,
                    node.get("id"),
                    "data.object-output",
                    f"set {name!r} in the step (a form field with that id, a script line "
                    f"`{name} = ...`), or delete the association if the data object only "
                    "documents the model",
                )
            )
    return found


def _start_only_findings(
    root: etree._Element, process: etree._Element, filename: str, analysis: _Analysis
) -> list[BpmnProblem]:
    """Reads that pass only because a start event without a form may bring anything: nothing in
    the model sets them, so every caller must know to send them (a Flowable formProperty, a
    Zeebe ioMapping or a Signavio label read as a variable ends here). A warning: a start
    request may well carry them."""
    formless = [
        start
        for start in process.iterfind("bpmn:startEvent", NSMAP)
        if start.find("bpmn:messageEventDefinition", NSMAP) is None
        and start.find("bpmn:errorEventDefinition", NSMAP) is None
        and not analysis.form_fields(start).names
    ]
    if not formless:
        return []
    strict = _Analysis(root, process, filename, formless_start_sends=Vars(ALWAYS))
    strict.run(process, Vars(ALWAYS), is_process=True)
    seen = {(r.name, r.element.get("id"), r.what) for r in analysis.unset_reads}
    found = []
    for read in strict.unset_reads:
        element = read.element.get("id")
        if (read.name, element, read.what) in seen or read.name in BUILT_INS:
            continue
        found.append(
            BpmnProblem(
                f"variable {read.name!r} is read by {read.what}, but no step sets it: it can only "
                "come with the request that starts the case, as the start event has no form",
                filename,
                read.element.sourceline,
                element,
                "data.start-variable",
                f"give the start event a form with a field {read.name!r} (Forms tab; callers and "
                f"the workspace then know to send it), or set it in a step before it is read (a "
                f"form field, a script line `{read.name} = ...`); another engine's form or "
                "input mapping is not read here",
                severity="warning",
            )
        )
    return found
