"""Multi-instance tasks as Camunda Modeler writes them, read by the parser itself.

The Modeler's panel writes the collection and the element variable as attributes,
`camunda:collection="${signers}"` and `camunda:elementVariable="signer"`; the standard
`loopDataInputRef` / `loopDataOutputRef` are references to data inputs, which bpmn-moddle cannot
resolve to a variable and drops on every save. What each instance hands back is named by two
extension properties of the task, which the Modeler's "Extension properties" group edits and every
save keeps: `outputCollection` (the variable that receives the list) and, optionally,
`outputElement` (each instance's item; by default its submitted form, stepping.set_output_item).
The standard elements are still read when they are present (files written by other tools).

The completion condition may read Camunda's built-in counters (`BUILT_INS`): `nrOfInstances`,
`nrOfCompletedInstances`, `nrOfActiveInstances` and `loopCounter` (the finishing instance's
index, from 0). SpiffWorkflow offers none of them; the service's multi-instance task specs
(`CountingParallelMultiInstanceTask`, `CountingSequentialMultiInstanceTask`) compute them from
the task's stored bookkeeping (its instances, the list of merged ones and the items remaining),
so a condition gives the same answer after a save and restore. A variable of the same name in the
case's data wins over the counter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.node_parser import DEFAULT_NSMAP
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.bpmn.specs.defaults import (
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
)
from SpiffWorkflow.util.task import TaskState

from .budget import MAX_TASKS

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
NSMAP = {**DEFAULT_NSMAP, "camunda": CAMUNDA_NS}

OUTPUT_COLLECTION = "outputCollection"
OUTPUT_ELEMENT = "outputElement"
# Camunda's variables of a multi-instance activity, given to its completion condition.
BUILT_INS = frozenset(
    {"nrOfInstances", "nrOfCompletedInstances", "nrOfActiveInstances", "loopCounter"}
)


class _CountingMixin:
    """check_completion_condition as upstream's, with the counters (BUILT_INS) in scope."""

    condition: Any

    def check_completion_condition(self, my_task: Any) -> Any:
        merged = my_task.internal_data.get("merged", [])
        if not merged or self.condition is None:
            return None
        last = next(c for c in my_task.children if str(c.id) == merged[-1])
        counters = self.counters(my_task, last)
        return my_task.workflow.script_engine.evaluate(last, self.condition, counters)

    def counters(self, my_task: Any, last: Any) -> dict[str, int]:
        instances = list(self._instances(my_task))  # type: ignore[attr-defined]
        active = sum(1 for c in instances if not c.has_state(TaskState.FINISHED_MASK))
        completed = len(my_task.internal_data.get("merged", []))
        return {
            "nrOfInstances": self.instance_count(my_task, instances, completed),
            "nrOfCompletedInstances": completed,
            "nrOfActiveInstances": active,
            "loopCounter": instances.index(last),
        }

    def instance_count(self, my_task: Any, instances: list[Any], completed: int) -> int:
        return len(instances)


class CountingParallelMultiInstanceTask(
    _CountingMixin,
    ParallelMultiInstanceTask,  # type: ignore[misc]
):
    """A parallel multi-instance task: every instance exists from the start."""


class CountingSequentialMultiInstanceTask(
    _CountingMixin,
    SequentialMultiInstanceTask,  # type: ignore[misc]
):
    """A sequential multi-instance task: instances are created one by one, so the count is
    the collection's length (or the cardinality)."""

    def instance_count(self, my_task: Any, instances: list[Any], completed: int) -> int:
        cardinality = my_task.internal_data.get("cardinality")
        if cardinality is not None:
            return int(cardinality)
        remaining = my_task.internal_data.get("remaining", [])
        open_now = sum(1 for c in instances if not c.has_state(TaskState.FINISHED_MASK))
        return completed + open_now + len(remaining)


@dataclass(frozen=True, slots=True)
class LoopData:
    """What a multiInstanceLoopCharacteristics names, from either spelling."""

    cardinality: str | None
    collection: str | None
    element_variable: str | None
    output_collection: str | None
    output_element: str | None
    condition: str | None
    sequential: bool


def _text(loop: etree._Element, local: str) -> str | None:
    node = loop.find(f"bpmn:{local}", NSMAP)
    if node is None:
        return None
    return (node.text or "").strip()


def variable_name(value: str) -> str:
    """`${signers}` or `signers` → `signers` (the collection attribute allows both)."""
    name = value.strip()
    if name.startswith("${") and name.endswith("}"):
        name = name[2:-1].strip()
    return name


def task_properties(task: etree._Element) -> dict[str, str]:
    return {
        p.get("name") or "": (p.get("value") or "").strip()
        for p in task.xpath(
            "./bpmn:extensionElements/camunda:properties/camunda:property", namespaces=NSMAP
        )
        if p.get("name")
    }


def read_loop(task: etree._Element, loop: etree._Element) -> LoopData:
    """The multi-instance data of `task`; the camunda spelling wins where both are given (the
    deploy rules refuse that, deploy_rules.py)."""
    collection = loop.get(f"{{{CAMUNDA_NS}}}collection")
    element = loop.get(f"{{{CAMUNDA_NS}}}elementVariable")
    item = loop.find("bpmn:inputDataItem", NSMAP)
    out_item = loop.find("bpmn:outputDataItem", NSMAP)
    props = task_properties(task)
    output_collection = props.get(OUTPUT_COLLECTION) or _text(loop, "loopDataOutputRef")
    output_element = props.get(OUTPUT_ELEMENT) or (
        (out_item.get("id") or out_item.get("name")) if out_item is not None else None
    )
    if output_collection and not output_element:
        output_element = f"{output_collection}Item"
    return LoopData(
        cardinality=_text(loop, "loopCardinality"),
        collection=variable_name(collection) if collection else _text(loop, "loopDataInputRef"),
        element_variable=(element or "").strip()
        or ((item.get("id") or item.get("name")) if item is not None else None),
        output_collection=output_collection or None,
        output_element=output_element or None,
        condition=_text(loop, "completionCondition"),
        sequential=loop.get("isSequential") == "true",
    )


# What a value of each JSON type is called in a message to the analyst or the caller.
_TYPE_NAMES = {
    type(None): "nothing (null)",
    str: "text",
    dict: "an object",
    bool: "true/false",
    int: "a number",
    float: "a number",
}


def check_collection(spec: Any, my_task: Any) -> None:
    """Refuse a collection that is not a list: SpiffWorkflow iterates any value, so a text
    variable made one instance per character (and an object one per key)."""
    if spec.data_input is None or not spec.data_input.exists(my_task):
        return  # no collection (a cardinality), or SpiffWorkflow's own "missing" error
    value = spec.data_input.get(my_task)
    if isinstance(value, (list, tuple)):
        return
    name = spec.data_input.bpmn_id
    kind = _TYPE_NAMES.get(type(value), type(value).__name__)
    shown = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:37]}..."
    raise WorkflowTaskException(
        f"the multi-instance collection variable {name!r} holds {kind} ({shown}), not a list: "
        f"one instance runs per item of a list, so set {name} to a list (e.g. {[value]!r} for "
        f"one item) in a form or a script before the task",
        task=my_task,
    )


def check_count(my_task: Any, count: Any, source: str) -> None:
    """Refuse a multi-instance of more instances than a case may hold engine tasks (MAX_TASKS)
    before any is created: SpiffWorkflow creates every instance of a parallel one at once (ten
    million of them took a server past 2.6 GB), and the run's task limit was checked only after."""
    if isinstance(count, int) and not isinstance(count, bool) and count > MAX_TASKS:
        raise WorkflowTaskException(
            f"the multi-instance task would run {count} instances ({source}); a case holds at "
            f"most {MAX_TASKS} engine tasks, so split the work into smaller batches",
            task=my_task,
        )


def _cardinality(spec: Any, my_task: Any) -> Any:
    return my_task.workflow.script_engine.evaluate(my_task, spec.cardinality)


def _cardinality_source(spec: Any, count: Any) -> str:
    return f"its loop cardinality {spec.cardinality!r} is {count}"


def _collection_source(spec: Any, count: int) -> str:
    return f"its collection variable {spec.data_input.bpmn_id!r} holds {count} items"


class CheckedParallelMultiInstanceTask(CountingParallelMultiInstanceTask):
    """A parallel multi-instance task whose collection must be a list (check_collection), of at
    most MAX_TASKS instances (check_count), with Camunda's counters in its completion
    condition."""

    def create_children(self, my_task: Any) -> None:
        # Called by _update_hook once the task has its variables.
        check_collection(self, my_task)
        if self.data_input is not None:
            if self.data_input.exists(my_task):
                count = len(self.data_input.get(my_task))
                check_count(my_task, count, _collection_source(self, count))
        else:
            count = _cardinality(self, my_task)
            check_count(my_task, count, _cardinality_source(self, count))
        super().create_children(my_task)


class CheckedSequentialMultiInstanceTask(CountingSequentialMultiInstanceTask):
    """A sequential multi-instance task whose collection must be a list (check_collection), of
    at most MAX_TASKS instances (check_count), with Camunda's counters in its completion
    condition."""

    def init_remaining_items(self, my_task: Any) -> Any:
        # Called by _update_hook once the task has its variables.
        check_collection(self, my_task)
        if self.data_input.exists(my_task):
            count = len(self.data_input.get(my_task))
            check_count(my_task, count, _collection_source(self, count))
        return super().init_remaining_items(my_task)

    def add_next_child(self, my_task: Any) -> None:
        # _update_hook evaluates a loop cardinality itself, then adds the first instance here.
        if self.data_input is None and my_task.internal_data.get("current") == 0:
            count = my_task.internal_data.get("cardinality")
            check_count(my_task, count, _cardinality_source(self, count))
        # An instance's item (camunda:elementVariable) is its own, as in Camunda. Without an
        # output collection upstream merges the finished instance's data, item included, into
        # the body, and then refuses the next instance: "input item signer already exists".
        for item in (self.input_item, self.output_item):
            name = getattr(item, "bpmn_id", None)
            if name and my_task.internal_data.get("merged"):
                my_task.data.pop(name, None)
        super().add_next_child(my_task)


class MultiInstanceParserMixin:
    """Replaces TaskParser._add_multiinstance_task (upstream.py fingerprints it): the same task
    spec, built from LoopData instead of the standard elements only."""

    node: Any
    spec: Any
    task: Any
    PARALLEL_MI_CLASS: Any = CheckedParallelMultiInstanceTask
    SEQUENTIAL_MI_CLASS: Any = CheckedSequentialMultiInstanceTask
    raise_validation_exception: Any
    _copy_task_attrs: Any

    def _add_multiinstance_task(self, loop_characteristics: Any) -> None:
        data = read_loop(self.node, loop_characteristics)
        if data.cardinality is None and data.collection is None:
            self.raise_validation_exception(
                "a multi-instance task needs a collection (camunda:collection, the Modeler's "
                "'Collection' field) or a loop cardinality"
            )
        elif data.cardinality is not None and data.collection is not None:
            self.raise_validation_exception(
                "a multi-instance task takes either a collection or a loop cardinality, not both"
            )

        def ref(name: str | None) -> Any:
            return TaskDataReference(name, name) if name else None

        def declared(name: str | None, *kinds: str) -> Any:
            # As upstream: with an ioSpecification, the collections are its data inputs/outputs.
            io = self.task.io_specification
            if name is None or io is None:
                return ref(name)
            found = [v for kind in kinds for v in getattr(io, kind) if v.name == name]
            if not found:
                self.raise_validation_exception(
                    f"the loop collection {name!r} is missing from the ioSpecification"
                )
            return found[0]

        original = self.spec.task_specs.pop(self.task.name)
        params = {
            "task_spec": "",
            "cardinality": data.cardinality,
            "data_input": declared(data.collection, "data_inputs"),
            "data_output": declared(data.output_collection, "data_inputs", "data_outputs"),
            "input_item": ref(data.element_variable),
            "output_item": ref(data.output_element),
            "condition": data.condition,
        }
        if data.sequential:
            self.task = self.SEQUENTIAL_MI_CLASS(
                self.spec, original.name, description="Sequential MultiInstance", **params
            )
        else:
            self.task = self.PARALLEL_MI_CLASS(
                self.spec, original.name, description="Parallel MultiInstance", **params
            )
        self._copy_task_attrs(original, loop_characteristics)


def multi_instance_problems(task: etree._Element, loop: etree._Element) -> list[str]:
    """What is wrong with a multi-instance task's collection, element and output names."""
    from .bpmn_xml import IDENTIFIER  # bpmn_xml imports the parser classes, which import us

    problems = []
    collection = loop.get(f"{{{CAMUNDA_NS}}}collection")
    given = collection is not None or loop.find("bpmn:loopDataInputRef", NSMAP) is not None
    if not given and loop.find("bpmn:loopCardinality", NSMAP) is None:
        problems.append(
            "a multi-instance task needs a Collection (with an Element variable) or a Loop "
            "cardinality in the Modeler's Multi instance panel"
            + (
                ": its output collection is there, but the collection was lost (a Modeler "
                "save drops loopDataInputRef)"
                if loop.find("bpmn:outputDataItem", NSMAP) is not None
                else ""
            )
        )
    cardinality = variable_name(_text(loop, "loopCardinality") or "")
    literal = cardinality.isascii() and cardinality.isdigit()
    if literal and (len(cardinality) > 9 or int(cardinality) > MAX_TASKS):
        problems.append(
            f"the loop cardinality {cardinality[:12]} is more instances than a case may hold "
            f"(at most {MAX_TASKS} engine tasks); split the work into smaller batches"
        )
    element = loop.get(f"{{{CAMUNDA_NS}}}elementVariable")
    props = task_properties(task)
    if collection is not None:
        if not IDENTIFIER.match(variable_name(collection)):
            problems.append(
                f"camunda:collection {collection!r} must name a variable holding the collection "
                f"(e.g. ${{signers}}); compute it in a script task before"
            )
        if loop.find("bpmn:loopDataInputRef", NSMAP) is not None:
            problems.append(
                "give the collection either as camunda:collection or as loopDataInputRef"
            )
    if element is not None:
        if not IDENTIFIER.match(element.strip()):
            problems.append(f"camunda:elementVariable {element!r} must be a variable name")
        if loop.find("bpmn:inputDataItem", NSMAP) is not None:
            problems.append(
                "give the element variable either as camunda:elementVariable or as inputDataItem"
            )
    for local in ("loopDataInputRef", "loopDataOutputRef"):
        text = _text(loop, local)
        if text is not None and not IDENTIFIER.match(text):
            problems.append(f"{local} {text!r} must be a variable name")
    for name in (OUTPUT_COLLECTION, OUTPUT_ELEMENT):
        value = props.get(name)
        if value is not None and not IDENTIFIER.match(value):
            problems.append(f"the {name} property {value!r} must be a variable name")
    if OUTPUT_COLLECTION in props and loop.find("bpmn:loopDataOutputRef", NSMAP) is not None:
        problems.append(
            f"give the output collection either as the {OUTPUT_COLLECTION} property or as "
            f"loopDataOutputRef"
        )
    if OUTPUT_ELEMENT in props and OUTPUT_COLLECTION not in props:
        problems.append(
            f"the {OUTPUT_ELEMENT} property needs an {OUTPUT_COLLECTION} property to collect into"
        )
    return problems
