"""Every SpiffWorkflow function the engine replaces, copies or builds on, fingerprinted.

The engine changes SpiffWorkflow's behaviour only through its own subclasses (workflow.py,
traversal.py, joins.py, event_subprocesses.py, clock.py, specs.py, camunda_ext.py,
serialization.py). Each entry below names the upstream function such a subclass replaces, copies
or depends on, where the engine does so, and why; its fingerprint is a hash of the function's
source in the pinned release. An upgrade of SpiffWorkflow that changes any of them, or any other
version than the pinned one, fails tests/test_upstream_drift.py: read the upstream change, carry
it into the engine's class (or drop the override), then record the new fingerprints with

    python -m bpmn_service.engine.upstream

which prints the current fingerprint of every entry. docs/upstream.md has the text of the fixes
that belong upstream.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import sys
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

PINNED_VERSION = "3.2.0"


@dataclass(frozen=True, slots=True)
class Override:
    target: str  # "module:Class.attribute" in SpiffWorkflow
    how: str  # replaced (own code), copied (upstream's code, changed), extended, relied on
    where: str  # the engine's class or function
    why: str
    fingerprint: str


_INDEX = "speed: the task index (traversal.py) answers instead of a tree walk"

OVERRIDES: tuple[Override, ...] = (
    # ---- the task index and the walk (traversal.py, workflow.py) ----
    Override(
        "SpiffWorkflow.task:Task.__init__",
        "extended",
        "traversal.IndexedTask.__init__",
        _INDEX + "; a new task enters its workflow's index (ids from the workflow)",
        "5d98d6df6c602dfb",
    ),
    Override(
        "SpiffWorkflow.task:Task._set_state",
        "copied",
        "traversal.IndexedTask._set_state",
        _INDEX + "; a state change moves the task between index buckets, and the log record "
        "is built only when the logger emits it",
        "86c4c1d22dc9b70f",
    ),
    Override(
        "SpiffWorkflow.task:Task._add_child",
        "copied",
        "traversal.IndexedTask._add_child",
        "new child tasks must be of the service's task class (upstream hard-codes Task)",
        "05ec96e943da475e",
    ),
    Override(
        "SpiffWorkflow.task:Task.cancel",
        "extended",
        "traversal.IndexedTask.cancel",
        "an arrival waiting at the end join below a cancelled cycle timer is cancelled, not "
        "removed, so the end still merges what its branch did (ended_branches.py)",
        "16a6cc6f7ea48468",
    ),
    Override(
        "SpiffWorkflow.task:Task._drop_children",
        "relied on",
        "ended_branches.keep_ended_arrivals",
        "cancel removes the unfinished tasks below finished children; a cancelled arrival is "
        "finished and stays",
        "eca5081a4b520d8d",
    ),
    Override(
        "SpiffWorkflow.task:Task.is_descendant_of",
        "replaced",
        "traversal.IndexedTask.is_descendant_of",
        "speed: a look-up in the cached ancestor chain instead of a recursion per level",
        "e3322602ff369793",
    ),
    Override(
        "SpiffWorkflow.task:Task._inherit_data",
        "replaced",
        "inheritance.inherit_data",
        "speed: a new task (no variables yet) copies its parent's without a deep merge",
        "881f3fbdcf64c763",
    ),
    Override(
        "SpiffWorkflow.util.deep_merge:DeepMerge.merge",
        "relied on",
        "inheritance.inherit_data",
        "the shallow copy for a new task must equal this merge into an empty dict",
        "b629957b3d77fa37",
    ),
    Override(
        "SpiffWorkflow.task:Task.__iter__",
        "replaced",
        "traversal.IndexedTask.__iter__",
        "speed: iterating a task's subtree uses the plain walk",
        "f57ba5ed8693021a",
    ),
    Override(
        "SpiffWorkflow.util.task:TaskIterator.__init__",
        "relied on",
        "traversal._walk",
        "the walk reads the iterator's task_list, min_state, depth limit and filter",
        "86cd5292d76b19c4",
    ),
    Override(
        "SpiffWorkflow.util.task:TaskIterator.__next__",
        "replaced",
        "traversal._FastIteration.__next__",
        _INDEX + ", else the plain walk over an explicit stack",
        "e022469d2efe5d1c",
    ),
    Override(
        "SpiffWorkflow.util.task:TaskIterator._next",
        "copied",
        "traversal._walk",
        "speed: the same pre-order with the depth on a stack (upstream re-slices lists and "
        "recomputes depths per node)",
        "55dbe46635bd176b",
    ),
    Override(
        "SpiffWorkflow.bpmn.util.task:BpmnTaskIterator._next",
        "copied",
        "traversal._walk",
        "speed: as TaskIterator._next, descending into subprocesses as upstream does",
        "344c7da965a176ec",
    ),
    Override(
        "SpiffWorkflow.util.task:TaskFilter.matches",
        "copied",
        "traversal._matcher",
        "speed: the filter inlined for SpiffWorkflow's own filter classes",
        "a495446080b6cf4e",
    ),
    Override(
        "SpiffWorkflow.bpmn.util.task:BpmnTaskFilter.matches",
        "relied on",
        "traversal._matcher",
        "inlined only when lane and catches_event are unset (then it equals TaskFilter's)",
        "08e50e44d4836004",
    ),
    Override(
        "SpiffWorkflow.workflow:Workflow.__init__",
        "copied",
        "traversal.IndexedWorkflowMixin._plant_tree",
        "the root task of a new instance must be of the service's task class",
        "a179a75739481275",
    ),
    Override(
        "SpiffWorkflow.workflow:Workflow._remove_task",
        "extended",
        "traversal.IndexedWorkflowMixin._remove_task",
        _INDEX + "; a removed task leaves the index",
        "3be421d7182884f3",
    ),
    Override(
        "SpiffWorkflow.workflow:Workflow.is_completed",
        "extended",
        "traversal.IndexedWorkflowMixin.is_completed",
        _INDEX + ": any open task attached to the tree answers no",
        "4f7a3c15bec818e9",
    ),
    Override(
        "SpiffWorkflow.workflow:Workflow.collect_log_extras",
        "copied",
        "traversal.IndexedWorkflowMixin.collect_log_extras",
        "speed: upstream lists every task id (a full walk) whenever its logger's level is "
        "unset, whether or not the record is emitted",
        "888ba42a9b91ba27",
    ),
    Override(
        "SpiffWorkflow.bpmn.util.subworkflow:BpmnSubWorkflow.collect_log_extras",
        "copied",
        "workflow.ServiceSubWorkflow.collect_log_extras",
        "as Workflow.collect_log_extras, plus the parent task id",
        "88ba8bf3377bcdee",
    ),
    Override(
        "SpiffWorkflow.bpmn.util.subworkflow:BpmnBaseWorkflow.get_tasks_iterator",
        "replaced",
        "traversal.IndexedWorkflowMixin.get_tasks_iterator",
        _INDEX,
        "d238edf6a8b16727",
    ),
    Override(
        "SpiffWorkflow.workflow:Workflow.update_waiting_tasks",
        "replaced",
        "waiting.update_waiting_tasks",
        "speed: timer and message catches that cannot have fired are not updated again",
        "258ee4cb217fa709",
    ),
    Override(
        "SpiffWorkflow.bpmn.workflow:BpmnWorkflow.refresh_timers",
        "replaced",
        "waiting.refresh_timers",
        "speed: as update_waiting_tasks, for timers",
        "e1995bf4ce4f0ff0",
    ),
    Override(
        "SpiffWorkflow.bpmn.workflow:BpmnWorkflow.__init__",
        "relied on",
        "workflow.ServiceWorkflow.__init__",
        "the service plants the task tree itself (deserializing=True, then _plant_tree)",
        "3a81d03cfd844e1a",
    ),
    Override(
        "SpiffWorkflow.bpmn.workflow:BpmnWorkflow.create_subprocess",
        "copied",
        "workflow.ServiceWorkflow.create_subprocess",
        "subprocesses must be of the service's subprocess class (upstream hard-codes it)",
        "d29d0ee4716cc3ba",
    ),
    Override(
        "SpiffWorkflow.bpmn.util.subworkflow:BpmnSubWorkflow.__init__",
        "relied on",
        "workflow.ServiceSubWorkflow.__init__",
        "as BpmnWorkflow.__init__",
        "db2b701bf21b28a0",
    ),
    # ---- joins (joins.py) ----
    Override(
        "SpiffWorkflow.bpmn.specs.mixins.unstructured_join:UnstructuredJoin._update_hook",
        "copied",
        "joins.join_update",
        _INDEX + " (the join's other tasks, instead of a scan of every task)",
        "dbaba6701e234236",
    ),
    Override(
        "SpiffWorkflow.bpmn.specs.mixins.unstructured_join:UnstructuredJoin._run_hook",
        "replaced",
        "joins.join_run",
        "wrong: a deep merge of whole branch copies lets a branch that changed nothing "
        "revert what the others changed; each branch contributes only its changes",
        "2618569c760d44db",
    ),
    Override(
        "SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway:InclusiveGateway._run_hook",
        "copied",
        "joins.MergingInclusiveGateway._run_hook",
        "calls UnstructuredJoin._run_hook by name; the copy calls the merging join",
        "a2c4b3bf4d78dee4",
    ),
    Override(
        "SpiffWorkflow.specs.ExclusiveChoice:ExclusiveChoice._run_hook",
        "relied on",
        "stepping.workflow_failed",
        "an exclusive gateway where no condition holds and no flow is the default raises a "
        "WorkflowException naming only the spec, with this text; the service's error names "
        "the gateway and says what to do",
        "dbcfd06a134b43ef",
    ),
    Override(
        "SpiffWorkflow.bpmn.specs.control:_EndJoin._check_threshold_unstructured",
        "replaced",
        "traversal.end_join_satisfied",
        _INDEX + " (upstream walks every unfinished task, predicted ones included)",
        "e466d541083a5bf8",
    ),
    Override(
        "SpiffWorkflow.bpmn.specs.control:_EndJoin._run_hook",
        "copied",
        "joins.MergingEndJoin._run_hook",
        "the end join with the merging join",
        "2d9846da16740c8e",
    ),
    # ---- event subprocesses (event_subprocesses.py, specs.py) ----
    Override(
        "SpiffWorkflow.specs.base:TaskSpec._predict_hook",
        "copied",
        "event_subprocesses.EventStartTask._predict_hook",
        "wrong: a triggered event subprocess is connected to the shared spec's start task, "
        "so every later instance started it; the start task's prediction leaves them out",
        "8ab02e385bce239a",
    ),
    Override(
        "SpiffWorkflow.bpmn.specs.control:BpmnStartTask.trigger_wf",
        "relied on",
        "event_subprocesses.EventStartTask",
        "the leak worked around: trigger_wf connects the event subprocess to the spec",
        "6f1a0430eb3a0986",
    ),
    Override(
        "SpiffWorkflow.bpmn.specs.bpmn_task_spec:BpmnTaskSpec._on_complete_hook",
        "extended",
        "event_subprocesses.InterruptingStartEvent._on_complete_hook",
        "wrong: an interrupting event subprocess let the rest of its process go on",
        "39e47e85a77b2ffc",
    ),
    Override(
        "SpiffWorkflow.specs.base:TaskSpec.test",
        "extended",
        "event_subprocesses.SubprocessTask.test",
        "wrong: an event subprocess, which no flow enters, failed the incoming-flow check when "
        "its run ended on a spec no trigger had connected (after a restart or a migration)",
        "8a2ce71e2a566a2e",
    ),
    # ---- Camunda 7's own variables (bpmn_errors.py, event_subprocesses.py, multi_instance.py) ----
    Override(
        "SpiffWorkflow.bpmn.specs.mixins.events.event_types:CatchingEvent.catch",
        "extended",
        "bpmn_errors.ErrorVariablesMixin.catch",
        "missing: camunda:errorCodeVariable / errorMessageVariable get the caught error's code "
        "and message (added to the payload the catch stores in internal_data)",
        "728c1ca9d0ed5cb8",
    ),
    Override(
        "SpiffWorkflow.bpmn.specs.mixins.events.start_event:StartEvent.catch",
        "extended",
        "bpmn_errors.ErrorVariablesMixin.catch",
        "the same for an event subprocess started by an error",
        "df8f486bf5f3afa9",
    ),
    Override(
        "SpiffWorkflow.bpmn.util.event:BpmnEvent.__init__",
        "extended",
        "bpmn_errors.RaisedError",
        "a worker's error carries its message to the catch (errorMessageVariable)",
        "ef5be43b6b2ba104",
    ),
    Override(
        "SpiffWorkflow.bpmn.specs.mixins.events.event_types:CatchingEvent._run_hook",
        "extended",
        "event_subprocesses.InterruptingStartEvent._run_hook",
        "missing: camunda:initiator names a variable that gets the starting user",
        "c0d09ad9b075478d",
    ),
    Override(
        "SpiffWorkflow.bpmn.specs.mixins.multiinstance_task:MultiInstanceTask."
        "check_completion_condition",
        "copied",
        "multi_instance._CountingMixin.check_completion_condition",
        "missing: Camunda's nrOfInstances, nrOfCompletedInstances, nrOfActiveInstances and "
        "loopCounter in the completion condition",
        "5336d77af01d77a1",
    ),
    Override(
        "SpiffWorkflow.bpmn.specs.bpmn_process_spec:BpmnProcessSpec.__init__",
        "copied",
        "specs.ServiceProcessSpec.__init__",
        "a process's start task and end join must be the service's classes",
        "4c0511ce1defb2f1",
    ),
    Override(
        "SpiffWorkflow.bpmn.parser.ProcessParser:ProcessParser.create_spec",
        "extended",
        "specs.ServiceProcessParser.create_spec",
        "the parser builds the service's process spec",
        "7019c5ea092ae801",
    ),
    # ---- timers on the engine clock (clock.py, camunda_ext.py) ----
    Override(
        "SpiffWorkflow.bpmn.specs.event_definitions.timer:TimeDateEventDefinition.has_fired",
        "copied",
        "clock.TimeDateEventDefinition.has_fired",
        "no clock hook upstream: the time is read from the engine clock; a value that is no "
        "ISO-8601 text fails the run naming the timer (upstream: an unnamed Exception)",
        "919a32f7b56f51c0",
    ),
    Override(
        "SpiffWorkflow.bpmn.specs.event_definitions.timer:DurationTimerEventDefinition.has_fired",
        "copied",
        "clock.DurationTimerEventDefinition.has_fired",
        "no clock hook upstream: the time is read from the engine clock; a value that is no "
        "ISO-8601 text fails the run naming the timer (upstream: an unnamed Exception)",
        "c78bee4e63b01fbc",
    ),
    Override(
        "SpiffWorkflow.bpmn.specs.event_definitions.timer:CycleTimerEventDefinition.cycle_complete",
        "copied",
        "clock.CycleTimerEventDefinition.cycle_complete",
        "no clock hook upstream: the time is read from the engine clock; a value that is no "
        "ISO-8601 text fails the run naming the timer (upstream: an unnamed Exception)",
        "14378cef17d05489",
    ),
    Override(
        "SpiffWorkflow.bpmn.specs.event_definitions.timer:CycleTimerEventDefinition.update_task",
        "copied",
        "clock.CycleTimerEventDefinition.update_task",
        "bounded state: a firing adds no second waiting boundary join (one per firing piled up)",
        "6cd859500eddae74",
    ),
    Override(
        "SpiffWorkflow.bpmn.specs.event_definitions.timer:"
        "TimerEventDefinition.parse_iso_recurring_interval",
        "copied",
        "clock.recurring_interval",
        "no clock hook upstream: a bare interval starts at the engine clock's now",
        "a6cd84f8353b1abc",
    ),
    Override(
        "SpiffWorkflow.bpmn.specs.event_definitions.timer:TimerEventDefinition.parse_iso_duration",
        "relied on",
        "clock._iso_duration",
        "a duration it cannot read raises a bare Exception, which becomes a ValueError; a timer "
        "value an expression gives fails the run naming the timer (clock._read)",
        "6de0b645b645401d",
    ),
    Override(
        "SpiffWorkflow.bpmn.parser.event_parsers:EventDefinitionParser.parse_timer_event",
        "extended",
        "camunda_ext._ExtensionsMixin.parse_timer_event",
        "the parser builds the service's timer definitions",
        "d94f2ab212940de0",
    ),
    # ---- the safe expression language (script_engine.py) ----
    Override(
        "SpiffWorkflow.bpmn.script_engine.python_environment:"
        "BasePythonScriptEngineEnvironment.evaluate",
        "replaced",
        "script_engine.SafeEnvironment.evaluate",
        "security: upstream eval()s BPMN text with full builtins; the sandbox evaluates it",
        "d2581447f54f9422",
    ),
    Override(
        "SpiffWorkflow.bpmn.script_engine.python_environment:"
        "BasePythonScriptEngineEnvironment.execute",
        "replaced",
        "script_engine.SafeEnvironment.execute",
        "security: upstream exec()s script tasks; the sandbox runs them",
        "d67faee4da3ba32e",
    ),
    Override(
        "SpiffWorkflow.bpmn.script_engine.python_environment:"
        "BasePythonScriptEngineEnvironment.call_service",
        "replaced",
        "script_engine.SafeEnvironment.call_service",
        "service tasks are done by external workers, never inside the engine",
        "4e3c2d81a7c30bf6",
    ),
    Override(
        "SpiffWorkflow.bpmn.script_engine.python_environment:"
        "BasePythonScriptEngineEnvironment.__init__",
        "relied on",
        "script_engine.SafeEnvironment.__init__",
        "the environment keeps no Python globals of its own",
        "81b8d9de31845706",
    ),
    Override(
        "SpiffWorkflow.bpmn.script_engine.python_engine:PythonScriptEngine.__init__",
        "relied on",
        "script_engine.SafeScriptEngine.__init__",
        "every evaluation goes through the given environment",
        "5b87a8599c230acd",
    ),
    Override(
        "SpiffWorkflow.bpmn.script_engine.python_engine:PythonScriptEngine.validate",
        "replaced",
        "script_engine.SafeScriptEngine.validate",
        "an expression is checked against the sandbox's rules, not compiled as Python",
        "48cbde2d656e63fa",
    ),
    Override(
        "SpiffWorkflow.bpmn.script_engine.python_engine:PythonScriptEngine.execute",
        "extended",
        "script_engine.SafeScriptEngine.execute",
        "the values a script assigned must fit the case's variables limit together "
        "(budget.check_assigned), before the run stores a copy under each name",
        "5f4da9812398df02",
    ),
    Override(
        "SpiffWorkflow.bpmn.script_engine.python_engine:PythonScriptEngine.evaluate",
        "copied",
        "script_engine.SafeScriptEngine.evaluate",
        "an expression's error keeps its cause (ValueError: …); upstream's says only 'Error "
        "evaluating expression'",
        "aaad8167dfb3a599",
    ),
    Override(
        "SpiffWorkflow.bpmn.parser.BpmnParser:BpmnParser.__init__",
        "relied on",
        "camunda_ext.ServiceBpmnParser.__init__",
        "the parser is given the camunda namespace",
        "49e7bb80b165ecf2",
    ),
    Override(
        "SpiffWorkflow.bpmn.serializer.helpers.bpmn_converter:BpmnConverter.__init__",
        "relied on",
        "serialization.make_serializer",
        "converters register the service's classes under SpiffWorkflow's type names",
        "22f71115720c6f6c",
    ),
    # ---- compaction (compaction.py) ----
    Override(
        "SpiffWorkflow.bpmn.specs.mixins.parallel_gateway:ParallelGateway."
        "_check_threshold_unstructured",
        "relied on",
        "compaction._nearest_of_each_spec",
        "a gateway in a loop climbs to an ancestor of each input's spec; compaction keeps the "
        "nearest of every spec above each open task, and the parent of every finished leaf",
        "f362324db9fe6791",
    ),
    Override(
        "SpiffWorkflow.task:Task.find_ancestor",
        "relied on",
        "compaction._nearest_of_each_spec",
        "split tasks are found as the nearest ancestor of their spec, which compaction keeps",
        "2c421b50e170644c",
    ),
    Override(
        "SpiffWorkflow.bpmn.specs.control:BoundaryEventJoin._check_threshold_structured",
        "relied on",
        "compaction._shorten_runs",
        "reads the children of the boundary-event split; tasks with several children are kept",
        "658e76eef8dfd828",
    ),
    Override(
        "SpiffWorkflow.bpmn.specs.mixins.multiinstance_task:LoopTask._instances",
        "relied on",
        "compaction._shorten_runs",
        "a multi-instance task reads its instances as its children; never shortened while open",
        "2875179728ccd045",
    ),
    Override(
        "SpiffWorkflow.bpmn.workflow:BpmnWorkflow.delete_subprocess",
        "copied",
        "compaction._drop_orphaned_subprocesses",
        "subprocesses are kept by their owning task's id, nested ones too; a dropped task's "
        "subprocess goes with it",
        "26a037abac4b944a",
    ),
    Override(
        "SpiffWorkflow.bpmn.serializer.default.workflow:TaskConverter.to_dict",
        "relied on",
        "compaction._link",
        "a task's variables are stored relative to its parent's, whichever task that is",
        "57df7a1f9901725a",
    ),
    # ---- parsing and serialization ----
    Override(
        "SpiffWorkflow.bpmn.specs.mixins.multiinstance_task:ParallelMultiInstanceTask"
        ".create_children",
        "extended",
        "multi_instance.CheckedParallelMultiInstanceTask.create_children",
        "a collection that is not a list fails the step (upstream iterates a text's "
        "characters, an object's keys), and so does a cardinality or collection over the task "
        "limit, before any instance is created",
        "3e2edb1e8258fff5",
    ),
    Override(
        "SpiffWorkflow.bpmn.specs.mixins.multiinstance_task:SequentialMultiInstanceTask"
        ".init_remaining_items",
        "extended",
        "multi_instance.CheckedSequentialMultiInstanceTask.init_remaining_items",
        "a collection that is not a list fails the step (upstream iterates a text's "
        "characters, an object's keys), and so does one over the task limit",
        "e33b5240d68b97ad",
    ),
    Override(
        "SpiffWorkflow.bpmn.specs.mixins.multiinstance_task:SequentialMultiInstanceTask"
        ".add_next_child",
        "extended",
        "multi_instance.CheckedSequentialMultiInstanceTask.add_next_child",
        "wrong: without an output collection the finished instance's item is merged into the "
        "body and the next instance is refused ('input item ... already exists'); also: a loop "
        "cardinality over the task limit fails the step before the first instance",
        "2fbdbcda368e1bfa",
    ),
    Override(
        "SpiffWorkflow.bpmn.parser.TaskParser:TaskParser._add_multiinstance_task",
        "copied",
        "multi_instance.MultiInstanceParserMixin._add_multiinstance_task",
        "Camunda Modeler writes camunda:collection / camunda:elementVariable and the task's "
        "outputCollection property; upstream reads only loopDataInputRef, which a save drops",
        "5b0e68f97230b6f1",
    ),
    Override(
        "SpiffWorkflow.bpmn.parser.event_parsers:StartEventParser.create_task",
        "copied",
        "camunda_ext._StartEventParser.create_task",
        "wrong: error and escalation start events were read as plain starts",
        "b8924dd9e92f995a",
    ),
    Override(
        "SpiffWorkflow.bpmn.serializer.workflow:BpmnWorkflowSerializer.to_dict",
        "extended",
        "serialization.StateSerializer.to_dict",
        "a stored state records the service's state format (state_format.py)",
        "0da2b355d59eadaa",
    ),
    Override(
        "SpiffWorkflow.bpmn.serializer.workflow:BpmnWorkflowSerializer.serialize_json",
        "relied on",
        "serialization.StateSerializer.stored_text",
        "serialize_json builds the stored text from to_dict in the registry's encoder mode; "
        "stored_text does the same for a plain workflow, written by orjson",
        "65fcb5c26239167b",
    ),
    Override(
        "SpiffWorkflow.bpmn.serializer.helpers.registry:DefaultRegistry.__init__",
        "relied on",
        "warm.plain",
        "a datetime is stored as its ISO text, a timedelta as days and seconds: a warm workflow "
        "may hold these (a naive or UTC time) as loading gives them back, and orjson leaves "
        "them to the registry",
        "d95c8670d8da9af6",
    ),
    Override(
        "SpiffWorkflow.bpmn.serializer.helpers.encoder:create_encoder",
        "relied on",
        "warm.plain",
        "the stored text turns a set into a list and drops callables: no workflow holding them "
        "is kept warm",
        "6c846d8589fc9d61",
    ),
    Override(
        "SpiffWorkflow.bpmn.serializer.default.workflow:BpmnWorkflowConverter.to_dict",
        "copied",
        "serialization.StateOnlyWorkflowConverter.to_dict",
        "size and speed: the stored state names its spec instead of embedding it",
        "abffc47d1be39616",
    ),
    Override(
        "SpiffWorkflow.bpmn.serializer.default.workflow:TaskConverter.to_dict",
        "copied",
        "serialization._task_to_dict",
        "speed: the same dict with one parent look-up per task and each id's text remembered; "
        "tests/engine/kit.py compares every state with upstream's converters' text",
        "57df7a1f9901725a",
    ),
    Override(
        "SpiffWorkflow.bpmn.serializer.default.workflow:TaskConverter.from_dict",
        "copied",
        "serialization.StateTaskConverter.from_dict",
        "speed: a loaded task copies its parent's variables with inheritance.copy_into, the very "
        "copy DeepMerge.merge into an empty dict makes",
        "6d7592fdb21c813b",
    ),
    Override(
        "SpiffWorkflow.util.deep_merge:DeepMerge.get_updated_keys",
        "replaced",
        "serialization._delta",
        "speed: a task's variables equal to its parent's are found by one comparison in C; the "
        "same keys in the same order (kit.py compares the texts)",
        "691095e6aad0724d",
    ),
    Override(
        "SpiffWorkflow.util.deep_merge:DeepMerge.get_deleted_keys",
        "replaced",
        "serialization._delta",
        "speed: no deletion when the parent's names are a subset of the task's (a set test in C)",
        "8167a1cedb32344a",
    ),
    Override(
        "SpiffWorkflow.bpmn.serializer.default.workflow:WorkflowConverter.to_dict",
        "copied",
        "serialization._workflow_to_dict",
        "speed: tasks are written by _task_to_dict without the registry's look-ups per task",
        "9b9ed4a33506f584",
    ),
    Override(
        "SpiffWorkflow.bpmn.serializer.default.workflow:BpmnSubWorkflowConverter.to_dict",
        "copied",
        "serialization.StateSubWorkflowConverter.to_dict",
        "speed: over _workflow_to_dict",
        "8ff42ad3b02d0aea",
    ),
    Override(
        "SpiffWorkflow.bpmn.serializer.helpers.dictionary:DictionaryConverter._obj_to_dict",
        "relied on",
        "serialization._task_to_dict",
        "the registry adds the type name to a converter's dict; _task_to_dict adds it itself",
        "552c4911ad296538",
    ),
    Override(
        "SpiffWorkflow.bpmn.serializer.default.workflow:BpmnWorkflowConverter.from_dict",
        "copied",
        "serialization.StateOnlyWorkflowConverter.from_dict",
        "size and speed: the spec comes from the service's cache",
        "7515b23286170925",
    ),
)


def _resolve(target: str) -> Any:
    module_name, _, path = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    *owners, name = path.split(".")
    for owner in owners:
        obj = getattr(obj, owner)
    # The attribute as the class itself defines it (not inherited); unwrap static methods.
    found = obj.__dict__[name] if isinstance(obj, type) else getattr(obj, name)
    return getattr(found, "__func__", found)


def fingerprint(target: str) -> str:
    """sha256 (first 16 hex digits) of the source of the upstream function `target`."""
    source = inspect.getsource(_resolve(target))
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def installed_version() -> str:
    return version("SpiffWorkflow")


def drift() -> list[str]:
    """What differs from the pinned SpiffWorkflow: its version, and each overridden function
    whose source changed (or is gone)."""
    problems = []
    if installed_version() != PINNED_VERSION:
        problems.append(
            f"SpiffWorkflow {installed_version()} is installed; the engine is pinned to "
            f"{PINNED_VERSION}"
        )
    for entry in OVERRIDES:
        try:
            current = fingerprint(entry.target)
        except (AttributeError, ImportError, KeyError, OSError, TypeError) as exc:
            problems.append(f"{entry.target}: not found upstream ({exc}); used by {entry.where}")
            continue
        if current != entry.fingerprint:
            problems.append(
                f"{entry.target} changed upstream (fingerprint {current}, recorded "
                f"{entry.fingerprint}); {entry.how} by {entry.where}: {entry.why}"
            )
    return problems


def _print_fingerprints() -> None:
    for entry in OVERRIDES:
        mark = "" if fingerprint(entry.target) == entry.fingerprint else "   <- changed"
        sys.stdout.write(f"{fingerprint(entry.target)}  {entry.target}{mark}\n")


if __name__ == "__main__":
    _print_fingerprints()
