"""The filters of Camunda's task query, read into the service's TaskFilter."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import Query

from bpmn_service.api.compat import params
from bpmn_service.api.compat.values import optional_date
from bpmn_service.context import AppContext
from bpmn_service.services.tasks import TaskFilter

# Camunda's sortBy -> the service's task sort key.
SORTS = {
    "id": "id",
    "name": "name",
    "assignee": "assignee",
    "created": "created",
    "dueDate": "due",
    "followUpDate": "follow_up",
    "priority": "priority",
    "instanceId": "instance",
    "executionId": "instance",
}

Text = Annotated[str | None, Query()]
Bool = Annotated[bool, Query()]
LIMIT = 2**31 - 1
Priority = Annotated[int | None, Query(ge=-LIMIT, le=LIMIT)]


class TaskFilters:
    """The supported task query parameters (any other is refused by params)."""

    def __init__(
        self,
        process_instance_id: params.ProcessInstanceId = None,
        business_key: params.BusinessKey = None,
        business_key_in: Annotated[str | None, Query(alias="processInstanceBusinessKeyIn")] = None,
        business_key_like: Annotated[
            str | None, Query(alias="processInstanceBusinessKeyLike")
        ] = None,
        definition_id: params.ProcessDefinitionId = None,
        definition_key: params.ProcessDefinitionKey = None,
        definition_key_in: params.ProcessDefinitionKeyIn = None,
        element_id: Annotated[str | None, Query(alias="taskDefinitionKey")] = None,
        element_id_in: Annotated[str | None, Query(alias="taskDefinitionKeyIn")] = None,
        name: Text = None,
        name_like: Annotated[str | None, Query(alias="nameLike")] = None,
        assignee: Text = None,
        assignee_in: Annotated[str | None, Query(alias="assigneeIn")] = None,
        assigned: Bool = False,
        unassigned: Bool = False,
        candidate_group: Annotated[str | None, Query(alias="candidateGroup")] = None,
        candidate_groups: Annotated[str | None, Query(alias="candidateGroups")] = None,
        candidate_user: Annotated[str | None, Query(alias="candidateUser")] = None,
        include_assigned: Annotated[bool, Query(alias="includeAssignedTasks")] = False,
        due_before: Annotated[str | None, Query(alias="dueBefore")] = None,
        due_after: Annotated[str | None, Query(alias="dueAfter")] = None,
        without_due: Annotated[bool, Query(alias="withoutDueDate")] = False,
        follow_up_before: Annotated[str | None, Query(alias="followUpBefore")] = None,
        follow_up_after: Annotated[str | None, Query(alias="followUpAfter")] = None,
        created_before: Annotated[str | None, Query(alias="createdBefore")] = None,
        created_after: Annotated[str | None, Query(alias="createdAfter")] = None,
        priority: Priority = None,
        min_priority: Annotated[int | None, Query(alias="minPriority", ge=-LIMIT, le=LIMIT)] = None,
        max_priority: Annotated[int | None, Query(alias="maxPriority", ge=-LIMIT, le=LIMIT)] = None,
        tenant_id_in: Annotated[str | None, Query(alias="tenantIdIn")] = None,
    ) -> None:
        self.none = params.no_tenants(tenant_id_in)
        self.filter = TaskFilter(
            candidate_user=candidate_user,
            process_instance_id=process_instance_id,
            business_key=business_key,
            business_keys=params.comma_list(business_key_in),
            business_key_like=business_key_like,
            process_definition_id=definition_id,
            process_definition_key=definition_key,
            process_definition_keys=params.comma_list(definition_key_in),
            element_id=element_id,
            element_ids=params.comma_list(element_id_in),
            name=name,
            name_like=name_like,
            assignee=assignee,
            assignees=params.comma_list(assignee_in),
            unassigned=params.either(unassigned, assigned),
            candidate_group=candidate_group,
            candidate_groups=params.comma_list(candidate_groups),
            include_assigned=include_assigned,
            due_before=optional_date(due_before, "dueBefore"),
            due_after=optional_date(due_after, "dueAfter"),
            without_due=without_due,
            follow_up_before=optional_date(follow_up_before, "followUpBefore"),
            follow_up_after=optional_date(follow_up_after, "followUpAfter"),
            created_before=optional_date(created_before, "createdBefore"),
            created_after=optional_date(created_after, "createdAfter"),
            priority=priority,
            min_priority=min_priority,
            max_priority=max_priority,
        )

    def of(self, ctx: AppContext) -> TaskFilter:
        """candidateUser means the user or any of their groups, read from the users file now."""
        user = self.filter.candidate_user
        if user is None:
            return self.filter
        return replace(self.filter, candidate_user_groups=sorted(ctx.users.groups_of(user) or ()))
