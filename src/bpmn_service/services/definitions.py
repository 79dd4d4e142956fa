"""Read deployed process definitions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bpmn_service.context import AppContext
from bpmn_service.db.models import ProcessDefinition
from bpmn_service.engine import FormField, json_schema
from bpmn_service.errors import NotFound

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
)


def _group(rows: list[Any]) -> list[DefinitionInfo]:
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
            )
        )
    return result


def list_definitions(ctx: AppContext) -> list[DefinitionInfo]:
    with UnitOfWork(ctx) as uow:
        return _group(list(uow.session.execute(select(*_COLUMNS))))


def get_definition(ctx: AppContext, key: str) -> DefinitionInfo:
    with UnitOfWork(ctx) as uow:
        rows = list(uow.session.execute(select(*_COLUMNS).where(ProcessDefinition.key == key)))
    if not rows:
        raise NotFound(f"no process definition with key {key!r}")
    return _group(rows)[0]


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
