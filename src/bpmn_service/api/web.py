"""The web workspace at /ui and the API reference at /docs, both served from files built by
`make install` (ui/ → src/bpmn_service/webui/): nothing is loaded from another host."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Scope

BUILD_DIR = Path(__file__).resolve().parents[1] / "webui"
NOT_BUILT = (
    "<!doctype html><meta charset=utf-8><title>bpmn-service</title>"
    "<p>The web workspace has not been built. Run <code>make install</code> "
    "(it runs <code>npm ci</code> and <code>npm run build</code> in <code>ui/</code>).</p>"
)


class _SinglePageFiles(StaticFiles):
    """Static files where any path that is not a file (a client-side route such as
    /ui/cases/123) answers the workspace's index.html."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or "." in path.rsplit("/", 1)[-1]:
                raise
            return await super().get_response("index.html", scope)


def swagger_page(openapi_url: str, title: str, build_dir: Path = BUILD_DIR) -> HTMLResponse:
    """Swagger UI for an OpenAPI description, from the workspace build's copy of its assets."""
    if not (build_dir / "swagger" / "swagger-ui-bundle.js").is_file():
        return HTMLResponse(NOT_BUILT, status_code=503)
    return get_swagger_ui_html(
        openapi_url=openapi_url,
        title=title,
        swagger_js_url="/ui/swagger/swagger-ui-bundle.js",
        swagger_css_url="/ui/swagger/swagger-ui.css",
        swagger_favicon_url="/ui/favicon.svg",
        # The validator badge would call an outside host.
        swagger_ui_parameters={"validatorUrl": None},
    )


def install(app: FastAPI, build_dir: Path = BUILD_DIR) -> None:
    """Mount /ui, redirect / there and serve Swagger UI at /docs from local assets."""

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return swagger_page(app.openapi_url or "/openapi.json", f"{app.title} – API", build_dir)

    if (build_dir / "index.html").is_file():
        app.mount("/ui", _SinglePageFiles(directory=build_dir, html=True), name="ui")
    else:

        @app.get("/ui", include_in_schema=False)
        @app.get("/ui/{_path:path}", include_in_schema=False)
        def not_built(_path: str = "") -> HTMLResponse:
            return HTMLResponse(NOT_BUILT, status_code=503)
