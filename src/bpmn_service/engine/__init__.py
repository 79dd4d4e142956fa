"""The only package that imports SpiffWorkflow and lxml; everything else sees plain values."""

from .activities import ActivityNode
from .analyst_checks import CheckContext
from .budget import BudgetExceeded, RunBudget, VariablesTooLarge
from .camunda_ext import listed_names
from .diagram_checks import layout_warnings
from .expressions import ExpressionError
from .forms import FormField, json_schema, needs_value_labels, validate
from .layout import DiagramSize, diagram_size, layout_bpmn
from .parsing import (
    CompiledProcess,
    check_bpmn,
    compile_bpmn,
    message_contracts,
    thrown_messages,
)
from .runner import ProcessRunner, SpecCache
from .script_engine import register_functions
from .state_format import STATE_FORMAT
from .stepping import NotWaiting
from .views import EngineStep, ExternalWork, MessageWait, ReadyTask, RunResult, ThrownMessage
from .warm import WarmWorkflows

__all__ = [
    "BudgetExceeded",
    "VariablesTooLarge",
    "ActivityNode",
    "CheckContext",
    "CompiledProcess",
    "DiagramSize",
    "EngineStep",
    "ExpressionError",
    "ExternalWork",
    "FormField",
    "MessageWait",
    "NotWaiting",
    "ProcessRunner",
    "ReadyTask",
    "RunBudget",
    "RunResult",
    "STATE_FORMAT",
    "SpecCache",
    "ThrownMessage",
    "WarmWorkflows",
    "check_bpmn",
    "compile_bpmn",
    "diagram_size",
    "json_schema",
    "needs_value_labels",
    "layout_bpmn",
    "layout_warnings",
    "listed_names",
    "message_contracts",
    "register_functions",
    "thrown_messages",
    "validate",
]
