"""Property-based tests of /engine-rest with Schemathesis against its own OpenAPI description.

Every operation is fuzzed in-process (ASGI, SQLite) as the admin and as the hall clerk, with
positive and negative data, derandomized. The database holds a deployed process, an instance with
an open task and an external task, and half of the path parameters are drawn from their ids, so
requests get past the 404s. Checks: no server error, answers as described (Camunda's error body),
and only the status codes each operation declares.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure, FailureGroup

from bpmn_service.context import AppContext
from bpmn_service.main import create_app
from conftest import DATA, TOKENS, app_settings
from test_schemathesis import CHECKS, RESPONSE_TIMEOUT, as_served

EXAMPLES_PER_OPERATION = 6


def basic(user: str) -> dict[str, str]:
    pair = f"{user}:{TOKENS[user]}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def seed(client: TestClient) -> dict[str, list[str]]:
    """Things that exist, by the path parameter they fill."""
    analyst = {"Authorization": "Bearer demo-analyst"}
    for name in ("race.bpmn", "sla_demo.bpmn"):
        files = [("files", (name, (DATA / name).read_bytes(), "application/xml"))]
        assert client.post("/api/v1/deployments", headers=analyst, files=files).status_code == 201
    clerk = {"Authorization": "Bearer demo-clerk"}
    start = {"business_key": "FUZZ-1", "variables": {}}
    race = client.post("/api/v1/process-definitions/race/instances", headers=clerk, json=start)
    sla = client.post(
        "/api/v1/process-definitions/sla_demo/instances",
        headers=clerk,
        json={"business_key": "FUZZ-2", "variables": {"category": "RES"}},
    ).json()
    [reply] = sla["tasks"]
    client.post(f"/api/v1/tasks/{reply['id']}/claim", headers=clerk)
    client.post(
        f"/api/v1/tasks/{reply['id']}/complete",
        headers=clerk,
        json={"variables": {"replied": True}},
    )
    message = {"message_name": "docs_supplemented", "business_key": "FUZZ-2"}
    client.post("/api/v1/messages", headers=clerk, json=message)
    admin = {"Authorization": "Bearer demo-admin"}
    definitions = client.get("/engine-rest/process-definition", headers=admin).json()
    external = client.get("/engine-rest/external-task", headers=admin).json()
    tasks = client.get("/engine-rest/task", headers=admin).json()
    return {
        "definition_id": [d["id"] for d in definitions],
        "key": [d["key"] for d in definitions],
        "deployment_id": [d["deploymentId"] for d in definitions],
        "instance_id": [race.json()["id"], sla["id"]],
        "task_id": [t["id"] for t in tasks],
        "external_task_id": [t["id"] for t in external],
    }


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, list[str]]]]:
    db = tmp_path_factory.mktemp("engine-rest-fuzz") / "fuzz.db"
    app = create_app(ctx=AppContext.create(app_settings(f"sqlite:///{db}")))
    with TestClient(app) as client:
        pools = seed(client)
        config = schemathesis.Config.from_dict({"output": {"sanitization": {"enabled": False}}})
        schema = schemathesis.openapi.from_asgi(
            "/engine-rest/openapi.json", as_served(app), config=config
        )
        yield schema, pools


def _real_ids(case: Any, pools: dict[str, list[str]], draw: Any) -> None:
    params = case.path_parameters
    if not isinstance(params, dict):
        return
    for name in list(params):
        pool_name = name
        if name == "task_id" and "/external-task/" in case.operation.path:
            pool_name = "external_task_id"
        pool = pools.get(pool_name) or []
        if pool and draw(st.booleans()):
            params[name] = draw(st.sampled_from(pool))


def fuzz_operation(
    operation: Any, mode: GenerationMode, pools: dict[str, list[str]], headers: dict[str, str]
) -> tuple[int, list[str]]:
    """Send EXAMPLES_PER_OPERATION derandomized cases; (cases sent, findings)."""
    strategy = operation.as_strategy(generation_mode=mode)
    sent = 0
    unexpected: list[str] = []

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data: Any) -> None:
        nonlocal sent
        case = data.draw(strategy)
        _real_ids(case, pools, data.draw)
        # The transport's default 10 s read timeout is about hung servers, not slow machines:
        # with the suite's workers and other work sharing the cores a request can take longer.
        response = case.call(headers=headers, timeout=RESPONSE_TIMEOUT)
        sent += 1
        for check in CHECKS:
            try:
                case.validate_response(response, checks=[check], headers=headers)
            except (Failure, FailureGroup):
                unexpected.append(
                    f"{check.__name__}: {operation.label} -> {response.status_code} "
                    f"{response.text[:300]}\n  {case.as_curl_command(headers=headers)}"
                )

    try:
        run()
    except Unsatisfiable:  # nothing to negate (no parameters, no body)
        assert mode == GenerationMode.NEGATIVE, operation.label
    return sent, unexpected


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("user", ["admin", "clerk"])
def test_every_engine_rest_operation_conforms(
    fuzzed: tuple[Any, dict[str, list[str]]], user: str, mode: GenerationMode
) -> None:
    schema, pools = fuzzed
    operations = sorted(
        (r.ok() for r in schema.get_all_operations()), key=lambda op: (op.path, op.method)
    )
    assert len(operations) >= 35
    cases = 0
    unexpected: list[str] = []
    for operation in operations:
        sent, found = fuzz_operation(operation, mode, pools, basic(user))
        cases += sent
        unexpected += found
    assert cases >= 150, cases
    assert not unexpected, f"{len(unexpected)} finding(s):\n" + "\n".join(unexpected[:20])
