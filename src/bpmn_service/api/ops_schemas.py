"""Bodies of the supervisors' API: where a case stands, repairs, migrations, incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class ActivityRead(BaseModel):
    """An active element. `kind` is one of user_task, external_task, message_wait, timer,
    multi_instance, subprocess, call_activity, event_subprocess, join (a parallel or inclusive
    join waiting for its other branches), waiting, step; the kind-specific fields are set for
    their kind only."""

    element_id: str
    name: str | None
    kind: str
    lane: str | None
    since: datetime | None
    children: list[ActivityRead] = Field(default_factory=list)
    task_id: str | None = None
    assignee: str | None = None
    candidate_groups: list[str] | None = None
    due: datetime | str | None = None
    external_task_id: str | None = None
    topic: str | None = None
    lock_owner: str | None = None
    lock_expires: datetime | None = None
    retries: int | None = None
    message_name: str | None = None
    variables: list[str] | None = Field(
        None, description="message_wait: the variables its message may carry (null: any)"
    )
    event_subprocess: bool | None = None
    incident_id: str | None = None
    error: str | None = None
    waiting_for: list[str] | None = Field(
        None,
        description="join: the incoming branches (by their last element) that have not arrived "
        "in the join's current pass",
    )
    arrived: list[str] | None = Field(
        None,
        description="join: the incoming branches (by their last element) that have arrived in "
        "the join's current pass; a cancel of the join loses them",
    )


class InstanceActivitiesRead(BaseModel):
    instance_id: str
    business_key: str
    status: str
    activities: list[ActivityRead]


class EventSubscriptionRead(BaseModel):
    instance_id: str
    business_key: str
    process_definition_key: str
    element_id: str
    element_name: str | None
    message_name: str
    variables: list[str] | None = Field(
        description="the variables the message may carry (null: any)"
    )
    since: datetime
    event_subprocess: bool


def activity_read(activity: Any) -> ActivityRead:
    details = {k: v for k, v in activity.details.items() if k in ActivityRead.model_fields}
    return ActivityRead(
        element_id=activity.element_id,
        name=activity.name,
        kind=activity.kind,
        lane=activity.lane,
        since=activity.since,
        children=[activity_read(c) for c in activity.children],
        **details,
    )


class Reasoned(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="why; kept in the history")


class VariablesRepair(Reasoned):
    variables: dict[str, Any] = Field(
        description="variables to set; the others stay as they are", min_length=1
    )


class ModificationInstruction(BaseModel):
    type: Literal["cancel", "start_before"]
    element_id: str = Field(min_length=1, max_length=255)


class Modification(Reasoned):
    instructions: list[ModificationInstruction] = Field(min_length=1, max_length=50)


class Retry(Reasoned):
    element_id: str | None = Field(None, max_length=255)


class RepairRead(BaseModel):
    instance_id: str
    status: str
    variables: dict[str, Any]
    details: dict[str, Any] = Field(description="what the history recorded")


class VersionRef(BaseModel):
    key: str = Field(min_length=1, max_length=128)
    version: int = Field(ge=1, le=2**31 - 1)


class MigrationFilter(BaseModel):
    business_key_like: str | None = Field(
        None, max_length=128, description="SQL LIKE pattern, e.g. YK-2026-%"
    )


class MigrationRequest(Reasoned):
    source: VersionRef
    target: VersionRef
    instance_ids: list[str] | None = Field(None, max_length=500)
    filter: MigrationFilter | None = None
    mapping: dict[str, str] = Field(
        default_factory=dict, description="source element id -> target element id"
    )
    dry_run: bool = True


class MigrationProblemRead(BaseModel):
    element_id: str | None
    message: str


class InstanceMigrationRead(BaseModel):
    instance_id: str
    business_key: str | None
    ok: bool
    migrated: bool
    mapped: list[dict[str, str]]
    problems: list[MigrationProblemRead]
    started: list[dict[str, str]] = Field(
        default_factory=list,
        description="boundary events the target attaches to an active element that it lacked "
        "({element_id, attached_to, kind}); the migration starts them (a timer counts from then)",
    )
    dropped: list[dict[str, str]] = Field(
        default_factory=list,
        description="waiting boundary events of an active element that the target does not have "
        "({element_id, attached_to, kind}); the migration drops them, as Camunda does",
    )
    reassigned: list[dict[str, Any]] = Field(
        default_factory=list,
        description="open tasks the migration offers anew ({task_id, element_id, changes: "
        "[{field, old, new}]}, as the history's task_reassigned_by_migration): element, name, "
        "lane, candidate groups and users, priority, due and follow-up dates; field assignee "
        "with new null is a claim withdrawn",
    )
    warnings: list[dict[str, str]] = Field(
        default_factory=list,
        description="joins of the target the case would wait in for good ({element_id, "
        "waiting_for, start_before, message}): no token of the case can reach the branch "
        "waiting_for; the case migrates all the same, start that branch with a modification "
        "(start_before) after migrating, or map differently",
    )


class MigrationRead(BaseModel):
    dry_run: bool
    source: VersionRef
    target: VersionRef
    results: list[InstanceMigrationRead]


class IncidentRead(BaseModel):
    """Something that failed in a running case. kind: external_task (its retries ran out), timer
    (a timer's run failed; the timer is parked), budget (a run over its budget), worker (a
    worker's answer the process could not take; its task is not handed out until the incident
    closes), message, step (a user task's completion failed in the engine at a gateway, script
    or expression after it). actions: the repairs that apply
    (retry, set_variables, modification, migration)."""

    id: str
    instance_id: str
    business_key: str
    process_definition_key: str
    element_id: str | None
    element_name: str | None
    kind: str
    message: str
    since: datetime
    actions: list[str]
    external_task_id: str | None = None
    topic: str | None = None
    retries: int | None = None
    task_id: str | None = None
    occurrences: int | None = Field(
        default=None,
        description="a failed run (timer, budget, worker, message): how often the same failure "
        "came while the incident was open (1: once)",
    )
    last_at: datetime | None = Field(
        default=None, description="when it last came, if more than once"
    )


def incident_read(incident: Any) -> IncidentRead:
    return IncidentRead(
        id=incident.id,
        instance_id=incident.instance_id,
        business_key=incident.business_key,
        process_definition_key=incident.process_definition_key,
        element_id=incident.element_id,
        element_name=incident.element_name,
        kind=incident.kind,
        message=incident.message,
        since=incident.since,
        actions=incident.actions,
        **incident.details,
    )
