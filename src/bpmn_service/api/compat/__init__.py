"""/engine-rest: the Camunda 7 REST subset (docs/camunda.md), as its own application mounted on
the service, with Camunda's error bodies and its own OpenAPI description (/engine-rest/docs).

Thin routes over the same services as /api/v1: the same users, permissions, validation,
idempotency and database.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from bpmn_service import __version__
from bpmn_service.api import web
from bpmn_service.api.compat import errors
from bpmn_service.api.compat.params import refuse_unknown_parameters
from bpmn_service.api.compat.routes import (
    activity_instances,
    definitions,
    deployments,
    engine,
    external_tasks,
    history_instances,
    history_tasks,
    incidents,
    instances,
    messages,
    tasks,
)
from bpmn_service.context import AppContext

PREFIX = "/engine-rest"
# Camunda clients set up with an engine name call /engine-rest/engine/{name}/…; the service has
# one engine, "default" (GET /engine-rest/engine), answered at the same routes.
_NAMED = "/engine/default/"


class NamedEngine:
    """Middleware of the mounted /engine-rest application: answers …/engine/default/… as …/…;
    any other name stays unknown (404). Only requests under /engine-rest pass through it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        root = scope.get("root_path", "")  # the mount's path: the requests' paths start with it
        named = root + _NAMED
        if scope["type"] == "http" and scope["path"].startswith(named):
            raw = scope.get("raw_path") or scope["path"].encode()
            cut = len(named) - 1  # keep the "/" before the route's path
            scope = {
                **scope,
                "path": root + scope["path"][cut:],
                "raw_path": root.encode() + raw[cut:] if raw.startswith(named.encode()) else raw,
            }
        await self.app(scope, receive, send)


def create_engine_rest(ctx: AppContext) -> FastAPI:
    app = FastAPI(
        title="bpmn-service /engine-rest",
        version=__version__,
        description="The Camunda 7 REST API subset this service answers: Camunda Modeler's "
        "Deploy and Start buttons, pycamunda and Camunda external-task clients work unchanged. "
        "Authenticate with HTTP Basic (user id, token) or a Bearer token.",
        dependencies=[Depends(refuse_unknown_parameters)],
        docs_url=None,  # FastAPI's page loads Swagger UI from another host; this one is local
        redoc_url=None,
    )

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return web.swagger_page(f"{PREFIX}/openapi.json", f"{app.title} – Camunda 7 subset")

    app.state.ctx = ctx
    app.add_middleware(NamedEngine)
    errors.install(app)
    for module in (
        engine,
        deployments,
        definitions,
        instances,
        activity_instances,
        tasks,
        external_tasks,
        messages,
        history_instances,
        history_tasks,
        incidents,
    ):
        app.include_router(module.router)
    return app
