"""The only package that imports SpiffWorkflow and lxml; everything else sees plain values."""

from .expressions import ExpressionError
from .forms import FormField, json_schema, validate
from .parsing import CompiledProcess, compile_bpmn
from .runner import ProcessRunner, SpecCache
from .script_engine import register_functions
from .views import EngineStep, ReadyTask, RunResult

__all__ = [
    "CompiledProcess",
    "EngineStep",
    "ExpressionError",
    "FormField",
    "ProcessRunner",
    "ReadyTask",
    "RunResult",
    "SpecCache",
    "compile_bpmn",
    "json_schema",
    "register_functions",
    "validate",
]
