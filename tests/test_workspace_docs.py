"""/docs (Swagger UI) renders in a browser that may reach no host but the service."""

from __future__ import annotations

from workspace_browser import Ui


def test_swagger_ui_renders_the_api_offline(ui: Ui) -> None:
    ui.goto("/docs")
    ui.page.get_by_text("/api/v1/tasks/{task_id}/complete").wait_for()
    assert ui.page.locator(".opblock").count() > 20
    ui.shot("docs")
