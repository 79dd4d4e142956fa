"""Request and response bodies of the native API (snake_case, RFC 3339 UTC times)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int


class DeployedDefinitionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    key: str
    version: int
    name: str | None
    resource_name: str
    created: bool = Field(description="false when the content was unchanged and not redeployed")


class FindingRead(BaseModel):
    """One finding about a BPMN file (docs/authoring.md lists every code)."""

    model_config = ConfigDict(from_attributes=True)
    file: str
    line: int | None
    element: str | None
    severity: str = Field(description="error (the file is refused) or warning")
    code: str = Field(description="dotted, e.g. data.unset-variable, layout.flow-through-shape")
    message: str
    hint: str = Field(description="what to do about it")


class PlannedDefinitionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    key: str
    name: str | None
    version: int = Field(description="the version a deployment now would give (or keep)")


class DryRunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    dry_run: bool = True
    valid: bool = Field(description="true when a deployment would be accepted")
    problems: list[FindingRead] = Field(description="the errors that refuse the files")
    warnings: list[FindingRead]
    processes: list[PlannedDefinitionRead] = Field(description="empty when not valid")


class DeploymentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str | None = Field(description="null when every file was unchanged")
    name: str
    definitions: list[DeployedDefinitionRead]
    warnings: list[FindingRead] = Field(
        default_factory=list, description="findings that do not stop the deployment"
    )


class VersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    version: int
    name: str | None
    checksum: str
    resource_name: str
    deployment_id: str
    deployed_at: datetime


class DefinitionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    key: str
    name: str | None
    latest_version: int
    versions: list[VersionRead]
    start_form: dict[str, Any] = Field(description="JSON Schema of the start event's form")
    startable: bool = Field(
        description="whether the caller may start the latest version (its model's "
        "candidateStarterGroups/Users, else the default starter groups; admins always)"
    )


class InstanceStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    business_key: str = Field(description="unique per process key, e.g. the application number")
    variables: dict[str, Any] = Field(default_factory=dict)


class InstanceCancel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=1000)


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    element_id: str = Field(description="the BPMN element id of the user task")
    process_instance_id: str
    process_definition_key: str
    process_definition_id: str
    business_key: str
    lane: str | None
    candidate_groups: list[str]
    candidate_users: list[str]
    assignee: str | None
    priority: int
    created_at: datetime
    claimed_at: datetime | None
    due_at: datetime | None
    follow_up_at: datetime | None


class TaskDetailRead(TaskRead):
    form: dict[str, Any] = Field(description="JSON Schema of the task's form")
    variables: dict[str, Any] = Field(description="current values of the variables the form shows")
    properties: dict[str, Any]


class TaskComplete(BaseModel):
    model_config = ConfigDict(extra="forbid")
    variables: dict[str, Any] = Field(default_factory=dict)


class CompletionRead(BaseModel):
    task_id: str
    process_instance_id: str
    instance_status: str
    next_tasks: list[TaskRead] = Field(description="user tasks that became ready")


class InstanceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    definition_key: str
    definition_id: str
    version: int
    business_key: str
    status: str
    started_at: datetime
    started_by: str
    ended_at: datetime | None


class HistoryEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    type: str
    occurred_at: datetime
    actor: str | None
    task_id: str | None
    element_id: str | None
    details: dict[str, Any]


class InstanceDetailRead(InstanceRead):
    variables: dict[str, Any]
    value_labels: dict[str, str] = Field(
        default_factory=dict,
        description="the label of each variable whose value is a code the process labels: "
        "a value of one of its enum form fields (COMMERCIAL_INDUSTRIAL: 一般工商业), a customer "
        "category (HV_S: 高压单电源)",
    )
    tasks: list[TaskRead]
    history: list[HistoryEventRead]


class StartedInstanceRead(InstanceRead):
    tasks: list[TaskRead] = Field(description="user tasks ready after the start")


class TaskPageRead(Page[TaskRead]):
    total: int = Field(
        description="how many tasks match; exact unless total_is_lower_bound (then at least this "
        "many: an inbox counts at most 1,000 matches beyond the offset)"
    )
    total_is_lower_bound: bool = Field(
        False, description="true when more tasks match than were counted"
    )
    next_after: str | None = Field(
        None,
        description="pass as `after` for the next page in the same sort; null when this page "
        "is not full (no more tasks)",
    )


class InboxTask(Protocol):
    """What task_read reads of an open task as the services return it (a task row)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def element_id(self) -> str: ...
    @property
    def instance_id(self) -> str: ...
    @property
    def definition_key(self) -> str: ...
    @property
    def definition_id(self) -> str: ...
    @property
    def business_key(self) -> str: ...
    @property
    def lane(self) -> str | None: ...
    @property
    def assignee(self) -> str | None: ...
    @property
    def priority(self) -> int: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def claimed_at(self) -> datetime | None: ...
    @property
    def due_at(self) -> datetime | None: ...
    @property
    def follow_up_at(self) -> datetime | None: ...


def task_read(task: InboxTask, candidates: dict[str, dict[str, list[str]]]) -> TaskRead:
    found = candidates.get(task.id, {"group": [], "user": []})
    return TaskRead(
        id=task.id,
        name=task.name,
        element_id=task.element_id,
        process_instance_id=task.instance_id,
        process_definition_key=task.definition_key,
        process_definition_id=task.definition_id,
        business_key=task.business_key,
        lane=task.lane,
        candidate_groups=found["group"],
        candidate_users=found["user"],
        assignee=task.assignee,
        priority=task.priority,
        created_at=task.created_at,
        claimed_at=task.claimed_at,
        due_at=task.due_at,
        follow_up_at=task.follow_up_at,
    )


class InstanceMetricsRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    instance_id: str
    customer_procedures: list[str] = Field(
        description="labels of the customer-facing procedures done so far (customerProcedure)"
    )
    hall_visits: int = Field(description="completed tasks marked hallVisit")
    handoffs: int = Field(description="utility tasks offered to other groups than the task before")
    utility_tasks: int
    customer_tasks: int


class TimeLimitRead(BaseModel):
    """One run of a declared time limit's clock in a case (working days)."""

    model_config = ConfigDict(from_attributes=True)
    limit_id: str = Field(description="the row of the limit table, e.g. A-T-SCHEME")
    name: str = Field(description="what the limit measures, e.g. 供电方案答复")
    regime: str = Field(description="the limit table version in force when the clock started")
    category: str = Field(description="the customer category the limit was looked up for")
    limit_days: float = Field(description="working days allowed")
    status: Literal["running", "paused", "met", "breached", "cancelled"] = Field(
        description="paused: waiting on the customer; breached: past its end (stopped or not); "
        "cancelled: the case ended while the clock ran"
    )
    started_at: datetime
    due_at: datetime = Field(description="100 %: the end of the limit (moves on after a pause)")
    warn_at: datetime = Field(description="80 %: the reminder")
    paused_at: datetime | None
    warned_at: datetime | None
    stopped_at: datetime | None
    breached_at: datetime | None = Field(description="when the breach was detected")
    escalated_to: list[str] = Field(description="the groups a breach is escalated to (督办)")
    escalation_task_id: str | None = Field(description="the supervisors' task the breach opened")
    element_ids: list[str] = Field(
        description="the steps the limit covers (from its start to its stop), for the diagram"
    )


class MessageSend(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message_name: str = Field(min_length=1, max_length=255, description="the BPMN message name")
    business_key: str | None = Field(
        None, max_length=128, description="the target instance's business key (申请编号)"
    )
    process_definition_key: str | None = Field(None, max_length=128)
    correlation: dict[str, Any] = Field(
        default_factory=dict, description="variable values the target instance must have"
    )
    variables: dict[str, Any] = Field(default_factory=dict, description="the message payload")
    message_id: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="idempotency key: a retry with the same id is answered, not delivered again",
    )
    ttl_seconds: int | None = Field(
        None,
        ge=0,
        le=365 * 24 * 3600,
        description="how long to keep the message if the instance does not wait for it yet",
    )


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    message_id: str
    status: str = Field(description="delivered, started (a new instance) or buffered")
    process_instance_id: str | None
    replayed: bool = Field(description="true when this answers a retry of an earlier request")


class FetchAndLock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    worker_id: str = Field(min_length=1, max_length=255)
    topics: list[str] = Field(min_length=1, max_length=50)
    lock_seconds: int = Field(300, ge=1, le=24 * 3600)
    max_tasks: int = Field(10, ge=1, le=100)
    process_instance_id: str | None = Field(
        None, description="only tasks of this instance (e.g. a worker serving one case)"
    )


class ExternalTaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    topic: str
    name: str
    element_id: str
    process_instance_id: str = Field(validation_alias="instance_id")
    process_definition_key: str = Field(validation_alias="definition_key")
    business_key: str
    variables: dict[str, Any]
    worker_id: str | None
    lock_expires_at: datetime | None
    retries: int | None
    retry_at: datetime | None
    error_message: str | None
    incident_at: datetime | None
    created_at: datetime


class ExternalTaskComplete(BaseModel):
    model_config = ConfigDict(extra="forbid")
    worker_id: str = Field(min_length=1, max_length=255)
    variables: dict[str, Any] = Field(default_factory=dict)


class ExternalTaskBpmnError(BaseModel):
    model_config = ConfigDict(extra="forbid")
    worker_id: str = Field(min_length=1, max_length=255)
    error_code: str = Field(
        min_length=1,
        max_length=255,
        description="matched against the errorCode of the task's error boundary events",
    )
    error_message: str | None = Field(None, max_length=4000)
    variables: dict[str, Any] = Field(default_factory=dict)


class ExternalTaskFailure(BaseModel):
    model_config = ConfigDict(extra="forbid")
    worker_id: str = Field(min_length=1, max_length=255)
    # A worker reports what it caught (a stack trace, a long server answer): cut to what is kept,
    # never refused, or its task would stay locked until the lock ran out.
    error_message: str = Field(min_length=1, description="kept up to 4000 characters, cut beyond")
    error_details: str | None = Field(
        None, description="kept up to 100,000 characters, cut beyond and marked '… (truncated)'"
    )
    retries: int = Field(ge=0, le=100, description="retries left; 0 raises an incident")
    retry_seconds: int = Field(0, ge=0, le=7 * 24 * 3600)


class ExternalTaskExtendLock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    worker_id: str = Field(min_length=1, max_length=255)
    lock_seconds: int = Field(ge=1, le=24 * 3600, description="the lock ends this long from now")


class RetriesSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    retries: int = Field(ge=0, le=100)


# -- analytics (docs/analytics.md) ------------------------------------------------------------


class StatsRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    avg: float | None
    p50: float | None = Field(description="median, linearly interpolated")
    p90: float | None = Field(description="90th percentile, linearly interpolated")


class AnalyticsQueryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    key: str | None
    version: int | None
    category: str | None
    started_from: datetime | None = Field(description="instances started at or after (UTC)")
    started_to: datetime | None = Field(description="instances started before (UTC)")


class ProcessQueryRead(AnalyticsQueryRead):
    satisfaction_variable: str


class ProcessKpisRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    key: str
    version: int
    category: str | None
    started: int = Field(description="instances started in the range")
    completed: int
    cancelled: int
    active: int
    cycle_days: StatsRead = Field(description="start to end of completed instances, calendar days")
    cycle_working_days: StatsRead = Field(
        description="working days in (start date, end date], Beijing dates"
    )
    utility_working_days: StatsRead = Field(
        description="cycle working days minus those in customer/contractor tasks and waits"
    )
    customer_procedures: StatsRead = Field(
        description="distinct customer procedures per completed instance (p90 not computed)"
    )
    hall_visits_avg: float | None
    handoffs_avg: float | None
    rework_loops_avg: float | None
    instances_with_rework: int
    satisfaction_avg: float | None
    satisfaction_responses: int
    db_score_procedures: float | None = Field(
        description="Doing Business procedures score of the median procedures (0-100)"
    )
    db_score_time: float | None = Field(
        description="Doing Business time score of the median calendar days (0-100)"
    )
    db_score: float | None = Field(description="mean of the two scores")


class ProcessReportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    query: ProcessQueryRead
    items: list[ProcessKpisRead]


class DueComplianceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    with_due: int = Field(description="completed tasks that had a due date")
    on_time: int = Field(description="of those, ended at or before the due date")
    late: int
    compliance_percent: float | None


class TaskFiguresRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    key: str
    completions: int
    cancellations: int
    waiting_hours: StatsRead = Field(description="created to claimed, completed tasks")
    working_hours: StatsRead = Field(description="claimed to completed")
    rework_rounds: int = Field(
        description="creation rounds beyond the first, summed over instances"
    )
    instances_with_rework: int
    due: DueComplianceRead


class StepKpisRead(TaskFiguresRead):
    element_id: str
    name: str | None
    lane: str | None


class LaneKpisRead(TaskFiguresRead):
    lane: str | None
    elements: int | None = Field(description="distinct elements with tasks in the lane")


class StepReportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    query: AnalyticsQueryRead
    items: list[StepKpisRead]


class LaneReportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    query: AnalyticsQueryRead
    items: list[LaneKpisRead]


class TimeLimitKpisRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    key: str
    element_id: str
    name: str
    lane: str | None
    completed: int = Field(description="completed tasks with a due date")
    on_time: int
    late: int
    compliance_percent: float | None
    open_tasks: int = Field(description="open tasks with a due date")
    open_overdue: int = Field(description="open tasks already past their due date")


class TimeLimitReportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    query: AnalyticsQueryRead
    items: list[TimeLimitKpisRead]
