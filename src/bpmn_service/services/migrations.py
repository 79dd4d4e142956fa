"""Migrating running cases from one version of a process to another (Camunda's migration plans).

A dry run reports, per instance, which active elements map where and which cannot and why, and
changes nothing. A real run migrates each instance in its own transaction under its row lock: it
fully happens or that instance stays as it was, and the batch reports every instance. Task ids,
variables and the history survive; the history records the migration with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpmn_service.context import AppContext
from bpmn_service.db.models import (
    ExternalTask,
    MessageSubscription,
    ProcessDefinition,
    ProcessInstance,
    Task,
)
from bpmn_service.engine import RunResult
from bpmn_service.errors import FieldError, Invalid, InvalidMapping, NotFound, ServiceError
from bpmn_service.identity import Principal

from . import projection, run_incidents, runtime
from .instances import spec_loader
from .repairs import check_reason, require_supervisor
from .uow import UnitOfWork

MAX_INSTANCES = 500


@dataclass
class InstanceMigration:
    instance_id: str
    business_key: str | None
    ok: bool
    migrated: bool = False
    mapped: list[dict[str, str]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    started: list[dict[str, str]] = field(default_factory=list)
    dropped: list[dict[str, str]] = field(default_factory=list)
    # Open tasks the migration gives another element, name, lane, candidates, priority, dates or
    # claim: {"task_id", "element_id", "changes": [{"field", "old", "new"}]}, the changes as the
    # history's task_reassigned_by_migration lists them (a withdrawn claim: field assignee).
    reassigned: list[dict[str, Any]] = field(default_factory=list)
    # Joins of the target the case would wait in for good (engine.migration.unreachable_branches):
    # warnings, not problems; the case migrates all the same.
    warnings: list[dict[str, str]] = field(default_factory=list)


@dataclass
class MigrationRun:
    dry_run: bool
    source: ProcessDefinition
    target: ProcessDefinition
    results: list[InstanceMigration]


def migrate_instances(
    ctx: AppContext,
    principal: Principal,
    *,
    source: tuple[str, int],
    target: tuple[str, int],
    instance_ids: list[str] | None,
    business_key_like: str | None,
    mapping: dict[str, str],
    dry_run: bool,
    reason: str,
) -> MigrationRun:
    require_supervisor(principal)
    text = check_reason(reason)
    with UnitOfWork(ctx) as uow:
        session = uow.session
        old = _definition(session, *source)
        new = _definition(session, *target)
        if old.key != new.key:
            raise Invalid(
                f"instances move between versions of one process; {old.key!r} and {new.key!r} "
                f"are different processes"
            )
        if old.id == new.id:
            raise Invalid(
                f"source and target are the same version ({old.key} version {old.version}): a "
                f"migration moves cases to another version of their process",
                details={
                    "source": {"key": old.key, "version": old.version},
                    "target": {"key": new.key, "version": new.version},
                },
            )
        _check_mapping(ctx, session, old, new, mapping)
        ids = _selected(session, old, instance_ids, business_key_like)
    results = [
        _one(ctx, principal, instance_id, old, new, mapping, dry_run, text) for instance_id in ids
    ]
    return MigrationRun(dry_run, old, new, results)


def _check_mapping(
    ctx: AppContext,
    session: Session,
    old: ProcessDefinition,
    new: ProcessDefinition,
    mapping: dict[str, str],
) -> None:
    """Every mapped element must exist: its source in the source version, its target in the
    target version."""
    source = ctx.runner.element_names(old.id, spec_loader(session, old.id))
    target = ctx.runner.element_names(new.id, spec_loader(session, new.id))
    errors = [
        FieldError(f"mapping.{k}", f"{k} is not an element of version {old.version}")
        for k in mapping
        if k not in source
    ] + [
        FieldError(f"mapping.{k}", f"{v} is not an element of version {new.version}")
        for k, v in mapping.items()
        if v not in target
    ]
    if errors:
        raise InvalidMapping(errors)


def _definition(session: Session, key: str, version: int) -> ProcessDefinition:
    found = session.scalars(
        select(ProcessDefinition).where(
            ProcessDefinition.key == key, ProcessDefinition.version == version
        )
    ).first()
    if found is None:
        raise NotFound(f"process {key!r} has no version {version}")
    return found


def _selected(
    session: Session,
    source: ProcessDefinition,
    instance_ids: list[str] | None,
    business_key_like: str | None,
) -> list[str]:
    stmt = select(ProcessInstance.id).where(ProcessInstance.definition_id == source.id)
    if instance_ids is not None:
        # Named instances are all reported, also those not (or no longer) on the source version.
        return list(dict.fromkeys(instance_ids))
    stmt = stmt.where(ProcessInstance.status == "active")
    if business_key_like is not None:
        stmt = stmt.where(ProcessInstance.business_key.like(business_key_like))
    ids = list(session.scalars(stmt.order_by(ProcessInstance.started_at, ProcessInstance.id)))
    if len(ids) > MAX_INSTANCES:
        raise Invalid(
            f"{len(ids)} instances match; migrate at most {MAX_INSTANCES} per request (narrow "
            f"it with instance_ids or filter.business_key_like)"
        )
    return ids


def _one(
    ctx: AppContext,
    principal: Principal,
    instance_id: str,
    old: ProcessDefinition,
    new: ProcessDefinition,
    mapping: dict[str, str],
    dry_run: bool,
    reason: str,
) -> InstanceMigration:
    now = ctx.clock()
    report = InstanceMigration(instance_id, None, ok=False)
    try:
        with UnitOfWork(ctx, write=not dry_run) as uow:
            session = uow.session
            instance = (
                session.get(ProcessInstance, instance_id)
                if dry_run
                else runtime.lock_instance(session, instance_id)
            )
            if instance is None:
                raise NotFound(f"process instance {instance_id} does not exist")
            report.business_key = instance.business_key
            if instance.status != "active" or instance.definition_id != old.id:
                raise Invalid(
                    f"the instance is {instance.status} on {instance.definition_key} version "
                    f"{instance.version}, not an active instance of {old.key} version "
                    f"{old.version}"
                )
            found, result = ctx.runner.migrate(
                (old.id, spec_loader(session, old.id)),
                (new.id, spec_loader(session, new.id)),
                instance.state,
                mapping,
                now=now,
                dry_run=dry_run,
            )
            report.mapped = found.mapped
            report.started = found.started
            report.dropped = found.dropped
            report.problems = [
                {"element_id": p.element_id, "message": p.message} for p in found.problems
            ]
            report.warnings = found.warnings
            report.ok = found.ok
            if result is None:
                return report
            if dry_run:
                # The tasks of the migrated copy against the rows, as the real run realigns them.
                report.reassigned = [
                    r.report()
                    for r in projection.realignments(
                        session, instance, result.ready_tasks, ctx.lanes, ctx.users.groups_of
                    )
                    if r.changes
                ]
                return report
            _repoint(session, instance, new, result)
            report.reassigned = projection.realign_tasks(
                session,
                instance,
                result.ready_tasks,
                ctx.lanes,
                ctx.users.groups_of,
                at=now,
                actor=principal.user_id,
                reason=reason,
            )
            projection.record(
                session,
                instance,
                "instance_migrated",
                at=now,
                actor=principal.user_id,
                details={
                    "reason": reason,
                    "from_version": old.version,
                    "to_version": new.version,
                    "mapping": mapping,
                    "mapped": found.mapped,
                    "started": found.started,
                    "dropped": found.dropped,
                    "warnings": found.warnings,
                },
            )
            # Closed first: the migrated case may be stuck anew (a join waiting for a branch
            # the target added after the point the case had passed).
            run_incidents.resolve_open(session, instance.id, at=now, by=principal.user_id)
            runtime.settle(ctx, session, instance, result, at=now, actor=principal.user_id)
            uow.commit()
            report.migrated = True
            return report
    except ServiceError as exc:
        element = exc.details.get("element") if isinstance(exc.details, dict) else None
        report.ok = False
        report.migrated = False
        report.reassigned = []
        report.problems.append({"element_id": element, "message": exc.message})
        return report


def _repoint(
    session: Session, instance: ProcessInstance, target: ProcessDefinition, result: RunResult
) -> None:
    """The instance and its open work rows now belong to the target version (same task ids)."""
    instance.definition_id = target.id
    instance.version = target.version
    # What else a user task of the target's element has is projection.realign_tasks's.
    for row in session.scalars(select(Task).where(Task.instance_id == instance.id)):
        row.definition_id = target.id
    external = {w.id: w for w in result.external_tasks}
    for ext in session.scalars(select(ExternalTask).where(ExternalTask.instance_id == instance.id)):
        ext.definition_id = target.id
        work = external.get(ext.id)
        if work is not None:
            ext.element_id, ext.name = work.element_id, work.name
    waits = {w.task_id: w for w in result.waits}
    for sub in session.scalars(
        select(MessageSubscription).where(MessageSubscription.instance_id == instance.id)
    ):
        wait = waits.get(sub.task_id)
        if wait is not None:
            sub.element_id = wait.element_id
