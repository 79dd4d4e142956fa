"""Domain errors. They know nothing about HTTP; the API maps them to status codes in one place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class ServiceError(Exception):
    """Base of every error a caller can cause or observe."""

    code = "error"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(ServiceError):
    code = "not_found"


class Unauthenticated(ServiceError):
    code = "unauthenticated"


class Forbidden(ServiceError):
    code = "forbidden"


class Busy(ServiceError):
    """The database is contended, or the connection to it was lost; the caller should retry."""

    code = "busy"


class Conflict(ServiceError):
    code = "conflict"


class TaskAlreadyClaimed(Conflict):
    code = "task_already_claimed"


class TaskNotClaimed(Conflict):
    code = "task_not_claimed"


class StaleVersion(Conflict):
    """Another request changed the instance first; retrying reads the new state."""

    code = "stale_version"


class DuplicateBusinessKey(Conflict):
    code = "duplicate_business_key"


class InvalidState(Conflict):
    code = "invalid_state"


class IdempotencyMismatch(Conflict):
    code = "idempotency_key_reused"


class Invalid(ServiceError):
    code = "invalid"


class PayloadTooLarge(ServiceError):
    code = "payload_too_large"


@dataclass(frozen=True, slots=True)
class BpmnProblem:
    """One finding about a BPMN file, located as precisely as the file allows: an error refuses the
    file, a warning does not. `code` is dotted (structure.*, data.*, camunda.*, script.*, lanes.*,
    layout.*; docs/authoring.md lists them) and `hint` says what to do."""

    message: str
    file: str
    line: int | None = None
    element: str | None = None
    code: str = "structure.invalid"
    hint: str = ""
    severity: str = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def located(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        element = f" [{self.element}]" if self.element else ""
        return f"{where}{element}"

    def __str__(self) -> str:
        """`file:line [element]: severity: message (hint)`, as `bpmn-service check` prints it."""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{self.located()}: {self.severity}: {self.message}{hint}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "element": self.element,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }


class InvalidBpmn(Invalid):
    code = "invalid_bpmn"

    def __init__(self, problems: list[BpmnProblem], warnings: Sequence[BpmnProblem] = ()) -> None:
        """`problems` refused the file; `warnings`, which did not, come along in `details` (the
        analyst fixing the errors wants them too: a zeebe attribute explains an error)."""
        self.problems = problems
        self.warnings = list(warnings)
        summary = "; ".join(f"{p.located()}: {p.message}" for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(
            f"the BPMN was rejected: {summary}{more}",
            details=[p.to_dict() for p in [*problems, *self.warnings]],
        )


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str
    # What a client may want besides the message (the expected type of a variable, ...).
    extra: dict[str, Any] | None = None


class InvalidVariables(Invalid):
    """Submitted values do not satisfy a form; nothing was changed."""

    code = "invalid_variables"

    def __init__(self, errors: list[FieldError], what: str = "the submitted variables are") -> None:
        self.errors = errors
        text = "; ".join(f"{e.field}: {e.message}" for e in errors)
        super().__init__(
            f"{what} invalid: {text}",
            details=[{"field": e.field, "message": e.message, **(e.extra or {})} for e in errors],
        )


class InvalidRequest(InvalidVariables):
    """A field of a request is missing or malformed (the code the API gives a body it cannot
    validate), with the fields in `details`."""

    code = "invalid_request"

    def __init__(self, errors: list[FieldError], message: str | None = None) -> None:
        super().__init__(errors, what="the request is")
        if message is not None:
            self.message = message
            self.args = (message,)


class InvalidMapping(InvalidVariables):
    """A migration's mapping names elements the versions do not have; `details` lists them."""

    code = "invalid_mapping"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(errors, what="the mapping is")


class WorkflowFailed(Invalid):
    """The engine could not advance (e.g. a gateway expression failed); nothing was saved."""

    code = "workflow_failed"
    # The instance whose run failed, when a service knows it (for its incident, run_incidents.py).
    instance_id: str | None = None
