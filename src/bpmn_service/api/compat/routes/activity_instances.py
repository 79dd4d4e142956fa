"""Camunda's activity instance tree of a running instance (GET /process-instance/{id}/
activity-instances, what Cockpit and clients read to see where a case stands), mapped from the
tree /api/v1/process-instances/{id}/activities answers."""

from __future__ import annotations

from fastapi import APIRouter

from bpmn_service.api.compat.auth import CamundaPrincipalDep
from bpmn_service.api.compat.errors import ERROR_RESPONSES
from bpmn_service.api.compat.history_schemas import ActivityInstance, ActivityInstanceIncident
from bpmn_service.api.deps import ContextDep
from bpmn_service.errors import NotFound
from bpmn_service.services import activities, definitions
from bpmn_service.services.activities import Activity

router = APIRouter(prefix="/process-instance", tags=["process-instance"])

# The service's activity kinds as Camunda's activity types.
TYPES = {
    "user_task": "userTask",
    "external_task": "serviceTask",
    "message_wait": "intermediateMessageCatch",
    "timer": "intermediateTimer",
    "multi_instance": "multiInstanceBody",
    "subprocess": "subProcess",
    "event_subprocess": "subProcess",
    "call_activity": "callActivity",
}
# Not activity instances in Camunda 7: a branch waiting at a join, an event waiting beside its
# activity (a boundary event), and an event subprocess waiting for its start message (an event
# subscription). /api/v1's tree shows them.
LEFT_OUT = frozenset({"join", "waiting"})


class _Tree:
    def __init__(self, instance_id: str, definition_id: str) -> None:
        self.instance_id = instance_id
        self.definition_id = definition_id

    def node(self, activity: Activity, parent_id: str) -> ActivityInstance:
        own_id = f"{activity.element_id}:{activity.task_id or parent_id}"
        incident = activity.details.get("incident_id")
        return ActivityInstance(
            id=own_id,
            parent_activity_instance_id=parent_id,
            activity_id=activity.element_id,
            activity_type=TYPES.get(activity.kind, activity.kind),
            activity_name=activity.name,
            name=activity.name,
            process_instance_id=self.instance_id,
            process_definition_id=self.definition_id,
            child_activity_instances=self.children(activity.children, own_id),
            execution_ids=[self.instance_id],
            incident_ids=[incident] if incident else [],
            incidents=(
                [ActivityInstanceIncident(id=incident, parent_activity_instance_id=own_id)]
                if incident
                else []
            ),
        )

    def children(self, found: list[Activity], parent_id: str) -> list[ActivityInstance]:
        return [self.node(a, parent_id) for a in found if _is_instance(a)]


def _is_instance(activity: Activity) -> bool:
    if activity.kind in LEFT_OUT or activity.kind == "failed":
        return False
    return not activity.details.get("event_subprocess")


def _attach(tree: list[ActivityInstance], element_id: str, incident_id: str) -> bool:
    """Note a failed run's incident on the first activity instance of its element."""
    for node in tree:
        if node.activity_id == element_id or _attach(
            node.child_activity_instances, element_id, incident_id
        ):
            if node.activity_id == element_id:
                node.incident_ids.append(incident_id)
                node.incidents.append(
                    ActivityInstanceIncident(id=incident_id, parent_activity_instance_id=node.id)
                )
            return True
    return False


@router.get(
    "/{instance_id}/activity-instances", response_model=ActivityInstance, responses=ERROR_RESPONSES
)
def get_activity_instances(
    ctx: ContextDep, principal: CamundaPrincipalDep, instance_id: str
) -> ActivityInstance:
    """The activity instance tree of a running instance the caller may see: the process
    instance at the root, its active elements below (multi-instance bodies and subprocesses
    with theirs). An ended instance is 404, as in Camunda."""
    found = activities.instance_activities(ctx, instance_id, principal)
    instance = found.instance
    if instance.status != "active":
        raise NotFound(f"process instance {instance_id} has ended ({instance.status})")
    version = definitions.get_version(ctx, instance.definition_id)
    tree = _Tree(instance.id, instance.definition_id)
    root = ActivityInstance(
        id=instance.id,
        parent_activity_instance_id=None,
        activity_id=instance.definition_id,
        activity_type="processDefinition",
        activity_name=version.name or version.key,
        name=version.name or version.key,
        process_instance_id=instance.id,
        process_definition_id=instance.definition_id,
        child_activity_instances=tree.children(found.activities, instance.id),
        execution_ids=[instance.id],
        incident_ids=[],
        incidents=[],
    )
    # A failed run's incident belongs to the activity where it failed, else to the instance.
    for failed in (a for a in found.activities if a.kind == "failed"):
        incident = str(failed.details.get("incident_id"))
        if not _attach(root.child_activity_instances, failed.element_id, incident):
            root.incident_ids.append(incident)
            root.incidents.append(
                ActivityInstanceIncident(id=incident, parent_activity_instance_id=root.id)
            )
    return root
