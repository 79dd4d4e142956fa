"""Secrets: hashed bearer tokens, production mode refusing the demo tokens, and logs that never
contain a bearer token or a submitted form value."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bpmn_service.config import Settings
from bpmn_service.context import AppContext
from bpmn_service.main import create_app, prepare
from conftest import DATA, ROOT, empty
from served import free_port, serve, stop

APPROVAL = DATA / "approval.bpmn"
DEMO_USERS = ROOT / "config" / "users.toml"


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@pytest.fixture
def tokens() -> dict[str, str]:
    """Fresh random tokens per test, so a match in a log can only come from the request."""
    return {user: f"tok-{user}-{secrets.token_urlsafe(24)}" for user in ("ops", "rev", "req")}


@pytest.fixture
def hashed_users(tmp_path: Path, tokens: dict[str, str]) -> Path:
    path = tmp_path / "users.toml"
    path.write_text(
        "# Tokens stored only as SHA-256 digests.\n"
        "[users.ops]\n"
        f'token_sha256 = "{sha256(tokens["ops"])}"\n'
        'groups = ["admin", "analyst", "supervisor"]\n\n'
        "[users.rev]\n"
        f'token_sha256 = "{sha256(tokens["rev"]).upper()}"  # hex in either case\n'
        'groups = ["reviewers"]\n\n'
        "[users.req]\n"
        f'token_sha256 = "{sha256(tokens["req"])}"\n'
        'groups = ["requesters"]\n',
        encoding="utf-8",
    )
    return path


ClientFactory = Callable[..., AbstractContextManager[TestClient]]


@pytest.fixture
def client_with(settings: Settings, database: tuple[str, str | None, Engine]) -> ClientFactory:
    """A TestClient for the app with other settings (users file, mode) on the test database."""

    @contextmanager
    def make(**changes: Any) -> Iterator[TestClient]:
        empty(database[2])
        ctx = AppContext.create(settings.model_copy(update=changes), engine=database[2])
        with TestClient(create_app(ctx=ctx)) as client:
            yield client

    return make


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------- hashed tokens


def test_hashed_tokens_authenticate(
    client_with: ClientFactory, hashed_users: Path, tokens: dict[str, str]
) -> None:
    with client_with(
        users_file=hashed_users, mode="production", default_starter_groups="requesters"
    ) as client:
        # Each plain token authenticates as its user, with that user's groups.
        files = [("files", (APPROVAL.name, APPROVAL.read_bytes(), "application/xml"))]
        deployed = client.post("/api/v1/deployments", headers=bearer(tokens["ops"]), files=files)
        assert deployed.status_code == 201, deployed.text
        refused = client.post("/api/v1/deployments", headers=bearer(tokens["rev"]), files=files)
        assert refused.status_code == 403
        started = client.post(
            "/api/v1/process-definitions/approval/instances",
            headers=bearer(tokens["req"]),
            json={"business_key": "SEC-1", "variables": {"amount": 5}},
        )
        assert started.status_code == 201, started.text
        assert started.json()["started_by"] == "req"
        inbox = client.get("/api/v1/tasks", headers=bearer(tokens["rev"])).json()
        assert [t["element_id"] for t in inbox["items"]] == ["review"]
        assert client.get("/api/v1/tasks", headers=bearer(tokens["req"])).json()["total"] == 0

        # The digest itself, a near miss, the demo tokens and no token at all are refused.
        for token in (
            sha256(tokens["ops"]),
            sha256(tokens["ops"]).upper(),
            tokens["ops"][:-1],
            tokens["ops"].upper(),
            tokens["ops"] + "x",
            "demo-admin",
        ):
            response = client.get("/api/v1/tasks", headers=bearer(token))
            assert response.status_code == 401, token
            assert response.headers["WWW-Authenticate"] == "Bearer"
        assert client.get("/api/v1/tasks").status_code == 401


def test_users_file_with_a_bad_digest_is_refused(tmp_path: Path) -> None:
    from bpmn_service.identity import UserDirectory

    path = tmp_path / "users.toml"
    path.write_text('[users.x]\ntoken_sha256 = "not-hex"\ngroups = []\n', encoding="utf-8")
    with pytest.raises(ValueError):
        UserDirectory.load(path)


# ---------------------------------------------------------------- production mode


def test_production_app_refuses_the_demo_tokens(
    settings: Settings, database: tuple[str, str | None, Engine]
) -> None:
    production = settings.model_copy(update={"mode": "production", "users_file": DEMO_USERS})
    ctx = AppContext.create(production, engine=database[2])
    with pytest.raises(RuntimeError, match="demo tokens") as refused:
        prepare(ctx)
    message = str(refused.value)
    assert str(DEMO_USERS) in message and "\n" not in message
    # The application refuses to start, too.
    with pytest.raises(RuntimeError, match="demo tokens"), TestClient(create_app(ctx=ctx)):
        pass
    # Development mode accepts them.
    prepare(AppContext.create(settings, engine=database[2]))


def test_production_app_refuses_a_demo_token_stored_hashed(
    settings: Settings, database: tuple[str, str | None, Engine], tmp_path: Path
) -> None:
    """Converting the shipped users file to token_sha256 (as the error message recommends)
    keeps the public demo tokens working; production mode must still refuse them."""
    path = tmp_path / "users.toml"
    path.write_text(
        f'[users.admin]\ntoken_sha256 = "{sha256("demo-admin")}"\ngroups = ["admin"]\n',
        encoding="utf-8",
    )
    production = settings.model_copy(update={"mode": "production", "users_file": path})
    with pytest.raises(RuntimeError, match="demo tokens"):
        prepare(AppContext.create(production, engine=database[2]))


def cli_env(**extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BPMN_")}
    return {**clean, "PYTHONUNBUFFERED": "1", **extra}


def test_cli_serve_refuses_the_demo_tokens_in_production(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bpmn_service.cli", "serve", "--port", str(free_port())],
        cwd=ROOT,
        env=cli_env(
            BPMN_MODE="production",
            BPMN_USERS_FILE=str(DEMO_USERS),
            BPMN_DATABASE_URL=f"sqlite:///{tmp_path / 'never.db'}",
        ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr  # one line, no traceback
    assert lines[0].startswith("bpmn-service: ")
    assert str(DEMO_USERS) in lines[0] and "demo tokens" in lines[0]
    assert "production" in lines[0]
    assert result.stdout == ""
    assert not (tmp_path / "never.db").exists()  # refused before touching the database


def test_cli_serve_starts_in_production_with_hashed_tokens_and_logs_no_secrets(
    settings: Settings,
    database: tuple[str, str | None, Engine],
    hashed_users: Path,
    tokens: dict[str, str],
    tmp_path: Path,
) -> None:
    """The real server, configured as in production, on the test database: it starts, answers
    the hashed tokens, and its whole output (access log included) holds no token or form value."""
    empty(database[2])
    processes = tmp_path / "processes"
    processes.mkdir()
    env = cli_env(
        BPMN_MODE="production",
        BPMN_USERS_FILE=str(hashed_users),
        BPMN_DEFAULT_STARTER_GROUPS="requesters",
        BPMN_DATABASE_URL=settings.database_url,
        BPMN_PROCESSES_DIR=str(processes),
        BPMN_TIMER_POLL_SECONDS="0",
        BPMN_LOG_LEVEL="DEBUG",
    )
    if settings.database_schema:
        env["BPMN_DATABASE_SCHEMA"] = settings.database_schema
    log = tmp_path / "server.log"
    server, url = serve(env, log)
    secret_values = secret_form_values()
    try:
        with httpx.Client(base_url=f"{url}/api/v1", timeout=30) as client:
            exercise(client, tokens, secret_values)
    finally:
        stop(server)
    output = log.read_text(encoding="utf-8")
    assert '"event": "request"' in output, output[-2000:]
    assert '"user": "ops"' in output and '"user": "rev"' in output
    leaked = [s for s in [*tokens.values(), *secret_values.values()] if s in output]
    assert leaked == [], output[-4000:]


# ---------------------------------------------------------------- logs


def secret_form_values() -> dict[str, str]:
    return {
        "purpose": f"P@ssw0rd-{secrets.token_hex(8)}",
        "comment": f"pin-{secrets.token_hex(8)}",
        "rejected": f"hunter2-{secrets.token_hex(8)}",
        "query": f"qs-{secrets.token_hex(8)}",
        "wrong_token": f"wrong-{secrets.token_urlsafe(16)}",
    }


def exercise(client: Any, tokens: dict[str, str], values: dict[str, str]) -> None:
    """Requests carrying tokens and secret form values: deploy, start, claim, a refused and an
    accepted completion, reads, and requests with bad or misplaced tokens."""

    def call(method: str, path: str, user: str, **kw: Any) -> Any:
        return client.request(method, path, headers=bearer(tokens[user]), **kw)

    files = [("files", (APPROVAL.name, APPROVAL.read_bytes(), "application/xml"))]
    assert call("POST", "/deployments", "ops", files=files).status_code == 201
    started = call(
        "POST",
        "/process-definitions/approval/instances",
        "req",
        json={"business_key": "SEC-LOG", "variables": {"amount": 7, "purpose": values["purpose"]}},
    )
    assert started.status_code == 201, started.text
    task_id = started.json()["tasks"][0]["id"]
    assert call("POST", f"/tasks/{task_id}/claim", "rev").status_code == 200
    # A refused completion: the invalid value is named in the answer, never in the log.
    refused = call(
        "POST",
        f"/tasks/{task_id}/complete",
        "rev",
        json={"variables": {"decision": "MAYBE", "comment": values["rejected"]}},
    )
    assert refused.status_code == 422, refused.text
    done = call(
        "POST",
        f"/tasks/{task_id}/complete",
        "rev",
        json={"variables": {"decision": "APPROVE", "comment": values["comment"]}},
    )
    assert done.status_code == 200, done.text
    instance_id = started.json()["id"]
    detail = call("GET", f"/process-instances/{instance_id}", "ops")
    assert detail.json()["variables"]["comment"] == values["comment"]  # stored, not logged
    assert call("GET", "/tasks", "rev", params={"token": values["query"]}).status_code == 200
    # Bad tokens: a wrong one, one in the wrong header, one as a query parameter.
    wrong = client.get("/tasks", headers=bearer(values["wrong_token"]))
    assert wrong.status_code == 401 and values["wrong_token"] not in wrong.text
    assert client.get("/tasks", headers={"X-Api-Key": tokens["ops"]}).status_code == 401
    assert client.get("/tasks", params={"access_token": tokens["ops"]}).status_code == 401
    assert client.get("/tasks", headers={"Authorization": tokens["rev"]}).status_code == 401


def test_no_token_or_form_value_in_the_logs(
    client_with: ClientFactory,
    hashed_users: Path,
    tokens: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    values = secret_form_values()
    caplog.set_level(logging.DEBUG, logger="bpmn_service")
    with client_with(
        users_file=hashed_users, mode="production", default_starter_groups="requesters"
    ) as client:

        class Prefixed:
            def request(self, method: str, path: str, **kw: Any) -> Any:
                return client.request(method, f"/api/v1{path}", **kw)

            def get(self, path: str, **kw: Any) -> Any:
                return self.request("GET", path, **kw)

        exercise(Prefixed(), tokens, values)

    records = [r for r in caplog.records if r.name.startswith("bpmn_service")]
    access = [r for r in records if r.name == "bpmn_service.access"]
    # One access log line per request, naming the user, never the token.
    assert len(access) >= 11
    assert any('"user": "rev"' in r.getMessage() for r in access)
    assert any('"status": 401' in r.getMessage() for r in access)
    secrets_sent = [*tokens.values(), *values.values()]
    for record in caplog.records:  # every captured record, not only the service's own
        text = record.getMessage() + " " + (record.exc_text or "") + " " + repr(record.args)
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        leaked = [s for s in secrets_sent if s in text]
        assert leaked == [], (record.name, text[:500])
    assert not any(s in caplog.text for s in secrets_sent)
