"""Fixtures for the web workspace tests: a real server (uvicorn via `bpmn-service serve`, SQLite or
PostgreSQL) and headless Chromium driven by Playwright. A test fails on any console error, any
uncaught page error and any request to a host other than the service; screenshots of each page go
to test-artifacts/workspace/."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlsplit

import httpx
import pytest
from sqlalchemy import create_engine, text

from conftest import POSTGRES_URL, ROOT, TOKENS
from served import serve

# Playwright drives Debian's chromium; browsers are never downloaded.
CHROMIUM = os.environ.get("BPMN_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts" / "workspace"
BUILD = ROOT / "src" / "bpmn_service" / "webui" / "index.html"
CLIENT_ERROR_LOG = "Failed to load resource: the server responded with a status of 4"


@dataclass
class Server:
    url: str
    http: httpx.Client

    def api(self, method: str, path: str, user: str = "admin", **kw: Any) -> Any:
        response = self.http.request(
            method, f"/api/v1{path}", headers={"Authorization": f"Bearer {TOKENS[user]}"}, **kw
        )
        assert response.status_code < 400, response.text
        return response.json() if response.content else None

    def offers(self, method: str, path: str, parameter: str | None = None) -> bool:
        """Whether this server's OpenAPI description has the operation (and query parameter):
        the workspace offers an action only then, and so do the tests that drive it."""
        operation = self.http.get("/openapi.json").json()["paths"].get(path, {}).get(method)
        if operation is None:
            return False
        return parameter is None or any(
            p["name"] == parameter for p in operation.get("parameters", [])
        )


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """`bpmn-service serve` with the repository's processes and demo users, as `make run` does."""
    if not BUILD.is_file():
        pytest.fail(
            "the web workspace is not built; run `make install` (npm ci and the Vite build)"
        )
    env = {**os.environ, "BPMN_MODE": "development", "BPMN_TIMER_POLL_SECONDS": "1"}
    schema = None
    admin = None
    if request.param == "sqlite":
        env["BPMN_DATABASE_URL"] = f"sqlite:///{tmp_path_factory.mktemp('ui-db') / 'ui.db'}"
    else:
        if not POSTGRES_URL:
            if os.environ.get("BPMN_REQUIRE_POSTGRES"):
                pytest.fail("BPMN_REQUIRE_POSTGRES is set but BPMN_TEST_POSTGRES_URL is not")
            pytest.skip("BPMN_TEST_POSTGRES_URL is not set")
        schema = f"bpmn_ui_{uuid.uuid4().hex[:10]}"
        admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        env["BPMN_DATABASE_URL"] = POSTGRES_URL
        env["BPMN_DATABASE_SCHEMA"] = schema
    env["BPMN_SMS_OUTBOX_FILE"] = str(tmp_path_factory.mktemp("ui-sms") / "outbox.jsonl")
    proc = None
    try:
        proc, url = serve(env, tmp_path_factory.mktemp("ui-log") / "server.log")
        with httpx.Client(base_url=url, timeout=30) as http:
            yield Server(url, http)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_api.sync_playwright() as playwright:
        # launch() gives every run a fresh temporary profile (user data dir).
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Watch:
    """What a page did that a test must not allow."""

    host: str
    problems: list[str] = field(default_factory=list)
    # Answers a test made up itself (page.route) to play a failing server: not the page's fault.
    faked: set[str] = field(default_factory=set)


class Ui:
    """One browser tab on the workspace, speaking as one user at a time."""

    def __init__(self, page: Any, url: str, shots: Path, faked: set[str]) -> None:
        self.page = page
        self.url = url
        self.shots = shots
        self.faked = faked

    def fake_answer(self, route: Any, status: int, body: dict[str, Any]) -> None:
        """Answer a request as a failing server would, without counting it as a problem."""
        self.faked.add(route.request.url)
        route.fulfill(status=status, json=body)

    def goto(self, path: str) -> None:
        self.page.goto(f"{self.url}{path}")

    def shot(self, name: str) -> Path:
        """Write a screenshot of the whole page as a test artefact."""
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def sign_in(self, user: str) -> None:
        self.goto("/")
        self.page.fill("#token", TOKENS[user])
        self.page.keyboard.press("Enter")
        self.page.get_by_test_id("who").locator("strong", has_text=user).wait_for()

    def inbox(self, business_key: str) -> Any:
        """Filter the inbox to one business key; the rows once the filtered answer is shown."""
        self.page.get_by_label("申请编号").fill(business_key)
        self.page.get_by_role("button", name="筛选").click()
        shown = f"[data-query*='business_key={quote_plus(business_key)}']"
        self.page.locator(
            f"[data-testid=inbox]{shown}, [data-testid=inbox-empty]{shown}"
        ).wait_for()
        return self.page.locator("[data-testid=inbox] tbody tr")

    def sign_out(self) -> None:
        self.page.get_by_test_id("who").get_by_role("button").click()
        self.page.locator("#token").wait_for()


@pytest.fixture
def ui(browser: Any, server: Server, request: pytest.FixtureRequest) -> Iterator[Ui]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    watch = Watch(urlsplit(server.url).netloc)

    def guard(route: Any) -> None:
        target = urlsplit(route.request.url)
        if target.scheme in {"data", "blob"} or target.netloc == watch.host:
            route.continue_()
        else:
            watch.problems.append(f"request to another host: {route.request.url}")
            route.abort()

    def console(message: Any) -> None:
        # Chromium logs every 4xx answer as "Failed to load resource"; refusals (a lost claim, a
        # 422 on a form) are part of the flows under test. 5xx answers are caught below.
        if message.location.get("url") in watch.faked:
            return
        if message.type == "error" and not message.text.startswith(CLIENT_ERROR_LOG):
            watch.problems.append(f"console error: {message.text}")

    def response(answer: Any) -> None:
        if answer.status >= 500 and answer.url not in watch.faked:
            watch.problems.append(f"{answer.status} from {answer.url}")

    context.route("**/*", guard)
    page = context.new_page()
    page.on("console", console)
    page.on("response", response)
    page.on("pageerror", lambda e: watch.problems.append(f"page error: {e}"))
    page.set_default_timeout(15_000)
    name = request.node.name.replace("/", "_").replace("[", "-").rstrip("]")
    yield Ui(page, server.url, ARTIFACTS / name, watch.faked)
    context.close()
    assert watch.problems == [], "\n".join(watch.problems)
