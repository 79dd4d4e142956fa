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
class RunResult:
    state: str
    completed: bool
    ready_tasks: list[ReadyTask]
    variables: dict[str, Any]
    steps: list[EngineStep]
