"""Plain values that leave the engine facade; nothing of SpiffWorkflow escapes through them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class ReadyTask:
    """A user task that became READY, with its assignment rules already evaluated."""

    id: str
    element_id: str
    spec_name: str
    name: str
    lane: str | None
    candidate_groups: list[str] | None
    candidate_users: list[str] | None
    assignee: str | None
    priority: int
    due: str | None
    follow_up: str | None
    form_values: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EngineStep:
    """An automatic step (gateway, script, event) the engine ran."""

    element_id: str
    name: str | None
    kind: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ExternalWork:
    """A service task waiting for an outside worker (camunda:type="external")."""

    id: str
    element_id: str
    name: str
    topic: str
    variables: dict[str, Any]


@dataclass(frozen=True, slots=True)
class MessageWait:
    """A catch event (or receive task) waiting for a named message."""

    task_id: str
    element_id: str
    message_name: str
    lane: str | None = None
    event_subprocess: bool = False
    name: str | None = None  # the catch event's (or event subprocess start's) BPMN name


@dataclass(frozen=True, slots=True)
class ThrownMessage:
    """A message thrown by the process that nothing inside it caught."""

    name: str
    business_key: str | None
    variables: dict[str, Any]
    element_id: str


@dataclass(frozen=True, slots=True)
class RunResult:
    state: str  # in the current state format, STATE_FORMAT (state_format.py)
    completed: bool
    ready_tasks: list[ReadyTask]
    variables: dict[str, Any]
    steps: list[EngineStep]
    external_tasks: list[ExternalWork] = field(default_factory=list)
    waits: list[MessageWait] = field(default_factory=list)
    next_timer_at: datetime | None = None
    thrown: list[ThrownMessage] = field(default_factory=list)
    # Every element that completed in this run, user tasks included, in order (clocks.py).
    finished: list[str] = field(default_factory=list)
