"""Camunda 7 DTOs of the repository side: deployments, process definitions, process instances.

Field names are Camunda's camelCase (from snake_case by alias); times are Camunda date strings;
variables are typed (values.py). Fields Camunda has and this service does not (tenants, version
tags, case instances) are there and null, so strict clients find what they expect.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class CamundaModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class CamundaRequest(CamundaModel):
    """A request body: a field the service does not know is refused, not ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Link(CamundaModel):
    method: str
    href: str
    rel: str


class VariableValue(CamundaModel):
    value: Any = None
    type: str | None = Field(None, description="Boolean, Integer, Long, Double, String, Json, ...")
    value_info: dict[str, Any] = Field(default_factory=dict)


TypedVariables = dict[str, VariableValue]


class Version(CamundaModel):
    version: str


class Engine(CamundaModel):
    name: str


class Count(CamundaModel):
    count: int


class Deployment(CamundaModel):
    links: list[Link]
    id: str
    name: str
    source: str | None
    deployment_time: str
    tenant_id: None = None


class ProcessDefinition(CamundaModel):
    id: str
    key: str
    category: str | None = None
    description: str | None = None
    name: str | None
    version: int
    resource: str
    deployment_id: str
    diagram: str | None = None
    suspended: bool = False
    tenant_id: None = None
    version_tag: str | None = None
    history_time_to_live: int | None = None
    startable_in_tasklist: bool = True


class DeployWarning(CamundaModel):
    file: str
    line: int | None
    element: str | None
    message: str
    hint: str = Field(description="what to do about it")
    code: str
    severity: str


class DeploymentWithDefinitions(Deployment):
    deployed_process_definitions: dict[str, ProcessDefinition] | None
    deployed_case_definitions: None = None
    deployed_decision_definitions: None = None
    deployed_decision_requirements_definitions: None = None
    warnings: list[DeployWarning] = Field(
        default_factory=list,
        description="problems that did not stop the deployment (as on /api/v1/deployments); "
        "Camunda has no such field, and its clients ignore it",
    )


class ProcessDefinitionXml(CamundaModel):
    id: str
    bpmn20_xml: str = Field(alias="bpmn20Xml")


class ProcessInstance(CamundaModel):
    links: list[Link]
    id: str
    definition_id: str
    definition_key: str
    business_key: str
    case_instance_id: None = None
    ended: bool
    suspended: bool = False
    tenant_id: None = None


class ProcessInstanceWithVariables(ProcessInstance):
    variables: dict[str, VariableValue] | None = None


class StartProcessInstance(CamundaRequest):
    business_key: str | None = Field(
        None, description="unique per process; generated when omitted (the service needs one)"
    )
    variables: dict[str, Any] | None = None
    with_variables_in_return: bool = False
    case_instance_id: None = Field(None, description="not supported (no CMMN)")
    start_instructions: list[Any] | None = Field(None, description="not supported: must be empty")
    skip_custom_listeners: bool | None = Field(None, description="no effect: no listeners run here")
    skip_io_mappings: bool | None = Field(None, description="no effect: no I/O mappings run here")
