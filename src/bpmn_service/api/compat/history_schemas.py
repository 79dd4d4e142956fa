"""Camunda 7 DTOs of the history and operations side: historic process instances and tasks,
incidents, the activity instance tree. Fields Camunda has and the service does not keep (tenants,
case instances, removal times) are there and null, so strict clients find what they expect."""

from __future__ import annotations

from pydantic import Field

from bpmn_service.api.compat.schemas import CamundaModel


class HistoricProcessInstance(CamundaModel):
    id: str
    root_process_instance_id: str
    super_process_instance_id: None = None
    super_case_instance_id: None = None
    case_instance_id: None = None
    process_definition_name: str | None
    process_definition_key: str
    process_definition_version: int
    process_definition_id: str
    business_key: str
    start_time: str
    end_time: str | None
    removal_time: None = None
    duration_in_millis: int | None
    start_user_id: str
    start_activity_id: str | None
    delete_reason: str | None
    tenant_id: None = None
    state: str = Field(description="ACTIVE, COMPLETED or EXTERNALLY_TERMINATED (cancelled)")
    restarted_process_instance_id: None = None


class HistoricTask(CamundaModel):
    id: str
    process_definition_key: str
    process_definition_id: str
    process_instance_id: str
    execution_id: str
    case_definition_key: None = None
    case_definition_id: None = None
    case_instance_id: None = None
    case_execution_id: None = None
    activity_instance_id: str
    name: str
    description: None = None
    delete_reason: str | None = Field(description="completed or deleted; null while open")
    owner: None = None
    assignee: str | None
    start_time: str
    end_time: str | None
    duration: int | None = Field(description="milliseconds; null while open")
    task_definition_key: str
    priority: int | None = Field(description="null once the task has ended (not kept)")
    due: str | None
    parent_task_id: None = None
    follow_up: str | None = Field(description="null once the task has ended (not kept)")
    tenant_id: None = None
    removal_time: None = None
    root_process_instance_id: str
    task_state: str = Field(description="Created, Completed or Deleted")


class Incident(CamundaModel):
    id: str
    process_definition_id: str
    process_instance_id: str
    execution_id: None = None
    incident_timestamp: str
    incident_type: str = Field(description="failedExternalTask or failedJob")
    activity_id: str | None
    failed_activity_id: str | None
    cause_incident_id: str
    root_cause_incident_id: str
    configuration: str | None = Field(description="the external task's id; null for failedJob")
    tenant_id: None = None
    incident_message: str
    job_definition_id: None = None
    annotation: None = None


class ActivityInstanceIncident(CamundaModel):
    id: str
    parent_activity_instance_id: str


class ActivityInstance(CamundaModel):
    id: str
    parent_activity_instance_id: str | None
    activity_id: str
    activity_type: str
    activity_name: str | None
    name: str | None = Field(description="the same as activityName (Camunda's older field)")
    process_instance_id: str
    process_definition_id: str
    child_activity_instances: list[ActivityInstance]
    child_transition_instances: list[dict[str, object]] = Field(
        default_factory=list, description="always empty: no asynchronous continuations here"
    )
    execution_ids: list[str]
    incident_ids: list[str]
    incidents: list[ActivityInstanceIncident]
