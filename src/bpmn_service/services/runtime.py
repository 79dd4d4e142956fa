"""Inside-a-transaction operations shared by the use cases: start, lock, settle and correlate.

`settle` is the one place where an engine run becomes database state: it projects tasks, external
tasks, subscriptions and timers, then follows the run's consequences in the same transaction:
buffered messages the instance now waits for are delivered, and messages the process threw are
correlated (to a waiting instance, a process started by that message, or the buffer).
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from bpmn_service.context import AppContext
from bpmn_service.db.models import (
    Message,
    MessageSubscription,
    ProcessDefinition,
    ProcessInstance,
    Task,
)
from bpmn_service.engine import BudgetExceeded, FormField, NotWaiting, RunResult, validate
from bpmn_service.errors import (
    Conflict,
    DuplicateBusinessKey,
    Invalid,
    InvalidState,
    NotFound,
    WorkflowFailed,
)

from . import clocks, projection, telemetry
from .contracts import ESCALATION_MESSAGE, check_message_variables
from .stuck_cases import note_if_stuck

# A message chain (deliver → the process throws → deliver …) longer than this is a modelling loop.
MAX_CHAIN = 20
DEFAULT_BUFFER = timedelta(days=30)
# The depth limit alone lets a process that throws two messages per start fan out to 2**20
# starts in one transaction; the cascade's total is bounded too (session.info key).
CASCADE = "bpmn_message_cascade"


class CascadeExceeded(BudgetExceeded):
    """The messages one transaction delivered (thrown by processes, delivered or starting
    processes, …) exceeded the cascade's budget; nothing of the transaction is kept."""


class CascadeMeter:
    """The work of one transaction's message cascade: the deliveries it made and the time since
    its first run settled, against `message_cascade_max` and the run budget's seconds (the whole
    cascade, not each of its runs)."""

    def __init__(self, max_deliveries: int, max_seconds: float) -> None:
        self.max_deliveries = max_deliveries
        self.max_seconds = max_seconds
        self.deliveries = 0
        self.started = time.monotonic()
        # The element of the first throw: the request's (or timer's) own case threw it, so a
        # refusal or an incident names it, not an element of a process further down the cascade.
        self.first_element: str | None = None

    def deliver(self, name: str, element: str | None) -> None:
        """Count one delivery of message `name` (thrown at `element`), or fail the cascade."""
        if self.deliveries == 0:
            self.first_element = element
        self.deliveries += 1
        if self.deliveries > self.max_deliveries:
            what, limit = f"needed more than {self.max_deliveries} message deliveries", "messages"
        elif time.monotonic() - self.started > self.max_seconds:
            what = f"took longer than {self.max_seconds:g} s ({self.deliveries - 1} deliveries)"
            limit = "seconds"
        else:
            return
        at = f" at element {element}" if element else ""
        first = f" (the first thrown at element {self.first_element})" if self.first_element else ""
        raise CascadeExceeded(
            f"the messages thrown by this run and the runs they caused {what}, the last of "
            f"message {name!r} thrown"
            f"{at}{first}; all of it was rolled back. Processes whose thrown messages start or "
            f"reach processes that throw again can fan out without end: check the models' "
            f"message flows",
            self.first_element or element,
            limit,
        )


def cascade_meter(ctx: AppContext, session: Session) -> CascadeMeter:
    """The message cascade of `session`'s transaction (begun at its first call)."""
    meter = session.info.get(CASCADE)
    if meter is None:
        meter = CascadeMeter(ctx.settings.message_cascade_max, ctx.runner.budget.max_seconds)
        session.info[CASCADE] = meter
    return meter


@dataclass
class Settled:
    """What one transaction changed, for the response."""

    created_tasks: list[Task] = field(default_factory=list)
    started: list[ProcessInstance] = field(default_factory=list)


# A start reads neither the BPMN text nor the spec JSON unless it needs them (the engine's spec
# cache missed, or the declared time limits are read for the first time): they are loaded then.
_TEXTS_DEFERRED = (defer(ProcessDefinition.bpmn_xml), defer(ProcessDefinition.spec_json))


def latest_definition(session: Session, key: str) -> ProcessDefinition:
    definition = session.scalars(
        select(ProcessDefinition)
        .where(ProcessDefinition.key == key)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
        .options(*_TEXTS_DEFERRED)
    ).first()
    if definition is None:
        raise NotFound(f"no process definition with key {key!r}")
    return definition


def definition_version(session: Session, definition_id: str) -> ProcessDefinition:
    definition = session.get(ProcessDefinition, definition_id, options=_TEXTS_DEFERRED)
    if definition is None:
        raise NotFound(f"no process definition with id {definition_id!r}")
    return definition


_LOCK_INSTANCE = (  # built once: building it costs more than running it
    select(ProcessInstance)
    .where(ProcessInstance.id == bindparam("instance_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


def lock_instance(session: Session, instance_id: str) -> ProcessInstance:
    """The instance row, locked for this transaction (one writer per instance)."""
    instance = session.scalars(_LOCK_INSTANCE, {"instance_id": instance_id}).first()
    if instance is None:
        raise NotFound(f"process instance {instance_id} does not exist")
    return instance


@contextmanager
def run_of(instance: ProcessInstance) -> Iterator[None]:
    """An engine run of `instance`: a failure says which instance it was (for its incident)."""
    try:
        yield
    except WorkflowFailed as exc:
        exc.instance_id = exc.instance_id or instance.id
        raise


def duplicate(key: str, business_key: str, existing: str | None) -> DuplicateBusinessKey:
    return DuplicateBusinessKey(
        f"an instance of {key!r} with business key {business_key!r} already exists",
        details={"instance_id": existing, "business_key": business_key},
    )


def create_instance(
    ctx: AppContext,
    session: Session,
    definition: ProcessDefinition,
    business_key: str,
    values: dict[str, Any],
    *,
    actor: str,
    now: datetime,
    message: tuple[str, dict[str, Any]] | None = None,
    depth: int = 0,
) -> tuple[ProcessInstance, Settled]:
    """Start an instance (optionally by a start message) and settle it."""
    existing = session.scalar(
        select(ProcessInstance.id).where(
            ProcessInstance.definition_key == definition.key,
            ProcessInstance.business_key == business_key,
        )
    )
    if existing is not None:
        raise duplicate(definition.key, business_key, existing)
    data = {**values, "businessKey": business_key, "initiator": actor}
    load = lambda: definition.spec_json  # noqa: E731 - the spec JSON is already loaded
    result = ctx.runner.start(definition.id, load, data, now=now)
    waiting_starts = {w.message_name for w in result.waits} & set(definition.message_starts or [])
    if message is None and len(waiting_starts) == 1 and not result.ready_tasks:
        # A process that only a message starts is started over REST with that message.
        message = (waiting_starts.pop(), values)
    if message is not None:
        result = ctx.runner.deliver_message(
            definition.id, load, result.state, message[0], message[1], now=now
        )
    # The row starts with what the projection would set, so that no UPDATE follows its INSERT.
    columns = {"category": None, **projection.run_columns(result)}
    instance = ProcessInstance(
        id=str(uuid.uuid4()),
        definition_id=definition.id,
        definition_key=definition.key,
        version=definition.version,
        business_key=business_key,
        status="active",
        started_at=now,
        started_by=actor,
        ended_at=None,
        **columns,
    )
    session.add(instance)
    details: dict[str, Any] = {"version": definition.version, "variables": values}
    if message is not None:
        details["message"] = message[0]
    projection.record(session, instance, "instance_started", at=now, actor=actor, details=details)
    telemetry.count(session, telemetry.INSTANCES_STARTED, definition.key)
    key = definition.key  # read before a failed flush expires the loaded rows
    try:
        session.flush()
    except IntegrityError:
        raise duplicate(key, business_key, None) from None
    session.info.setdefault(projection.NEW_INSTANCES, set()).add(instance.id)
    settled = settle(ctx, session, instance, result, at=now, actor=actor, depth=depth)
    settled.started.insert(0, instance)
    return instance, settled


def settle(
    ctx: AppContext,
    session: Session,
    instance: ProcessInstance,
    result: RunResult,
    *,
    at: datetime,
    actor: str | None,
    depth: int = 0,
    open_work: projection.OpenWork | None = None,
    withdraw_reason: str | None = None,
) -> Settled:
    """Project a run of `instance` and what follows from it (buffered messages, time-limit
    clocks, thrown messages); `open_work`: what the instance had open, just read by the caller
    (projection.close_task); `withdraw_reason`: why the tasks the run no longer has went (a
    modification's reason), recorded on them instead of "withdrawn by the engine"."""
    if depth > MAX_CHAIN:
        raise Conflict("messages between instances loop; check the models' message flows")
    meter = cascade_meter(ctx, session)
    settled = Settled(
        projection.apply(
            session,
            instance,
            result,
            ctx.lanes,
            at=at,
            actor=actor,
            open_work=open_work,
            withdraw_reason=withdraw_reason,
        )
    )
    thrown = list(result.thrown)
    finished = list(result.finished)
    # The instance's subscriptions are now its run's waits: without any, no buffered message
    # can be for it (and the query is skipped).
    while instance.status == "active" and result.waits:
        pending = _buffered_for(session, instance, at)
        if pending is None:
            break
        with run_of(instance):
            result = ctx.runner.deliver_message(
                instance.definition_id,
                lambda: _spec_json(session, instance.definition_id),
                instance.state,
                pending.message_name,
                pending.variables,
                now=at,
            )
        pending.status, pending.instance_id, pending.delivered_at = "delivered", instance.id, at
        projection.record(
            session,
            instance,
            "message_received",
            at=at,
            actor=pending.sender,
            details={
                "message": pending.message_name,
                "message_id": pending.id,
                "buffered_since": pending.received_at.isoformat(),
            },
        )
        settled.created_tasks += projection.apply(
            session, instance, result, ctx.lanes, at=at, actor=actor
        )
        thrown += result.thrown
        finished += result.finished
    settled.created_tasks += _run_clocks(ctx, session, instance, finished, result, at=at)
    for message in thrown:
        projection.record(
            session,
            instance,
            "message_thrown",
            at=at,
            actor=None,
            element_id=message.element_id,
            details={"message": message.name, "business_key": message.business_key},
        )
        if message.business_key is None:
            continue
        try:
            meter.deliver(message.name, message.element_id)
        except CascadeExceeded as exc:
            _blame_root(exc, instance, depth)
            raise
        try:
            with session.begin_nested():
                outcome = correlate(
                    ctx,
                    session,
                    name=message.name,
                    business_key=message.business_key,
                    definition_key=None,
                    correlation={},
                    variables=message.variables,
                    sender=f"instance:{instance.id}",
                    message_id=f"{instance.id}:{uuid.uuid4()}",
                    buffer_for=DEFAULT_BUFFER,
                    now=at,
                    depth=depth + 1,
                )
        except CascadeExceeded as exc:
            _blame_root(exc, instance, depth)
            raise  # the whole transaction goes, not just this delivery
        except (NotFound, Conflict, Invalid) as exc:
            # The sender's step stands; the undeliverable message is recorded for operators.
            projection.record(
                session,
                instance,
                "message_undeliverable",
                at=at,
                actor=None,
                element_id=message.element_id,
                details={"message": message.name, "reason": exc.message},
            )
            continue
        settled.created_tasks += outcome.settled.created_tasks
        settled.started += outcome.settled.started
    load = functools.partial(_spec_json, session, instance.definition_id)
    note_if_stuck(ctx, session, instance, result, load=load, at=at, actor=actor)
    return settled


def _blame_root(exc: CascadeExceeded, instance: ProcessInstance, depth: int) -> None:
    """The incident of a failed cascade is the instance whose run began it (when that instance
    existed before the transaction: the instances the cascade started are rolled back)."""
    if depth == 0:
        exc.instance_id = instance.id


def _run_clocks(
    ctx: AppContext,
    session: Session,
    instance: ProcessInstance,
    finished: list[str],
    last: RunResult,
    *,
    at: datetime,
) -> list[Task]:
    """The declared time limits' clocks after this transaction's runs (clocks.py): withdraw the
    escalations of stopped clocks, start those of breached ones; return the tasks created."""
    actions = clocks.track(ctx, session, instance, finished, last, at=at)
    return follow_clocks(ctx, session, instance, actions, at=at)


def follow_clocks(
    ctx: AppContext,
    session: Session,
    instance: ProcessInstance,
    actions: clocks.Actions,
    *,
    at: datetime,
) -> list[Task]:
    """Do what the clocks ask of the engine and reschedule the instance's next instant."""
    created: list[Task] = []
    for task_id in actions.withdraw:
        if instance.status != "active":
            break
        result = ctx.runner.withdraw_event_subprocess(
            instance.definition_id,
            lambda: _spec_json(session, instance.definition_id),
            instance.state,
            task_id,
            now=at,
        )
        created += projection.apply(session, instance, result, ctx.lanes, at=at, actor=None)
    for clock in actions.escalate:
        if instance.status != "active":
            break
        try:
            result = ctx.runner.deliver_message(
                instance.definition_id,
                lambda: _spec_json(session, instance.definition_id),
                instance.state,
                ESCALATION_MESSAGE,
                clocks.escalation_payload(instance, clock),
                now=at,
            )
        except NotWaiting:
            continue  # the process draws no escalation: the breach is in the history only
        escalation = projection.apply(session, instance, result, ctx.lanes, at=at, actor=None)
        clocks.escalated(clock, escalation)
        created += escalation
    clocks.schedule(session, instance)
    return created


def _spec_json(session: Session, definition_id: str) -> str:
    spec = session.scalar(
        select(ProcessDefinition.spec_json).where(ProcessDefinition.id == definition_id)
    )
    if spec is None:
        raise NotFound(f"process definition {definition_id} does not exist")
    return spec


def _buffered_for(session: Session, instance: ProcessInstance, at: datetime) -> Message | None:
    waiting = select(MessageSubscription.message_name).where(
        MessageSubscription.instance_id == instance.id
    )
    return session.scalars(
        select(Message)
        .where(
            Message.status == "buffered",
            Message.business_key == instance.business_key,
            Message.message_name.in_(waiting),
            (Message.definition_key.is_(None))
            | (Message.definition_key == instance.definition_key),
            (Message.expires_at.is_(None)) | (Message.expires_at > at),
        )
        .order_by(Message.received_at, Message.id)
        .limit(1)
        .with_for_update()
    ).first()


@dataclass
class Correlation:
    status: str  # delivered | started | buffered
    instance_id: str | None
    settled: Settled = field(default_factory=Settled)


def correlate(
    ctx: AppContext,
    session: Session,
    *,
    name: str,
    business_key: str | None,
    definition_key: str | None,
    correlation: dict[str, Any],
    variables: dict[str, Any],
    sender: str,
    message_id: str,
    buffer_for: timedelta,
    now: datetime,
    depth: int = 0,
) -> Correlation:
    """Deliver a message to the one instance waiting for it, start a process it starts, or
    buffer it for an existing instance that does not wait for it yet."""
    waiting = _waiting_instances(session, name, business_key, definition_key, correlation)
    if len(waiting) > 1:
        raise Conflict(
            f"message {name!r} matches {len(waiting)} waiting instances; give a business key "
            f"or process key that selects one",
            details={"instance_ids": sorted(waiting)},
        )
    if waiting:
        instance = lock_instance(session, waiting[0])
        if instance.status != "active":
            raise InvalidState(f"the instance is {instance.status}")
        check_message_variables(session, instance.definition_id, name, variables)
        with run_of(instance):
            result = ctx.runner.deliver_message(
                instance.definition_id,
                lambda: _spec_json(session, instance.definition_id),
                instance.state,
                name,
                variables,
                now=now,
            )
        projection.record(
            session,
            instance,
            "message_received",
            at=now,
            actor=sender,
            details={"message": name, "message_id": message_id, "variables": variables},
        )
        settled = settle(ctx, session, instance, result, at=now, actor=sender, depth=depth)
        return Correlation("delivered", instance.id, settled)
    starter = _starting_definition(session, name, definition_key)
    if starter is not None and business_key is not None:
        check_message_variables(session, starter.id, name, variables)
        fields = [FormField.from_dict(f) for f in starter.start_form]
        values = validate(fields, variables) if fields else dict(variables)
        instance, settled = create_instance(
            ctx,
            session,
            starter,
            business_key,
            values,
            actor=sender,
            now=now,
            message=(name, values),
            depth=depth,
        )
        return Correlation("started", instance.id, settled)
    target = _instances_by_key(session, business_key, definition_key, correlation)
    if not target:
        what = f"business key {business_key!r}" if business_key else f"correlation {correlation}"
        raise NotFound(
            f"no active instance with {what} waits for or can receive message "
            f"{name!r}, and no process starts with it"
        )
    if len(target) > 1:
        raise Conflict(
            f"message {name!r} matches {len(target)} instances; give a process key",
            details={"instance_ids": sorted(target)},
        )
    definition_id = session.scalar(
        select(ProcessInstance.definition_id).where(ProcessInstance.id == target[0])
    )
    if definition_id is not None:
        check_message_variables(session, definition_id, name, variables)
    if buffer_for <= timedelta(0):
        raise InvalidState(
            f"instance {target[0]} is not waiting for message {name!r} and the "
            f"message may not be buffered (ttl_seconds=0)"
        )
    session.add(
        Message(
            id=message_id,
            message_name=name,
            business_key=_business_key_of(session, target[0]),
            definition_key=definition_key,
            correlation=correlation,
            variables=variables,
            request_hash="",
            status="buffered",
            instance_id=None,
            received_at=now,
            expires_at=now + buffer_for,
            delivered_at=None,
            sender=sender,
        )
    )
    return Correlation("buffered", target[0])


def _waiting_instances(
    session: Session,
    name: str,
    business_key: str | None,
    definition_key: str | None,
    correlation: dict[str, Any],
) -> list[str]:
    stmt = select(MessageSubscription.instance_id).where(MessageSubscription.message_name == name)
    if business_key is not None:
        stmt = stmt.where(MessageSubscription.business_key == business_key)
    if definition_key is not None:
        stmt = stmt.where(MessageSubscription.definition_key == definition_key)
    ids = sorted(set(session.scalars(stmt)))
    return _matching(session, ids, correlation)


def _instances_by_key(
    session: Session,
    business_key: str | None,
    definition_key: str | None,
    correlation: dict[str, Any],
) -> list[str]:
    if business_key is None and not correlation:
        return []
    stmt = select(ProcessInstance.id).where(ProcessInstance.status == "active")
    if business_key is not None:
        stmt = stmt.where(ProcessInstance.business_key == business_key)
    if definition_key is not None:
        stmt = stmt.where(ProcessInstance.definition_key == definition_key)
    return _matching(session, sorted(session.scalars(stmt)), correlation)


def _matching(session: Session, ids: list[str], correlation: dict[str, Any]) -> list[str]:
    if not correlation or not ids:
        return ids
    rows = session.execute(
        select(ProcessInstance.id, ProcessInstance.variables).where(ProcessInstance.id.in_(ids))
    )
    return [
        i for i, variables in rows if all(variables.get(k) == v for k, v in correlation.items())
    ]


def _business_key_of(session: Session, instance_id: str) -> str | None:
    return session.scalar(
        select(ProcessInstance.business_key).where(ProcessInstance.id == instance_id)
    )


def _starting_definition(
    session: Session, name: str, definition_key: str | None
) -> ProcessDefinition | None:
    """The latest version of the one process whose start event waits for this message."""
    latest: dict[str, ProcessDefinition] = {}
    stmt = select(ProcessDefinition)
    if definition_key is not None:
        stmt = stmt.where(ProcessDefinition.key == definition_key)
    for row in session.scalars(stmt.order_by(ProcessDefinition.version)):
        latest[row.key] = row
    starters = [d for d in latest.values() if name in (d.message_starts or [])]
    if len(starters) > 1:
        raise Conflict(
            f"message {name!r} starts several processes; give a process key",
            details={"process_keys": sorted(d.key for d in starters)},
        )
    return starters[0] if starters else None
