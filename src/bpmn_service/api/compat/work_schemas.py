"""Camunda 7 DTOs of the work side: user tasks, external tasks and messages."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from bpmn_service.api.compat.schemas import CamundaModel, CamundaRequest, VariableValue

MAX_LOCK_MS = 24 * 3600 * 1000  # services.external_locks.MAX_LOCK


class TaskForm(CamundaModel):
    """Where a task's form lives. The service renders every form from the task's
    camunda:formData (GET /task/{id}/form-variables), so there is no form key to point at."""

    key: None = None
    context_path: None = None
    camunda_form_ref: None = None


class Task(CamundaModel):
    id: str
    name: str
    assignee: str | None
    owner: None = None
    created: str
    last_updated: str | None
    due: str | None
    follow_up: str | None
    delegation_state: None = None
    description: None = None
    execution_id: str
    parent_task_id: None = None
    priority: int
    process_definition_id: str
    process_instance_id: str
    task_definition_key: str
    case_execution_id: None = None
    case_instance_id: None = None
    case_definition_id: None = None
    suspended: bool = False
    form_key: None = None
    camunda_form_ref: None = None
    tenant_id: None = None


class IdentityLink(CamundaModel):
    """Who a task is offered to or assigned to, as Camunda's identity links say it."""

    user_id: str | None
    group_id: str | None
    type: str  # candidate | assignee


class UserId(CamundaRequest):
    user_id: str | None = Field(None, max_length=128)


class CompleteTask(CamundaRequest):
    variables: dict[str, Any] | None = None
    with_variables_in_return: bool = False


class FetchTopic(CamundaRequest):
    topic_name: str = Field(min_length=1, max_length=255)
    lock_duration: int = Field(gt=0, le=MAX_LOCK_MS, description="milliseconds, at most 24 h")
    variables: list[str] | None = Field(None, description="names to return; null: all")
    local_variables: bool = False
    business_key: str | None = None
    process_definition_id: str | None = None
    process_definition_id_in: list[str] | None = None
    process_definition_key: str | None = None
    process_definition_key_in: list[str] | None = None
    process_variables: dict[str, Any] | None = Field(None, description="not supported: empty")
    process_definition_version_tag: str | None = Field(
        None, description="not supported: version tags are not kept here"
    )
    without_tenant_id: bool = False
    tenant_id_in: list[str] | None = None
    deserialize_values: bool = False
    include_extension_properties: bool = False


class FetchExternalTasks(CamundaRequest):
    worker_id: str = Field(min_length=1, max_length=255)
    max_tasks: int = Field(1, ge=0, le=100)
    use_priority: bool = False
    async_response_timeout: int | None = Field(
        None, ge=0, le=1_800_000, description="long polling: wait up to this many ms for a task"
    )
    topics: list[FetchTopic] = Field(min_length=1, max_length=50)
    sorting: list[dict[str, Any]] | None = Field(None, description="accepted; oldest first")


class LockedExternalTask(CamundaModel):
    activity_id: str
    activity_instance_id: str
    error_message: str | None
    error_details: str | None
    execution_id: str
    id: str
    lock_expiration_time: str | None
    create_time: str
    process_definition_id: str
    process_definition_key: str
    process_definition_version_tag: None = None
    process_instance_id: str
    retries: int | None
    suspended: bool = False
    worker_id: str | None
    topic_name: str
    tenant_id: None = None
    variables: dict[str, VariableValue]
    priority: int = 0
    business_key: str
    extension_properties: dict[str, str | None] = Field(
        default_factory=dict,
        description="the element's camunda:properties with includeExtensionProperties, else {}",
    )


class ExternalTask(CamundaModel):
    activity_id: str
    activity_instance_id: str
    error_message: str | None
    execution_id: str
    id: str
    lock_expiration_time: str | None
    create_time: str
    process_definition_id: str
    process_definition_key: str
    process_instance_id: str
    retries: int | None
    suspended: bool = False
    worker_id: str | None
    topic_name: str
    tenant_id: None = None
    priority: int = 0
    business_key: str


class CompleteExternalTask(CamundaRequest):
    worker_id: str = Field(min_length=1, max_length=255)
    variables: dict[str, Any] | None = None
    local_variables: dict[str, Any] | None = Field(None, description="not supported: empty")


class ExternalTaskFailure(CamundaRequest):
    worker_id: str = Field(min_length=1, max_length=255)
    error_message: str | None = Field(None, description="kept up to 4000 characters, cut beyond")
    error_details: str | None = Field(
        None, description="kept up to 100,000 characters, cut beyond and marked '… (truncated)'"
    )
    retries: int = Field(ge=0, le=100, description="retries left; 0 raises an incident")
    retry_timeout: int = Field(0, ge=0, le=7 * 24 * 3600 * 1000, description="milliseconds")
    variables: dict[str, Any] | None = Field(None, description="not supported: empty")
    local_variables: dict[str, Any] | None = Field(None, description="not supported: empty")


class ExternalTaskBpmnError(CamundaRequest):
    worker_id: str = Field(min_length=1, max_length=255)
    error_code: str = Field(min_length=1, max_length=255)
    error_message: str | None = Field(None, max_length=4000)
    variables: dict[str, Any] | None = None


class ExtendLock(CamundaRequest):
    worker_id: str = Field(min_length=1, max_length=255)
    new_duration: int = Field(gt=0, le=MAX_LOCK_MS, description="milliseconds from now (24 h)")


class Retries(CamundaRequest):
    retries: int = Field(ge=0, le=100)


class Priority(CamundaRequest):
    priority: int = Field(description="not supported: external tasks have no priority here")


class CorrelationMessage(CamundaRequest):
    message_name: str = Field(min_length=1, max_length=255)
    business_key: str | None = Field(None, max_length=128)
    process_instance_id: str | None = None
    correlation_keys: dict[str, Any] | None = None
    local_correlation_keys: dict[str, Any] | None = Field(None, description="not supported")
    process_variables: dict[str, Any] | None = None
    process_variables_local: dict[str, Any] | None = Field(None, description="not supported")
    tenant_id: None = None
    without_tenant_id: bool = False
    result_enabled: bool = False
    variables_in_result_enabled: bool = False
    all: bool = Field(False, description="not supported: one instance per message")


class CorrelatedExecution(CamundaModel):
    """The execution a message reached: the instance's one execution, named by its id."""

    id: str
    process_instance_id: str
    ended: bool
    tenant_id: None = None


class MessageCorrelationResult(CamundaModel):
    result_type: str
    execution: CorrelatedExecution | None = None
    process_instance: dict[str, Any] | None
    variables: dict[str, VariableValue] | None = None
