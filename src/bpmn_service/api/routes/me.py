"""Who the caller is: the web workspace shows the user and offers the views their groups use."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from bpmn_service.api.deps import PrincipalDep
from bpmn_service.api.errors import ERROR_RESPONSES
from bpmn_service.services.roles import roles_of

router = APIRouter(tags=["identity"])


class RolesRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    admin: bool = Field(description="may deploy, cancel and reassign anything")
    analyst: bool = Field(description="may deploy process definitions")
    supervisor: bool = Field(description="may unclaim tasks held by others and repair cases")
    analytics: bool = Field(description="may read the KPI reports under /analytics")
    sees_all_instances: bool = Field(description="sees every instance, not only their own")
    worker: bool = Field(description="may fetch and complete external tasks")


class MeRead(BaseModel):
    user_id: str
    groups: list[str]
    roles: RolesRead = Field(
        description="what the groups allow; a convenience for clients, the API checks each call"
    )


@router.get("/me", response_model=MeRead, responses=ERROR_RESPONSES)
def who_am_i(principal: PrincipalDep) -> MeRead:
    """The authenticated user, their groups and what those groups allow."""
    return MeRead(
        user_id=principal.user_id,
        groups=sorted(principal.groups),
        roles=RolesRead.model_validate(roles_of(principal)),
    )
