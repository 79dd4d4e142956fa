"""The only package that imports SpiffWorkflow and lxml; everything else sees plain values."""

from .camunda_ext import listed_names
from .expressions import ExpressionError
from .forms import FormField, json_schema, validate
from .parsing import CompiledProcess, compile_bpmn, message_contracts, thrown_messages
from .runner import ProcessRunner, SpecCache
from .script_engine import register_functions
from .stepping import NotWaiting
from .views import EngineStep, ExternalWork, MessageWait, ReadyTask, RunResult, ThrownMessage

__all__ = [
    "CompiledProcess",
    "EngineStep",
    "ExpressionError",
    "ExternalWork",
    "FormField",
    "MessageWait",
    "NotWaiting",
    "ProcessRunner",
    "ReadyTask",
    "RunResult",
    "SpecCache",
    "ThrownMessage",
    "compile_bpmn",
    "json_schema",
    "listed_names",
    "message_contracts",
    "register_functions",
    "thrown_messages",
    "validate",
]
