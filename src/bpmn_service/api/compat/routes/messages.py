"""Camunda's message resource over the service's correlation: by business key (or the instance
the processInstanceId names), process key and correlation keys, delivered to the one waiting
instance, starting the process it starts, or kept until the instance waits for it.

An `Idempotency-Key` header is the message id: a retry with the same key is answered, not
delivered again.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from bpmn_service.api.compat import params
from bpmn_service.api.compat.auth import CamundaPrincipalDep
from bpmn_service.api.compat.declared import declared_dates
from bpmn_service.api.compat.errors import ERROR_RESPONSES, bad_request
from bpmn_service.api.compat.values import from_typed, typed_all
from bpmn_service.api.compat.work_schemas import CorrelationMessage, MessageCorrelationResult
from bpmn_service.api.deps import ContextDep, IdempotencyKeyHeader
from bpmn_service.errors import FieldError, Forbidden
from bpmn_service.services import instances, messages

router = APIRouter(prefix="/message", tags=["message"])
OVERSIGHT = frozenset({"admin", "analyst", "supervisor"})


@router.post(
    "",
    status_code=204,
    responses={
        **ERROR_RESPONSES,
        200: {"model": list[MessageCorrelationResult], "description": "with resultEnabled"},
        204: {"description": "delivered, started or kept"},
    },
)
def deliver_message(
    ctx: ContextDep,
    request: Request,
    principal: CamundaPrincipalDep,
    body: CorrelationMessage,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Correlate a message; with resultEnabled the answer says what it did (an empty list when
    it was kept for an instance that does not wait for it yet)."""
    problems = [
        FieldError(name, why)
        for name, given, why in (
            ("all", body.all, "is not supported: a message goes to one instance"),
            ("localCorrelationKeys", body.local_correlation_keys, "is not supported"),
            ("processVariablesLocal", body.process_variables_local, "is not supported"),
        )
        if given
    ]
    if problems:
        raise bad_request(problems)
    if body.variables_in_result_enabled and not principal.groups & OVERSIGHT:
        raise Forbidden("variablesInResultEnabled needs the admin, analyst or supervisor group")
    business_key, definition_key = body.business_key, None
    if body.process_instance_id is not None:
        target_key, definition_key = instances.message_target(ctx, body.process_instance_id)
        if business_key is not None and business_key != target_key:
            raise bad_request(
                [FieldError("businessKey", "is not the business key of processInstanceId")]
            )
        business_key = target_key
    result = messages.send_message(
        ctx,
        principal,
        name=body.message_name,
        business_key=business_key,
        definition_key=definition_key,
        correlation=from_typed(
            body.correlation_keys, where="correlationKeys", zone=ctx.calendar.timezone
        ),
        variables=from_typed(
            body.process_variables, where="processVariables", zone=ctx.calendar.timezone
        ),
        message_id=idempotency_key,
        ttl_seconds=ctx.settings.message_ttl_seconds,
    )
    if not body.result_enabled:
        return Response(status_code=204)
    if result.process_instance_id is None or result.status == "buffered":
        return JSONResponse([])
    instance = instances.instance_brief(ctx, result.process_instance_id)
    started = result.status == "started"
    ended = instance.status != "active"
    answer: dict[str, Any] = {
        "resultType": "ProcessDefinition" if started else "Execution",
        # The execution that received it: one per instance here, named by the instance's id (as
        # executionId is everywhere on /engine-rest). Camunda's clients read it for "Execution".
        "execution": None
        if started
        else {
            "id": instance.id,
            "processInstanceId": instance.id,
            "ended": ended,
            "tenantId": None,
        },
        "processInstance": {
            "links": params.links(request, f"process-instance/{instance.id}"),
            "id": instance.id,
            "definitionId": instance.definition_id,
            "definitionKey": instance.definition_key,
            "businessKey": instance.business_key,
            "caseInstanceId": None,
            "ended": ended,
            "suspended": False,
            "tenantId": None,
        },
    }
    if body.variables_in_result_enabled:
        dates = declared_dates(ctx, instance.definition_id)
        answer["variables"] = typed_all(instance.variables, dates=dates)
    return JSONResponse([answer])
