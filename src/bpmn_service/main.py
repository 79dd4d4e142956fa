"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from bpmn_service import __version__
from bpmn_service.api import errors as api_errors, metrics, web
from bpmn_service.api.compat import PREFIX as ENGINE_REST, create_engine_rest
from bpmn_service.api.json_values import JsonValuesMiddleware
from bpmn_service.api.middleware import BodyLimitMiddleware, GuardMiddleware, RequestIdMiddleware
from bpmn_service.api.routes import (
    analytics,
    definitions,
    deployments,
    external_tasks,
    health,
    instances,
    me,
    messages,
    operations,
    simulations,
    tasks,
)
from bpmn_service.config import Settings
from bpmn_service.context import AppContext
from bpmn_service.db.migrate import upgrade
from bpmn_service.identity import Principal
from bpmn_service.reference_workers import ReferenceWorkers
from bpmn_service.services.calendar_table import sync_calendar
from bpmn_service.services.deployments import deploy_directory
from bpmn_service.services.scheduler import TimerPoller
from bpmn_service.simulation.jobs import WhatIfLauncher

log = logging.getLogger("bpmn_service")
SYSTEM = Principal("system", frozenset({"admin"}))
# The API's parts in the order its reference (/docs) shows them.
READING_ORDER = (
    health,
    me,
    deployments,
    definitions,
    instances,
    tasks,
    messages,
    external_tasks,
    analytics,
    simulations,
    operations,
)


def prepare(ctx: AppContext) -> None:
    """Start-up work: refuse demo tokens in production, migrate, deploy processes/."""
    settings = ctx.settings
    if settings.mode == "production" and ctx.users.has_demo_tokens:
        raise RuntimeError(
            f"{settings.users_file} contains the shipped demo tokens; "
            "production mode refuses them. "
            "Set BPMN_USERS_FILE to a file with your own tokens (token_sha256 recommended)."
        )
    if settings.migrate_on_start:
        upgrade(ctx.engine)
        log.info("database schema is current")
    if sync_calendar(ctx, ctx.calendar):
        log.info("working-day calendar table updated from %s", settings.calendar_file)
    today = ctx.calendar.local_date(ctx.clock())
    unknown = ctx.calendar.unknown_years(today, today.replace(year=today.year + 1, day=1))
    if unknown:
        log.warning(
            "the working-day calendar has no holidays for %s: deadlines there count Monday to "
            "Friday only; add [years.%d] to %s once the State Council publishes its holidays",
            ", ".join(map(str, unknown)),
            unknown[0],
            settings.calendar_file,
        )
    if settings.deploy_on_start and settings.processes_dir.is_dir():
        result = deploy_directory(ctx, settings.processes_dir, SYSTEM)
        for d in result.definitions:
            log.info(
                "process %s version %s %s",
                d.key,
                d.version,
                "deployed" if d.created else "unchanged",
            )
        for warning in result.warnings:
            log.warning("%s", warning)
        # A file with an error is left out, not the whole directory: each finding on a line of
        # its own, as `bpmn-service check` prints it, then one line that counts them.
        for findings in result.refused.values():
            for problem in findings:
                (log.error if problem.is_error else log.warning)("%s", problem)
        if result.refused:
            deployed = len(result.definitions)
            log.error(
                "%d of %d files in %s refused (%s), their findings above; %s, and a refused "
                "file's process, if deployed before, keeps its latest version: fix the files "
                "and restart, or deploy them",
                len(result.refused),
                len(result.refused) + deployed,
                settings.processes_dir,
                ", ".join(result.refused),
                f"the other {deployed} are deployed" if deployed else "no file is deployed",
            )


def create_app(settings: Settings | None = None, ctx: AppContext | None = None) -> FastAPI:
    if ctx is None:
        ctx = AppContext.create(settings or Settings())
    launcher = None
    if ctx.launch_simulation is None:
        launcher = WhatIfLauncher(ctx)
        ctx.launch_simulation = launcher

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        prepare(ctx)
        poller = None
        if ctx.settings.timer_poll_seconds > 0:
            poller = TimerPoller(ctx, ctx.settings.timer_poll_seconds)
            poller.start()
        workers = None
        wanted = ctx.settings.reference_workers
        if wanted or (wanted is None and ctx.settings.mode == "development"):
            workers = ReferenceWorkers(ctx)
            workers.start()
        yield
        if workers is not None:
            workers.stop()
        if poller is not None:
            poller.stop()
        if launcher is not None:
            launcher.shutdown()
        ctx.engine.dispose()

    app = FastAPI(
        title="bpmn-service",
        version=__version__,
        description="BPMN 2.0 workflow service for 业扩报装: deploy processes, start instances, "
        "claim and complete tasks.",
        lifespan=lifespan,
        openapi_tags=[{"name": tag} for m in READING_ORDER for tag in m.router.tags],
        # Served from local files by web.install (no CDN); ReDoc would need one.
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    api_errors.install(app)
    # Routes are matched in the order they are added: the inbox's and the task calls, the most
    # frequent, first; the API reference lists them in READING_ORDER (openapi_tags).
    for module in (tasks, *(m for m in READING_ORDER if m is not tasks)):
        app.include_router(module.router, prefix="/api/v1")
    app.include_router(metrics.router)
    app.state.open_work = metrics.open_work_registry(ctx)
    web.install(app)
    app.mount(ENGINE_REST, create_engine_rest(ctx))
    app.add_middleware(metrics.RequestMetricsMiddleware)
    app.add_middleware(GuardMiddleware)
    # Outside the guard, so that a body over the limit while it is read is still a 413.
    app.add_middleware(JsonValuesMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        default_limit=ctx.settings.max_body_bytes,
        upload_limit=4 * ctx.settings.max_upload_bytes,
    )
    app.add_middleware(RequestIdMiddleware)
    if ctx.settings.cors_origin_list:
        # Outermost, so that preflights are answered before authentication and errors carry
        # the headers too.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=ctx.settings.cors_origin_list,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
            expose_headers=["X-Request-Id", "Idempotent-Replayed", "Retry-After"],
            max_age=600,
        )
    return app
