"""Read deployed process definitions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from bpmn_service.context import AppContext
from bpmn_service.db.models import ProcessDefinition
from bpmn_service.engine import FormField, json_schema
from bpmn_service.errors import NotFound
from bpmn_service.identity import Principal

from . import starters
from .uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class VersionInfo:
    id: str
    version: int
    name: str | None
    checksum: str
    resource_name: str
    deployment_id: str
    deployed_at: Any


@dataclass(frozen=True, slots=True)
class DefinitionInfo:
    key: str
    name: str | None
    latest_version: int
    versions: list[VersionInfo]
    start_form: dict[str, Any]
    startable: bool  # by the caller: the latest version's starters include them


_COLUMNS = (
    ProcessDefinition.id,
    ProcessDefinition.key,
    ProcessDefinition.version,
    ProcessDefinition.name,
    ProcessDefinition.checksum,
    ProcessDefinition.resource_name,
    ProcessDefinition.deployment_id,
    ProcessDefinition.deployed_at,
    ProcessDefinition.start_form,
    ProcessDefinition.starters,
)


def _group(rows: list[Any], may_start: Callable[[Any], bool]) -> list[DefinitionInfo]:
    by_key: dict[str, list[Any]] = {}
    for row in rows:
        by_key.setdefault(row.key, []).append(row)
    result = []
    for key, versions in sorted(by_key.items()):
        versions.sort(key=lambda r: r.version, reverse=True)
        latest = versions[0]
        result.append(
            DefinitionInfo(
                key=key,
                name=latest.name,
                latest_version=latest.version,
                versions=[
                    VersionInfo(
                        r.id,
                        r.version,
                        r.name,
                        r.checksum,
                        r.resource_name,
                        r.deployment_id,
                        r.deployed_at,
                    )
                    for r in versions
                ],
                start_form=json_schema([FormField.from_dict(f) for f in latest.start_form]),
                startable=may_start(latest.starters),
            )
        )
    return result


def _starter_check(ctx: AppContext, principal: Principal) -> Callable[[Any], bool]:
    groups = ctx.settings.default_starter_group_set
    return lambda declared: starters.may_start(declared, principal, groups)


def list_definitions(ctx: AppContext, principal: Principal) -> list[DefinitionInfo]:
    with UnitOfWork(ctx) as uow:
        rows = list(uow.session.execute(select(*_COLUMNS)))
    return _group(rows, _starter_check(ctx, principal))


def latest_version(ctx: AppContext, key: str) -> int:
    """The newest version of a process (for tools that act for no user)."""
    with UnitOfWork(ctx) as uow:
        newest = uow.session.scalar(
            select(func.max(ProcessDefinition.version)).where(ProcessDefinition.key == key)
        )
    if newest is None:
        raise NotFound(f"no process definition with key {key!r}")
    return int(newest)


def get_definition(ctx: AppContext, key: str, principal: Principal) -> DefinitionInfo:
    with UnitOfWork(ctx) as uow:
        rows = list(uow.session.execute(select(*_COLUMNS).where(ProcessDefinition.key == key)))
    if not rows:
        raise NotFound(f"no process definition with key {key!r}")
    return _group(rows, _starter_check(ctx, principal))[0]


def get_xml(ctx: AppContext, key: str, version: int | None) -> str:
    with UnitOfWork(ctx) as uow:
        stmt = select(ProcessDefinition.bpmn_xml).where(ProcessDefinition.key == key)
        if version is not None:
            stmt = stmt.where(ProcessDefinition.version == version)
        xml = uow.session.scalars(stmt.order_by(ProcessDefinition.version.desc()).limit(1)).first()
    if xml is None:
        which = f" version {version}" if version is not None else ""
        raise NotFound(f"no process definition with key {key!r}{which}")
    return xml


@dataclass(frozen=True, slots=True)
class VersionRow:
    """One deployed version of a process."""

    id: str
    key: str
    version: int
    name: str | None
    resource_name: str
    deployment_id: str
    deployed_at: datetime


_VERSION_COLUMNS = (
    ProcessDefinition.id,
    ProcessDefinition.key,
    ProcessDefinition.version,
    ProcessDefinition.name,
    ProcessDefinition.resource_name,
    ProcessDefinition.deployment_id,
    ProcessDefinition.deployed_at,
)
_OTHER = aliased(ProcessDefinition)


@dataclass(frozen=True, slots=True)
class DefinitionQuery:
    """Filters over deployed process versions (Camunda's process-definition query)."""

    ids: list[str] | None = None
    key: str | None = None
    keys: list[str] | None = None
    key_like: str | None = None
    name: str | None = None
    name_like: str | None = None
    version: int | None = None
    latest_only: bool = False
    deployment_id: str | None = None
    resource_name: str | None = None
    resource_name_like: str | None = None


DEFINITION_SORTS = {
    "id": ProcessDefinition.id,
    "key": ProcessDefinition.key,
    "name": ProcessDefinition.name,
    "version": ProcessDefinition.version,
    "deployment_id": ProcessDefinition.deployment_id,
    "deployed_at": ProcessDefinition.deployed_at,
}


def find_versions(
    ctx: AppContext,
    query: DefinitionQuery,
    *,
    sort: str = "key",
    descending: bool = False,
    limit: int,
    offset: int,
) -> tuple[list[VersionRow], int]:
    """Process versions matching the query; `*_like` filters use SQL LIKE patterns."""
    stmt = select(*_VERSION_COLUMNS)
    column: Any
    for column, value in (
        (ProcessDefinition.key, query.key),
        (ProcessDefinition.name, query.name),
        (ProcessDefinition.version, query.version),
        (ProcessDefinition.deployment_id, query.deployment_id),
        (ProcessDefinition.resource_name, query.resource_name),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    for column, pattern in (
        (ProcessDefinition.key, query.key_like),
        (ProcessDefinition.name, query.name_like),
        (ProcessDefinition.resource_name, query.resource_name_like),
    ):
        if pattern is not None:
            stmt = stmt.where(column.like(pattern))
    if query.ids is not None:
        stmt = stmt.where(ProcessDefinition.id.in_(query.ids))
    if query.keys is not None:
        stmt = stmt.where(ProcessDefinition.key.in_(query.keys))
    if query.latest_only:
        newest = (
            select(func.max(_OTHER.version)).where(_OTHER.key == ProcessDefinition.key)
        ).scalar_subquery()
        stmt = stmt.where(ProcessDefinition.version == newest)
    order: Any = DEFINITION_SORTS[sort]
    with UnitOfWork(ctx) as uow:
        total = uow.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        if limit == 0:
            return [], total
        ordered = stmt.order_by(order.desc() if descending else order.asc(), ProcessDefinition.id)
        rows = uow.session.execute(ordered.limit(limit).offset(offset))
        return [VersionRow(*r) for r in rows], total


def get_version(ctx: AppContext, definition_id: str) -> VersionRow:
    with UnitOfWork(ctx) as uow:
        row = uow.session.execute(
            select(*_VERSION_COLUMNS).where(ProcessDefinition.id == definition_id)
        ).first()
    if row is None:
        raise NotFound(f"no process definition with id {definition_id!r}")
    return VersionRow(*row)


def get_version_xml(ctx: AppContext, definition_id: str) -> str:
    with UnitOfWork(ctx) as uow:
        xml = uow.session.scalar(
            select(ProcessDefinition.bpmn_xml).where(ProcessDefinition.id == definition_id)
        )
    if xml is None:
        raise NotFound(f"no process definition with id {definition_id!r}")
    return xml
