"""Plugs the safe expression language into SpiffWorkflow in place of eval()/exec().

SpiffWorkflow calls the script engine's *environment* directly in some places, so replacing the
environment (not just the engine's evaluate method) is what closes every eval() path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import BasePythonScriptEngineEnvironment, PythonScriptEngine
from SpiffWorkflow.exceptions import SpiffWorkflowException

from bpmn_service.errors import ServiceError

from .budget import check_assigned
from .expressions import ExpressionError, ExpressionEvaluator, assignments, error_cause

EVALUATOR = ExpressionEvaluator()


def register_functions(functions: dict[str, Callable[..., Any]]) -> None:
    """Add functions (e.g. registry look-ups) that BPMN expressions may call."""
    EVALUATOR.add_functions(functions)


class ScriptNotAllowed(Exception):
    pass


class SafeEnvironment(BasePythonScriptEngineEnvironment):  # type: ignore[misc]
    def __init__(self, evaluator: ExpressionEvaluator) -> None:
        super().__init__({})
        self.evaluator = evaluator

    def evaluate(
        self, expression: str, context: dict[str, Any], external_context: Any = None
    ) -> Any:
        return self.evaluator.evaluate(expression, {**(external_context or {}), **context})

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        self.evaluator.execute(script, context)
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        raise ScriptNotAllowed("service tasks are not executed inside the engine")


class SafeScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    def __init__(self, evaluator: ExpressionEvaluator) -> None:
        super().__init__(environment=SafeEnvironment(evaluator))

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        """As upstream's, but the error keeps its cause: upstream's message is only "Error
        evaluating expression '…'" (a gateway's condition, a timer's or an assignment's
        expression), without the ValueError or TypeError and its text that say what went wrong."""
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except ServiceError:  # the run's time budget (budget.BudgetExceeded), as it is
            raise
        except SpiffWorkflowException as exc:
            exc.add_note(f"Error evaluating expression '{expression}'")
            raise
        except ExpressionError as exc:  # it names the expression and the cause
            raise WorkflowTaskException(
                f"Error evaluating expression {exc}", task=task, exception=exc
            ) from exc
        except Exception as exc:
            raise WorkflowTaskException(
                f"Error evaluating expression '{expression}': {error_cause(exc)}",
                task=task,
                exception=exc,
            ) from exc

    def execute(self, task: Any, script: str, external_context: Any = None) -> Any:
        """As upstream's, but the run's time budget running out in a script
        (budget.BudgetExceeded) stays itself, not a script error; then the values the script
        assigned must fit the case's variables limit together (budget.check_assigned): a hundred
        names for one large list cost the script nothing, and are refused here before the run
        stores a copy under each."""
        try:
            result = self.environment.execute(script, task.data, external_context or {})
        except ServiceError:
            raise
        except Exception as exc:
            raise self.create_task_exec_exception(task, script, exc) from exc
        check_assigned(task, (name for name, _ in assignments(script)))
        return result

    def validate(self, expression: str) -> None:
        problems = self.environment.evaluator.check(expression)
        if problems:
            raise ValueError("; ".join(problems))


SAFE_ENGINE = SafeScriptEngine(EVALUATOR)
