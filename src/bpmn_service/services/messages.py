"""Correlate messages from other systems to instances, idempotently by message id."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from bpmn_service.context import AppContext
from bpmn_service.db.models import Message
from bpmn_service.errors import DuplicateBusinessKey, IdempotencyMismatch, ServiceError
from bpmn_service.identity import Principal

from . import run_incidents, runtime
from .contracts import refuse_internal
from .instances import check_variables
from .uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class MessageResult:
    message_id: str
    status: str  # delivered | started | buffered
    process_instance_id: str | None
    replayed: bool


def _hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def send_message(
    ctx: AppContext,
    principal: Principal,
    *,
    name: str,
    business_key: str | None,
    definition_key: str | None,
    correlation: dict[str, Any],
    variables: dict[str, Any],
    message_id: str | None,
    ttl_seconds: int,
) -> MessageResult:
    check_variables(variables)
    body = {
        "name": name,
        "business_key": business_key,
        "definition_key": definition_key,
        "correlation": correlation,
        "variables": variables,
    }
    request_hash = _hash(body)
    message_id = message_id or str(uuid.uuid4())
    try:
        return _send(ctx, principal, body, request_hash, message_id, ttl_seconds)
    except DuplicateBusinessKey as exc:
        # A message starting a second case with a taken business key: the existing case is
        # named only to an admin (the sender may not be allowed to see it).
        if principal.is_admin or not isinstance(exc.details, dict):
            raise
        raise DuplicateBusinessKey(exc.message, {**exc.details, "instance_id": None}) from None
    except ServiceError as exc:
        run_incidents.after_failed_run(ctx, exc, kind=None, actor=principal.user_id)
        raise


def _send(
    ctx: AppContext,
    principal: Principal,
    body: dict[str, Any],
    request_hash: str,
    message_id: str,
    ttl_seconds: int,
) -> MessageResult:
    name, business_key, definition_key = body["name"], body["business_key"], body["definition_key"]
    correlation, variables = body["correlation"], body["variables"]
    now = ctx.clock()
    with UnitOfWork(ctx, write=True) as uow:
        session = uow.session
        seen = session.get(Message, message_id)
        if seen is not None:
            return _replay(seen, request_hash)
        if not principal.is_admin:
            refuse_internal(session, name)
        outcome = runtime.correlate(
            ctx,
            session,
            name=name,
            business_key=business_key,
            definition_key=definition_key,
            correlation=correlation,
            variables=variables,
            sender=principal.user_id,
            message_id=message_id,
            buffer_for=timedelta(seconds=ttl_seconds),
            now=now,
        )
        row = session.get(Message, message_id)
        if row is None:  # delivered or started: remember it for retries
            row = Message(
                id=message_id,
                message_name=name,
                business_key=business_key,
                definition_key=definition_key,
                correlation=correlation,
                variables=variables,
                request_hash=request_hash,
                status=outcome.status,
                instance_id=outcome.instance_id,
                received_at=now,
                expires_at=None,
                delivered_at=now,
                sender=principal.user_id,
            )
            session.add(row)
        else:
            row.request_hash = request_hash
        try:
            uow.commit()
        except IntegrityError:
            # A concurrent retry with the same id won; answer as it did.
            uow.session.rollback()
            seen = uow.session.get(Message, message_id)
            if seen is None:
                raise
            return _replay(seen, request_hash)
        return MessageResult(message_id, outcome.status, outcome.instance_id, replayed=False)


def _replay(seen: Message, request_hash: str) -> MessageResult:
    if seen.request_hash != request_hash:
        raise IdempotencyMismatch(
            f"message id {seen.id!r} was already used for a different message",
            details={"message_id": seen.id},
        )
    return MessageResult(seen.id, seen.status, seen.instance_id, replayed=True)
