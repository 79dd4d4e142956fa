"""Start, read, list and cancel process instances."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from bpmn_service.context import AppContext
from bpmn_service.db import queries
from bpmn_service.db.models import HistoryEvent, ProcessDefinition, ProcessInstance, Task
from bpmn_service.engine import FormField, validate
from bpmn_service.errors import (
    DuplicateBusinessKey,
    FieldError,
    Forbidden,
    InvalidState,
    InvalidVariables,
    NotFound,
    ServiceError,
)
from bpmn_service.identity import Principal
from bpmn_service.timelimits import CATEGORY_NAMES

from . import projection, runtime, starters, telemetry
from .idempotency import Idempotency, Replay, lookup, remember, replay_after_race
from .uow import UnitOfWork

RESERVED_VARIABLES = frozenset({"businessKey", "initiator"})
VARIABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
BUSINESS_KEY = re.compile(r"^[\w\-./:#]{1,128}$", re.UNICODE)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InstanceDetail:
    instance: ProcessInstance
    tasks: list[Task]
    candidates: dict[str, dict[str, list[str]]]
    history: list[HistoryEvent]
    # The label of each variable whose value is a code with one (value_labels).
    value_labels: dict[str, str]


@dataclass(frozen=True, slots=True)
class StartResult:
    instance: ProcessInstance
    tasks: list[Task]
    candidates: dict[str, dict[str, list[str]]]


def spec_loader(session: Session, definition_id: str) -> Any:
    def load() -> str:
        spec = session.scalar(
            select(ProcessDefinition.spec_json).where(ProcessDefinition.id == definition_id)
        )
        if spec is None:
            raise NotFound(f"process definition {definition_id} does not exist")
        return spec

    return load


def value_labels(
    ctx: AppContext, session: Session, definition_id: str
) -> dict[str, dict[str, str]]:
    """The labels of a process version's codes, by variable: those its enum fields give their
    values, and the customer categories' names for the category variable (a script derives it,
    no form offers it as a choice) unless an enum field of the process labels it."""
    labels = ctx.runner.value_labels(definition_id, spec_loader(session, definition_id))
    if projection.CATEGORY_VARIABLE in labels:
        return labels
    return {**labels, projection.CATEGORY_VARIABLE: dict(CATEGORY_NAMES)}


def date_variables(ctx: AppContext, definition_id: str) -> frozenset[str]:
    """The variables a process version declares dates (a `date` form field of that name), read
    from the cached spec: the database is only read when the version is not cached."""

    def load() -> str:
        with UnitOfWork(ctx, reads=True) as uow:
            return str(spec_loader(uow.session, definition_id)())

    return ctx.runner.date_variables(definition_id, load)


def check_variables(variables: dict[str, Any], *, prefix: str = "") -> None:
    """Refuse names that are no identifiers or that the service sets; each error names the
    variable after `prefix` (its place in the request body, where a client shows it)."""
    errors = [
        FieldError(
            f"{prefix}{k}",
            "is not a valid variable name (letters, digits, _; starting with a letter)",
        )
        for k in variables
        if not VARIABLE_NAME.match(k)
    ]
    errors += [
        FieldError(f"{prefix}{k}", "is set by the service and cannot be given")
        for k in variables
        if k in RESERVED_VARIABLES
    ]
    if errors:
        raise InvalidVariables(errors)


def start_instance(
    ctx: AppContext,
    key: str,
    business_key: str,
    variables: dict[str, Any],
    principal: Principal,
    *,
    idempotency: Idempotency | None = None,
    render: Callable[[StartResult], dict[str, Any]] | None = None,
    definition_id: str | None = None,
) -> StartResult | Replay:
    """Start an instance of the latest version of `key` (or of the version `definition_id`);
    with an Idempotency-Key a retry answers the first response."""
    try:
        return _start(
            ctx, key, business_key, variables, principal, idempotency, render, definition_id
        )
    except (ServiceError, IntegrityError):
        replay = replay_after_race(ctx.sessions, idempotency)
        if replay is not None:
            return replay
        raise


def _start(
    ctx: AppContext,
    key: str,
    business_key: str,
    variables: dict[str, Any],
    principal: Principal,
    idempotency: Idempotency | None,
    render: Callable[[StartResult], dict[str, Any]] | None,
    definition_id: str | None,
) -> StartResult | Replay:
    if not BUSINESS_KEY.match(business_key):
        raise InvalidVariables(
            [FieldError("business_key", "must be 1-128 letters, digits or - _ . / : #")]
        )
    check_variables(variables)
    now = ctx.clock()
    with UnitOfWork(ctx, write=True) as uow:
        session = uow.session
        replay = lookup(session, idempotency)
        if replay is not None:
            return replay
        definition = (
            runtime.latest_definition(session, key)
            if definition_id is None
            else runtime.definition_version(session, definition_id)
        )
        starters.require_starter(definition, principal, ctx.settings.default_starter_group_set)
        fields = [FormField.from_dict(f) for f in definition.start_form]
        values = validate(fields, variables) if fields else dict(variables)
        try:
            instance, settled = runtime.create_instance(
                ctx, session, definition, business_key, values, actor=principal.user_id, now=now
            )
        except DuplicateBusinessKey as exc:
            raise _as_seen_by(session, exc, principal) from None
        tasks = [t for t in settled.created_tasks if t.instance_id == instance.id]
        result = StartResult(
            instance, tasks, projection.candidates_created(session, [t.id for t in tasks])
        )
        if render is not None and idempotency is not None:  # the body is stored for retries
            remember(session, idempotency, 201, render(result), now)
        try:
            uow.commit()
        except IntegrityError:
            raise runtime.duplicate(key, business_key, None) from None
        return result


def _as_seen_by(
    session: Session, exc: DuplicateBusinessKey, principal: Principal
) -> DuplicateBusinessKey:
    """The duplicate, naming the existing instance only to a caller who may see it."""
    details = exc.details if isinstance(exc.details, dict) else {}
    existing = details.get("instance_id")
    if existing is None:
        return exc
    visible = session.scalar(
        select(ProcessInstance.id).where(
            ProcessInstance.id == existing, queries.instance_visible(principal)
        )
    )
    if visible is not None:
        return exc
    return DuplicateBusinessKey(exc.message, details={**details, "instance_id": None})


def visible_instance(session: Session, instance_id: str, principal: Principal) -> ProcessInstance:
    """The instance if the caller may see it; NotFound otherwise (also for one that exists)."""
    instance = session.scalars(
        select(ProcessInstance).where(
            ProcessInstance.id == instance_id, queries.instance_visible(principal)
        )
    ).first()
    if instance is None:
        raise NotFound(f"process instance {instance_id} does not exist or is not visible to you")
    return instance


def find_instance(ctx: AppContext, instance_id: str, principal: Principal) -> ProcessInstance:
    """The instance row alone (its status and variables), for readers that show nothing of its
    tasks or history: one read, where get_instance reads them all."""
    with UnitOfWork(ctx, reads=True) as uow:
        return visible_instance(uow.session, instance_id, principal)


def get_instance(ctx: AppContext, instance_id: str, principal: Principal) -> InstanceDetail:
    with UnitOfWork(ctx, reads=True) as uow:
        session = uow.session
        instance = visible_instance(session, instance_id, principal)
        tasks = list(
            session.scalars(
                select(Task)
                .where(Task.instance_id == instance.id)
                .order_by(Task.created_at, Task.id)
            )
        )
        history = list(
            session.scalars(
                select(HistoryEvent)
                .where(HistoryEvent.instance_id == instance.id)
                .order_by(HistoryEvent.id)
            )
        )
        candidates = queries.candidates_of(session, [t.id for t in tasks])
        labels = _labels_held(ctx, session, instance)
        return InstanceDetail(instance, tasks, candidates, history, labels)


def _labels_held(ctx: AppContext, session: Session, instance: ProcessInstance) -> dict[str, str]:
    """The label of each variable holding a code its process version labels. The labels are a
    courtesy: a version whose stored spec the engine cannot restore (nothing else of the case's
    detail needs it) leaves them out rather than failing the whole answer."""
    variables = instance.variables or {}
    if not any(isinstance(v, str) for v in variables.values()):
        return {}
    try:
        labels = value_labels(ctx, session, instance.definition_id)
    except SQLAlchemyError:
        raise
    except Exception:
        log.warning(
            "no value labels for instance %s: the spec of %s cannot be restored",
            instance.id,
            instance.definition_id,
            exc_info=True,
        )
        return {}
    return {
        name: labels[name][value]
        for name, value in variables.items()
        if isinstance(value, str) and value in labels.get(name, {})
    }


def list_instances(
    ctx: AppContext,
    principal: Principal,
    *,
    definition_key: str | None,
    status: str | None,
    business_key: str | None,
    sort: str,
    limit: int,
    offset: int,
    ids: list[str] | None = None,
    definition_id: str | None = None,
    definition_keys: list[str] | None = None,
    business_key_like: str | None = None,
) -> tuple[list[ProcessInstance], int]:
    with UnitOfWork(ctx, reads=True) as uow:
        return queries.list_instances(
            uow.session,
            principal,
            definition_key=definition_key,
            status=status,
            business_key=business_key,
            sort=sort,
            limit=limit,
            offset=offset,
            ids=ids,
            definition_id=definition_id,
            definition_keys=definition_keys,
            business_key_like=business_key_like,
        )


def instance_brief(ctx: AppContext, instance_id: str) -> ProcessInstance:
    """An instance a message reached, for the sender's answer (no visibility check: the sender
    addressed it by business key already; variables are read through get_instance)."""
    with UnitOfWork(ctx) as uow:
        instance = uow.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"process instance {instance_id} does not exist")
    return instance


def message_target(ctx: AppContext, instance_id: str) -> tuple[str, str]:
    """The business key and process key a message to this instance is correlated by."""
    with UnitOfWork(ctx) as uow:
        row = uow.session.execute(
            select(ProcessInstance.business_key, ProcessInstance.definition_key).where(
                ProcessInstance.id == instance_id
            )
        ).first()
    if row is None:
        raise NotFound(f"process instance {instance_id} does not exist")
    return row[0], row[1]


def cancel_instance(
    ctx: AppContext, instance_id: str, principal: Principal, reason: str | None
) -> ProcessInstance:
    now = ctx.clock()
    with UnitOfWork(ctx, write=True) as uow:
        session = uow.session
        instance = visible_instance(session, instance_id, principal)
        if not (principal.is_admin or instance.started_by == principal.user_id):
            raise Forbidden("only the initiator or an admin may cancel an instance")
        instance = session.scalars(
            select(ProcessInstance)
            .where(ProcessInstance.id == instance_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        if instance.status != "active":
            raise InvalidState(
                f"the instance is {instance.status}; only active instances can be cancelled"
            )
        # Its user tasks, external tasks and message waits go, as a modification's cancel
        # withdraws them: no worker fetches its work, no message reaches it any more.
        projection.withdraw_open_work(
            session,
            instance,
            ctx.lanes,
            at=now,
            actor=principal.user_id,
            reason="instance cancelled",
        )
        instance.status = "cancelled"
        instance.ended_at = now
        projection.close_incidents(session, instance.id, at=now, by=principal.user_id)
        telemetry.count(session, telemetry.INSTANCES_ENDED, instance.definition_key, "cancelled")
        projection.record(
            session,
            instance,
            "instance_cancelled",
            at=now,
            actor=principal.user_id,
            details={"reason": reason},
        )
        uow.commit()
        return instance
