"""Bodies of the supervisors' API: where a case stands, repairs, migrations, incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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
