"""What a user's groups allow, in one place for clients that offer views by role (GET /me).
Each call is still checked on its own by the service that serves it."""

from __future__ import annotations

from dataclasses import dataclass

from bpmn_service.db.queries import SEES_ALL_INSTANCES
from bpmn_service.identity import Principal

from .analytics import ANALYTICS_GROUPS
from .external_tasks import WORKER_GROUPS


@dataclass(frozen=True)
class Roles:
    admin: bool
    analyst: bool
    supervisor: bool
    analytics: bool
    sees_all_instances: bool
    worker: bool


def roles_of(principal: Principal) -> Roles:
    groups = principal.groups
    return Roles(
        admin=principal.is_admin,
        analyst=principal.can_deploy,
        supervisor=principal.is_supervisor,
        analytics=bool(groups & ANALYTICS_GROUPS),
        sees_all_instances=bool(groups & SEES_ALL_INSTANCES),
        worker=bool(groups & WORKER_GROUPS),
    )
