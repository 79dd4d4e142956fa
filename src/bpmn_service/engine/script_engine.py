"""Plugs the safe expression language into SpiffWorkflow in place of eval()/exec().

SpiffWorkflow calls the script engine's *environment* directly in some places, so replacing the
environment (not just the engine's evaluate method) is what closes every eval() path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from SpiffWorkflow.bpmn.script_engine import BasePythonScriptEngineEnvironment, PythonScriptEngine

from .expressions import ExpressionEvaluator

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

    def validate(self, expression: str) -> None:
        problems = self.environment.evaluator.check(expression)
        if problems:
            raise ValueError("; ".join(problems))


SAFE_ENGINE = SafeScriptEngine(EVALUATOR)
