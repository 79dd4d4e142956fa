"""Deploy BPMN files: validate all, de-duplicate by checksum, allocate the next version."""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bpmn_service.context import AppContext
from bpmn_service.db.models import Deployment, ProcessDefinition
from bpmn_service.engine import CheckContext, CompiledProcess, check_bpmn
from bpmn_service.errors import BpmnProblem, Conflict, Forbidden, Invalid, InvalidBpmn, NotFound
from bpmn_service.identity import Principal

from .limit_checks import declaration_problems
from .scenario_drift import unknown_steps
from .stranded_cases import stranded
from .uow import UnitOfWork

MAX_FILES = 50
NUL_IN_TEXT = "contains a NUL character (PostgreSQL cannot store one in text)"


def nul_refused(fields: list[str]) -> Invalid:
    """422 naming each upload field (a file name, the deployment's name) with a NUL in it."""
    return Invalid(
        "; ".join(f"{field} {NUL_IN_TEXT}" for field in fields),
        details=[{"field": field, "message": NUL_IN_TEXT} for field in fields],
    )


DEPLOY_ATTEMPTS = 3

# The deployment a server makes of processes/ when it starts (main.py).
STARTUP = "startup"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BpmnFile:
    filename: str
    content: bytes


@dataclass(frozen=True, slots=True)
class DeployedDefinition:
    id: str
    key: str
    version: int
    name: str | None
    resource_name: str
    created: bool
    deployment_id: str
    deployed_at: datetime


@dataclass(frozen=True, slots=True)
class DeploymentResult:
    id: str | None
    name: str
    definitions: list[DeployedDefinition]
    # What the files deploy with all the same (layout, ignored Camunda attributes, lanes): the
    # answer says what an analyst should change.
    warnings: list[BpmnProblem] = field(default_factory=list)
    # A directory's deployment (start-up) only: each file it left out, with the file's findings
    # (its errors, then its warnings).
    refused: dict[str, list[BpmnProblem]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Review:
    """Every finding of a set of files: deployable when there is no error."""

    compiled: list[CompiledProcess]
    errors: list[BpmnProblem]
    warnings: list[BpmnProblem]


@dataclass(frozen=True, slots=True)
class PlannedDefinition:
    key: str
    name: str | None
    version: int  # what a deployment now would give it (the current one when unchanged)


@dataclass(frozen=True, slots=True)
class DryRun:
    valid: bool
    problems: list[BpmnProblem]
    warnings: list[BpmnProblem]
    processes: list[PlannedDefinition]


@dataclass(frozen=True, slots=True)
class DeploymentInfo:
    id: str
    name: str
    source: str
    deployed_at: datetime
    deployed_by: str


def check_context(ctx: AppContext) -> CheckContext:
    """What the checks know of this installation: its lane groups and users."""
    lanes = ctx.lanes
    return CheckContext(lanes.groups_for, ctx.users.user_ids, ctx.users.group_ids, lanes.hint_for)


def review_files(ctx: AppContext, files: list[BpmnFile], part: str = "files") -> Review:
    """Check every file; the errors and warnings of all of them, and what compiled. `part` is
    the upload's field, to name a file whose name is refused."""
    if not files:
        raise Invalid("no BPMN file was given")
    if len(files) > MAX_FILES:
        raise Invalid(f"at most {MAX_FILES} files may be deployed at once")
    # Upload bodies are binary and skip the request's NUL check; the names are stored as text.
    named = [f"{part}[{i}]" for i, f in enumerate(files) if "\x00" in f.filename]
    if named:
        raise nul_refused(named)
    context = check_context(ctx)
    errors: list[BpmnProblem] = []
    warnings: list[BpmnProblem] = []
    compiled: list[CompiledProcess] = []
    seen: dict[str, str] = {}
    for f in files:
        process, findings = check_bpmn(f.content, f.filename, context)
        errors.extend(p for p in findings if p.is_error)
        warnings.extend(p for p in findings if not p.is_error)
        if process is None:
            continue
        declared = declaration_problems(ctx.time_limits, f.content, process.key, f.filename)
        if declared:  # declared time limits that name no row of the limit table
            errors.extend(declared)
            continue
        if process.key in seen:
            errors.append(defined_twice(process.key, f.filename, seen[process.key]))
        seen[process.key] = f.filename
        compiled.append(process)
        warnings.extend(unknown_steps(ctx.settings.simulation_scenario_file, process, f.filename))
    return Review(compiled, errors, warnings)


def defined_twice(key: str, filename: str, first: str) -> BpmnProblem:
    """Two files of one upload (or one `check`) define the same process."""
    return BpmnProblem(
        f"process {key!r} is also defined in {first}",
        filename,
        code="structure.process",
        hint="deploy each process from one file only",
    )


def check_files(
    ctx: AppContext, files: list[BpmnFile], part: str = "files"
) -> list[CompiledProcess]:
    """Compile every file; raise one InvalidBpmn listing the errors of all of them."""
    review = review_files(ctx, files, part)
    if review.errors:
        raise InvalidBpmn(review.errors, review.warnings)
    return review.compiled


def dry_run(ctx: AppContext, files: list[BpmnFile], principal: Principal) -> DryRun:
    """What deploying the files would do, without storing anything: every problem and warning,
    and the version each process would get."""
    if not principal.can_deploy:
        raise Forbidden("deploying requires the analyst or admin group")
    review = review_files(ctx, files)
    planned: list[PlannedDefinition] = []
    warnings = list(review.warnings)
    if not review.errors:
        with UnitOfWork(ctx) as uow:
            for f, process in zip(files, review.compiled, strict=True):
                latest = _latest(uow.session, process.key)
                unchanged = latest is not None and latest.checksum == _checksum(f)
                version = (latest.version if latest else 0) + (0 if unchanged else 1)
                planned.append(PlannedDefinition(process.key, process.name, version))
                if not unchanged:
                    warnings.extend(stranded(uow.session, process, f.filename))
    return DryRun(not review.errors, review.errors, warnings, planned)


def _checksum(f: BpmnFile) -> str:
    return hashlib.sha256(f.content).hexdigest()


def _version_with(session: Session, key: str, checksum: str) -> int | None:
    """The latest version of the process whose file had this checksum, if any."""
    return session.scalar(
        select(ProcessDefinition.version)
        .where(ProcessDefinition.key == key, ProcessDefinition.checksum == checksum)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    )


def _latest(session: Session, key: str) -> ProcessDefinition | None:
    return session.scalars(
        select(ProcessDefinition)
        .where(ProcessDefinition.key == key)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    ).first()


def deploy(
    ctx: AppContext,
    files: list[BpmnFile],
    principal: Principal,
    *,
    name: str | None = None,
    source: str = "api",
) -> DeploymentResult:
    if not principal.can_deploy:
        raise Forbidden("deploying requires the analyst or admin group")
    review = review_files(ctx, files)
    if review.errors:
        raise InvalidBpmn(review.errors, review.warnings)
    return _deploy_reviewed(ctx, files, review, principal, name, source)


def _deploy_reviewed(
    ctx: AppContext,
    files: list[BpmnFile],
    review: Review,
    principal: Principal,
    name: str | None,
    source: str,
) -> DeploymentResult:
    """Store files whose review found no error (in one transaction)."""
    for attempt in range(DEPLOY_ATTEMPTS):
        try:
            stored = _store(ctx, files, review.compiled, principal, name, source)
            # The files' findings, then what the new versions mean for running cases.
            return replace(stored, warnings=[*review.warnings, *stored.warnings])
        except IntegrityError:
            # Another process allocated the same version first; the retry sees its row.
            if attempt == DEPLOY_ATTEMPTS - 1:
                raise Conflict("concurrent deployments of the same process; retry") from None
    raise AssertionError("unreachable")


def _store(
    ctx: AppContext,
    files: list[BpmnFile],
    compiled: list[CompiledProcess],
    principal: Principal,
    name: str | None,
    source: str,
) -> DeploymentResult:
    now = ctx.clock()
    deployment_name = name or ", ".join(Path(f.filename).stem for f in files)
    with UnitOfWork(ctx, write=True) as uow:
        session = uow.session
        deployment_id = str(uuid.uuid4())
        results: list[DeployedDefinition] = []
        new_rows: list[ProcessDefinition] = []
        stranded_cases: list[BpmnProblem] = []
        for f, process in zip(files, compiled, strict=True):
            checksum = _checksum(f)
            latest = _latest(session, process.key)
            if latest is not None and latest.checksum == checksum:
                results.append(_deployed(latest, created=False))
                continue
            if latest is not None and source == STARTUP:
                earlier = _version_with(session, process.key, checksum)
                if earlier is not None:
                    # The file in processes/ is an older version: a later one was deployed since
                    # (the workspace, the Modeler, the API). A restart must not roll it back.
                    log.info(
                        "%s is version %s of %s; version %s, deployed since, stays the latest",
                        f.filename,
                        earlier,
                        process.key,
                        latest.version,
                    )
                    results.append(_deployed(latest, created=False))
                    continue
            version = (latest.version if latest else 0) + 1
            row = ProcessDefinition(
                id=f"{process.key}:{version}:{uuid.uuid4().hex[:8]}",
                key=process.key,
                version=version,
                name=process.name,
                checksum=checksum,
                resource_name=Path(f.filename).name,
                bpmn_xml=f.content.decode("utf-8"),
                spec_json=process.spec_json,
                start_form=[field.to_dict() for field in process.start_form],
                message_starts=process.message_starts,
                starters=process.starters,
                deployment_id=deployment_id,
                deployed_at=now,
            )
            new_rows.append(row)
            results.append(_deployed(row, created=True))
            stranded_cases.extend(stranded(session, process, f.filename))
        if not new_rows:
            return DeploymentResult(id=None, name=deployment_name, definitions=results)
        session.add(
            Deployment(
                id=deployment_id,
                name=deployment_name[:255],
                source=source,
                deployed_at=now,
                deployed_by=principal.user_id,
            )
        )
        session.flush()
        session.add_all(new_rows)
        uow.commit()
        return DeploymentResult(
            id=deployment_id, name=deployment_name, definitions=results, warnings=stranded_cases
        )


def _deployed(row: ProcessDefinition, *, created: bool) -> DeployedDefinition:
    return DeployedDefinition(
        id=row.id,
        key=row.key,
        version=row.version,
        name=row.name,
        resource_name=row.resource_name,
        created=created,
        deployment_id=row.deployment_id,
        deployed_at=row.deployed_at,
    )


def deploy_directory(ctx: AppContext, directory: Path, principal: Principal) -> DeploymentResult:
    """Deploy every *.bpmn file of a directory (the start-up deployment), file by file: a file
    with an error (or unreadable, or defining a process an earlier file of the directory defines)
    is left out and listed in `refused` with its findings; the others are deployed together. One
    bad file must not keep a server from starting with the rest (its process, if deployed before,
    keeps its latest version)."""
    if not principal.can_deploy:
        raise Forbidden("deploying requires the analyst or admin group")
    refused: dict[str, list[BpmnProblem]] = {}
    good: list[BpmnFile] = []
    compiled: list[CompiledProcess] = []
    warnings: list[BpmnProblem] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.bpmn")):
        try:
            f = BpmnFile(path.name, path.read_bytes())
        except OSError as exc:
            refused[path.name] = [
                BpmnProblem(
                    f"cannot be read: {exc.strerror or exc}",
                    path.name,
                    code="structure.file",
                    hint="check that it is a readable file",
                )
            ]
            continue
        review = review_files(ctx, [f])
        if review.errors:
            refused[f.filename] = [*review.errors, *review.warnings]
            continue
        [process] = review.compiled
        if process.key in seen:
            refused[f.filename] = [defined_twice(process.key, f.filename, seen[process.key])]
            continue
        seen[process.key] = f.filename
        good.append(f)
        compiled.append(process)
        warnings.extend(review.warnings)
    if not good:
        return DeploymentResult(id=None, name=str(directory), definitions=[], refused=refused)
    result = _deploy_reviewed(
        ctx, good, Review(compiled, [], warnings), principal, directory.name, STARTUP
    )
    return replace(result, refused=refused)


def count_definitions(ctx: AppContext) -> int:
    with UnitOfWork(ctx) as uow:
        return uow.session.scalar(select(func.count()).select_from(ProcessDefinition)) or 0


DEPLOYMENT_SORTS = {
    "id": Deployment.id,
    "name": Deployment.name,
    "deployed_at": Deployment.deployed_at,
}


def list_deployments(
    ctx: AppContext,
    *,
    ids: list[str] | None = None,
    name: str | None = None,
    name_like: str | None = None,
    source: str | None = None,
    before: datetime | None = None,
    after: datetime | None = None,
    sort: str = "deployed_at",
    descending: bool = False,
    limit: int,
    offset: int,
) -> tuple[list[DeploymentInfo], int]:
    """Deployments (each a set of new process versions), filtered; `name_like` uses SQL LIKE."""
    stmt = select(Deployment)
    if ids is not None:
        stmt = stmt.where(Deployment.id.in_(ids))
    if name is not None:
        stmt = stmt.where(Deployment.name == name)
    if name_like is not None:
        stmt = stmt.where(Deployment.name.like(name_like))
    if source is not None:
        stmt = stmt.where(Deployment.source == source)
    if before is not None:
        stmt = stmt.where(Deployment.deployed_at < before)
    if after is not None:
        stmt = stmt.where(Deployment.deployed_at > after)
    column = DEPLOYMENT_SORTS[sort]
    with UnitOfWork(ctx) as uow:
        total = uow.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        if limit == 0:
            return [], total
        ordered = stmt.order_by(column.desc() if descending else column.asc(), Deployment.id)
        rows = uow.session.scalars(ordered.limit(limit).offset(offset))
        return [_deployment(r) for r in rows], total


def get_deployment(ctx: AppContext, deployment_id: str) -> DeploymentInfo:
    with UnitOfWork(ctx) as uow:
        row = uow.session.get(Deployment, deployment_id)
        if row is None:
            raise NotFound(f"deployment {deployment_id} does not exist")
        return _deployment(row)


def _deployment(row: Deployment) -> DeploymentInfo:
    return DeploymentInfo(row.id, row.name, row.source, row.deployed_at, row.deployed_by)
