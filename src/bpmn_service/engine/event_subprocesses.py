"""Event subprocesses, as BPMN has them; SpiffWorkflow gets three things wrong.

* **A triggered event subprocess leaks into later instances.** To start one, SpiffWorkflow
  connects it to the process's start task in the process spec, which the service caches and
  shares between instances. Every instance started afterwards (in that server process) then
  started the event subprocess at once, waiting for its message, and could not complete. Here
  the start task's children leave out the event subprocesses; a triggered one is added to its
  instance as before.
* **Interrupting ones did not interrupt.** SpiffWorkflow starts an event subprocess whose start
  event is interrupting like a non-interrupting one, so the work it should stop went on beside it.
  The parser marks such start events (`interruptsScope` in their extensions, see camunda_ext.py);
  when one completes, every other branch of its process is cancelled (the main flow with its
  timers and waits, and other event subprocesses), and only the event subprocess carries the
  instance to its end. SpiffWorkflow triggers only event subprocesses at the top level of a
  process, so only those are accepted (deploy_rules.py).
* **A run could not finish where its spec was loaded afresh.** No flow enters an event
  subprocess, and SpiffWorkflow's readiness check wants an incoming one: only the trigger's
  connection of the shared spec (above) satisfied it. A run started before a restart, on another
  server process, or kept across a migration (whose target spec no trigger had touched) failed
  when it ended ("No input task connected"). A triggered event subprocess passes the check.

All are task-spec classes of the service (`EventStartTask`, `InterruptingStartEvent`,
`SubprocessTask`), registered with the parser (specs.py) and the serializer under SpiffWorkflow's
type names.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.control import BpmnStartTask
from SpiffWorkflow.bpmn.specs.defaults import StartEvent, SubWorkflowTask
from SpiffWorkflow.util.task import TaskState

from .bpmn_errors import ErrorVariablesMixin

INTERRUPTS = "interruptsScope"
# camunda:initiator on a process's start event: the variable that gets the starting user's id.
INITIATOR = "initiator"


class InterruptingStartEvent(ErrorVariablesMixin, StartEvent):  # type: ignore[misc]
    """A start event; one marked as interrupting stops the rest of its process when it starts.
    One started by an error sets its camunda:errorCodeVariable / errorMessageVariable
    (bpmn_errors.py); the process's own with camunda:initiator sets that variable to the
    starting user (the variable `initiator`, which every case has)."""

    def _run_hook(self, my_task: Any) -> Any:
        result = super()._run_hook(my_task)
        name = (self.extensions or {}).get(INITIATOR)
        if name and getattr(my_task.workflow, "parent_task_id", None) is None:
            my_task.data[name] = my_task.data.get("initiator")
        return result

    def _on_complete_hook(self, my_task: Any) -> None:
        super()._on_complete_hook(my_task)
        if (self.extensions or {}).get(INTERRUPTS):
            _interrupt(my_task)


def _interrupt(start: Any) -> None:
    subworkflow = start.workflow
    parent_task_id = getattr(subworkflow, "parent_task_id", None)
    if parent_task_id is None:
        return  # a process's own start event: nothing to interrupt
    owner = subworkflow.top_workflow.get_task_from_id(parent_task_id)
    root = owner.parent
    if root is None:
        return
    for branch in list(root.children):
        if branch is not owner:
            branch.cancel()


class EventStartTask(BpmnStartTask):  # type: ignore[misc]
    """A process's start task, whose predicted children leave out triggered event subprocesses."""

    def _predict_hook(self, my_task: Any) -> None:
        # TaskSpec._predict_hook, without the event subprocesses a trigger connected to the spec.
        triggers = {self._wf_spec.task_specs.get(name) for name in self.trigger_specs}
        outputs = [spec for spec in self.outputs if spec not in triggers]
        state = TaskState.FUTURE if my_task.has_state(TaskState.DEFINITE_MASK) else my_task.state
        my_task._sync_children(outputs, state)


class SubprocessTask(SubWorkflowTask):  # type: ignore[misc]
    """An embedded subprocess, or the task that runs an event subprocess."""

    def test(self) -> None:
        # TaskSpec.test, whose one check (an incoming flow) an event subprocess never passes.
        if self.name in getattr(self._wf_spec.start, "trigger_specs", ()):
            return
        super().test()
