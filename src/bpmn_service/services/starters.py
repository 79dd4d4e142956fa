"""Who may start a process: the camunda:candidateStarterGroups / candidateStarterUsers the
analyst set on the process in the Modeler, or, when it sets neither, the service's default
starter groups (BPMN_DEFAULT_STARTER_GROUPS). Admins may start any process. Starting by a
message follows the message's sender rules instead (contracts.refuse_internal)."""

from __future__ import annotations

from typing import Any

from bpmn_service.db.models import ProcessDefinition
from bpmn_service.errors import Forbidden
from bpmn_service.identity import Principal


def may_start(
    starters: dict[str, Any] | None, principal: Principal, default_groups: frozenset[str]
) -> bool:
    """Whether the caller may start a version whose model names these starters (None: none)."""
    if principal.is_admin:
        return True
    if starters is None:
        return bool(principal.groups & default_groups)
    groups = frozenset(starters.get("groups") or ())
    users = frozenset(starters.get("users") or ())
    return principal.user_id in users or bool(principal.groups & groups)


def require_starter(
    definition: ProcessDefinition, principal: Principal, default_groups: frozenset[str]
) -> None:
    if may_start(definition.starters, principal, default_groups):
        return
    starters = definition.starters
    if starters is None:
        who = f"the default starter groups ({', '.join(sorted(default_groups)) or 'none'})"
    else:
        listed = [*(starters.get("groups") or []), *(starters.get("users") or [])]
        who = f"the starters its model names ({', '.join(listed) or 'nobody'})"
    raise Forbidden(
        f"you may not start process {definition.key!r}: only {who} may "
        f"(camunda:candidateStarterGroups / candidateStarterUsers on the process)"
    )
