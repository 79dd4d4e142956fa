from __future__ import annotations

from fastapi import APIRouter, Response

from bpmn_service.api.deps import ContextDep, PrincipalDep
from bpmn_service.api.errors import ERROR_RESPONSES
from bpmn_service.api.schemas import MessageRead, MessageSend
from bpmn_service.services import messages

router = APIRouter(prefix="/messages", tags=["messages"])


@router.post(
    "",
    response_model=MessageRead,
    responses={
        **ERROR_RESPONSES,
        201: {"model": MessageRead, "description": "the message started a new instance"},
        202: {"model": MessageRead, "description": "kept until the instance waits for it"},
    },
)
def send_message(
    ctx: ContextDep, principal: PrincipalDep, body: MessageSend, response: Response
) -> MessageRead:
    """Correlate a message: deliver it to the instance waiting for it, start the process it
    starts, or keep it until the instance waits for it (202)."""
    result = messages.send_message(
        ctx,
        principal,
        name=body.message_name,
        business_key=body.business_key,
        definition_key=body.process_definition_key,
        correlation=body.correlation,
        variables=body.variables,
        message_id=body.message_id,
        ttl_seconds=body.ttl_seconds
        if body.ttl_seconds is not None
        else ctx.settings.message_ttl_seconds,
    )
    response.status_code = {"started": 201, "buffered": 202}.get(result.status, 200)
    return MessageRead.model_validate(result, from_attributes=True)
