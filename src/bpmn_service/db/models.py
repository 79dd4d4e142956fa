"""Tables. The task table is the inbox (lists never deserialize workflows); history only grows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bpmn_service.timeutil import as_utc

JsonType = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite drops the offset when storing)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # Read as UTC without an offset (a query parameter); the entry points have refused the
        # ones beyond UTC's years 1 to 9999 with as_utc already, naming their field.
        utc = as_utc(value)
        return utc if dialect.name != "sqlite" else utc.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JsonType}


class Deployment(Base):
    __tablename__ = "deployment"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str] = mapped_column(String(128))


class ProcessDefinition(Base):
    __tablename__ = "process_definition"
    __table_args__ = (
        UniqueConstraint("key", "version", name="uq_definition_key_version"),
        Index("ix_definition_key_checksum", "key", "checksum"),
    )

    id: Mapped[str] = mapped_column(String(160), primary_key=True)
    key: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(255))
    checksum: Mapped[str] = mapped_column(String(64))
    resource_name: Mapped[str] = mapped_column(String(255))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    spec_json: Mapped[str] = mapped_column(Text)
    start_form: Mapped[list[Any]] = mapped_column(JsonType)
    message_starts: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    # Who may start it (camunda:candidateStarterGroups/Users); null: the default starter groups.
    starters: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployment.id"))
    deployed_at: Mapped[datetime]


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    __table_args__ = (
        UniqueConstraint("definition_key", "business_key", name="uq_instance_business_key"),
        Index("ix_instance_status", "status"),
        Index("ix_instance_next_timer", "next_timer_at"),
        Index("ix_instance_started", "started_at", "id"),  # history in start order (0014)
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    definition_id: Mapped[str] = mapped_column(ForeignKey("process_definition.id"))
    definition_key: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    business_key: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(Text)
    # The format version of `state` (engine/state_format.py); older states upgrade on load.
    state_format: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    variables: Mapped[dict[str, Any]]
    started_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(String(128))
    ended_at: Mapped[datetime | None]
    next_timer_at: Mapped[datetime | None]
    category: Mapped[str | None] = mapped_column(String(64))
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": row_version}


_UNASSIGNED: dict[str, Any] = {
    "postgresql_where": text("assignee IS NULL"),
    "sqlite_where": text("assignee IS NULL"),
}


class Task(Base):
    """One row per open user task."""

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_assignee_created", "assignee", "created_at"),
        Index("ix_task_due", "due_at"),
        Index("ix_task_instance", "instance_id"),
        # a group's inbox: unassigned tasks in due or creation order (migration 0009)
        Index("ix_task_unassigned_due", "due_at", "id", **_UNASSIGNED),
        Index("ix_task_unassigned_created", "created_at", "id", **_UNASSIGNED),
        # everything a user may see in creation order; claimed by someone in due order (0011)
        Index("ix_task_created", "created_at", "id"),
        Index("ix_task_assignee_due", "assignee", "due_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"))
    definition_id: Mapped[str] = mapped_column(String(160))
    definition_key: Mapped[str] = mapped_column(String(128))
    business_key: Mapped[str] = mapped_column(String(128))
    element_id: Mapped[str] = mapped_column(String(255))
    spec_name: Mapped[str] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(String(255))
    lane: Mapped[str | None] = mapped_column(String(255))
    assignee: Mapped[str | None] = mapped_column(String(128))
    priority: Mapped[int] = mapped_column(Integer, default=50)
    due_at: Mapped[datetime | None]
    follow_up_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    form_values: Mapped[dict[str, Any]]
    properties: Mapped[dict[str, Any]]
    row_version: Mapped[int] = mapped_column(Integer, default=1)


class TaskCandidate(Base):
    __tablename__ = "task_candidate"
    __table_args__ = (Index("ix_candidate_ref", "kind", "ref", "task_id"),)

    task_id: Mapped[str] = mapped_column(
        ForeignKey("task.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    ref: Mapped[str] = mapped_column(String(128), primary_key=True)


class HistoricTask(Base):
    """One row per user task that ended (completed or cancelled)."""

    __tablename__ = "historic_task"
    __table_args__ = (
        Index("ix_historic_task_instance", "instance_id"),
        Index("ix_historic_task_created", "created_at", "id"),  # history in start order (0014)
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(36))
    definition_key: Mapped[str] = mapped_column(String(128))
    element_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    lane: Mapped[str | None] = mapped_column(String(255))
    candidate_groups: Mapped[list[Any]] = mapped_column(JsonType)
    # Who it was offered to by name; None for tasks that ended before this was kept.
    candidate_users: Mapped[list[Any] | None] = mapped_column(JsonType)
    assignee: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    ended_at: Mapped[datetime]
    end_reason: Mapped[str] = mapped_column(String(16))
    completed_by: Mapped[str | None] = mapped_column(String(128))
    # Copied from the model's task properties so analytics stay plain SQL.
    customer_procedure: Mapped[str | None] = mapped_column(String(255))
    hall_visit: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    external_party: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class HistoryEvent(Base):
    __tablename__ = "history_event"
    __table_args__ = (
        Index("ix_history_instance", "instance_id", "id"),
        # the failed completions /engine-rest/incident lists (0014)
        Index(
            "ix_history_step_failed",
            "instance_id",
            "id",
            postgresql_where=text("type = 'step_failed'"),
            sqlite_where=text("type = 'step_failed'"),
        ),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    instance_id: Mapped[str] = mapped_column(String(36))
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(128))
    occurred_at: Mapped[datetime]
    details: Mapped[dict[str, Any]]


class MessageSubscription(Base):
    """A catch event of an active instance waiting for a named message (projection)."""

    __tablename__ = "message_subscription"
    __table_args__ = (Index("ix_subscription_name_key", "message_name", "business_key"),)

    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"))
    definition_key: Mapped[str] = mapped_column(String(128))
    business_key: Mapped[str] = mapped_column(String(128))
    element_id: Mapped[str] = mapped_column(String(255))
    message_name: Mapped[str] = mapped_column(String(255))
    lane: Mapped[str | None] = mapped_column(String(255))
    event_subprocess: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime]


class Message(Base):
    """A received message: delivered, started an instance, or buffered until a catch event waits."""

    __tablename__ = "message"
    __table_args__ = (Index("ix_message_buffered", "status", "message_name", "business_key"),)

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    message_name: Mapped[str] = mapped_column(String(255))
    business_key: Mapped[str | None] = mapped_column(String(128))
    definition_key: Mapped[str | None] = mapped_column(String(128))
    correlation: Mapped[dict[str, Any]]
    variables: Mapped[dict[str, Any]]
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    instance_id: Mapped[str | None] = mapped_column(String(36))
    received_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    sender: Mapped[str] = mapped_column(String(128))


class ExternalTask(Base):
    """A service task waiting for an outside worker; incident when its retries run out."""

    __tablename__ = "external_task"
    __table_args__ = (
        Index("ix_external_task_topic", "topic", "lock_expires_at"),
        Index("ix_external_task_instance", "instance_id"),
        # the incidents: tasks whose retries ran out (0014)
        Index(
            "ix_external_task_incident",
            "incident_at",
            "id",
            postgresql_where=text("incident_at IS NOT NULL"),
            sqlite_where=text("incident_at IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"))
    definition_id: Mapped[str] = mapped_column(String(160))
    definition_key: Mapped[str] = mapped_column(String(128))
    business_key: Mapped[str] = mapped_column(String(128))
    element_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(255))
    variables: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    worker_id: Mapped[str | None] = mapped_column(String(255))
    lock_expires_at: Mapped[datetime | None]
    retries: Mapped[int | None] = mapped_column(Integer)
    retry_at: Mapped[datetime | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    error_details: Mapped[str | None] = mapped_column(Text)
    incident_at: Mapped[datetime | None]
    row_version: Mapped[int] = mapped_column(Integer, default=1)


class IdempotencyRecord(Base):
    """The first response to a request sent with an Idempotency-Key, replayed to its retries."""

    __tablename__ = "idempotency_key"
    __table_args__ = (Index("ix_idempotency_expires", "expires_at"),)

    scope: Mapped[str] = mapped_column(String(400), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class HistoricWait(Base):
    """How long an instance waited at a message catch event (e.g. for the customer)."""

    __tablename__ = "historic_wait"
    __table_args__ = (Index("ix_historic_wait_instance", "instance_id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    instance_id: Mapped[str] = mapped_column(String(36))
    definition_key: Mapped[str] = mapped_column(String(128))
    element_id: Mapped[str] = mapped_column(String(255))
    message_name: Mapped[str] = mapped_column(String(255))
    lane: Mapped[str | None] = mapped_column(String(255))
    external_party: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]


class CalendarDay(Base):
    """The working-day calendar as a table, so analytics count working days in SQL:
    working days in (a, b] = ordinal(b) - ordinal(a)."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    ordinal: Mapped[int] = mapped_column(Integer)


class SimulationJob(Base):
    """A what-if simulation of a candidate BPMN against the deployed version, run in the
    background by the server that accepted it; any server answers its progress and result."""

    __tablename__ = "simulation_job"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # queued | running | done | failed
    definition_key: Mapped[str] = mapped_column(String(128))
    deployed_version: Mapped[int] = mapped_column(Integer)
    candidate_name: Mapped[str] = mapped_column(String(255))
    candidate_xml: Mapped[str] = mapped_column(Text)
    applications: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer)
    requested_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    # Written with every progress report: a job whose server stopped goes quiet.
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    result: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)


class RunIncident(Base):
    """An engine run that failed without a caller to answer: a timer that could not fire, a
    run over its budget (engine/budget.py), a worker's answer the process could not take. The
    run was rolled back; the row says where and why until someone resolves it. (An external
    task whose retries ran out is an incident of its own, on external_task.)"""

    __tablename__ = "run_incident"
    __table_args__ = (
        Index("ix_run_incident_instance", "instance_id"),
        Index("ix_run_incident_open", "resolved_at", "definition_key"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"))
    definition_key: Mapped[str] = mapped_column(String(128))
    business_key: Mapped[str] = mapped_column(String(128))
    element_id: Mapped[str | None] = mapped_column(String(255))
    element_name: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))  # timer | message | worker | budget
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    # (0016) a worker incident's external task, not handed out while the incident is open; how
    # often the same failure (instance, element, kind) came while it was open, and when last
    external_task_id: Mapped[str | None] = mapped_column(String(36))
    occurrences: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    last_at: Mapped[datetime | None]


class TimeLimitClock(Base):
    """One run of a declared time limit's clock in one case (services/clocks.py): from the
    element that starts it to the one that stops it, on the working-day calendar."""

    __tablename__ = "time_limit_clock"
    __table_args__ = (
        Index("ix_time_limit_clock_instance", "instance_id", "id"),
        Index("ix_time_limit_clock_open", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    instance_id: Mapped[str] = mapped_column(String(36))
    definition_key: Mapped[str] = mapped_column(String(128))
    limit_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    regime: Mapped[str] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(String(16))
    limit_days: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))  # running | paused | met | breached
    started_at: Mapped[datetime]
    warn_at: Mapped[datetime]
    due_at: Mapped[datetime]
    paused_at: Mapped[datetime | None]
    warned_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]
    escalate_to: Mapped[list[Any]] = mapped_column(JsonType)
    escalation_task_id: Mapped[str | None] = mapped_column(String(36))
