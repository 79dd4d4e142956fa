"""/engine-rest over HTTP on SQLite and PostgreSQL: Camunda Modeler's exact requests, Camunda's
error bodies, typed variables, and the same rules as /api/v1 (permissions, forms, idempotency).
"""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bpmn_service.main import create_app
from conftest import DATA, ROOT, TOKENS, Api
from served import served

RACE = DATA / "race.bpmn"


def basic(user: str, token: str | None = None) -> dict[str, str]:
    pair = f"{user}:{token or TOKENS[user]}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


class Rest:
    """/engine-rest as one demo user, authenticated the way Camunda clients do (Basic)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def get(self, path: str, user: str = "admin", **kw: Any) -> Any:
        return self.client.get(f"/engine-rest{path}", headers=basic(user), **kw)

    def post(self, path: str, user: str = "admin", **kw: Any) -> Any:
        return self.client.post(f"/engine-rest{path}", headers=basic(user), **kw)

    def deploy(self, name: str, content: bytes, user: str = "analyst") -> Any:
        """The multipart form of Camunda Modeler's deployDiagram()."""
        form = {
            "deployment-name": (None, name.rsplit(".", 1)[0]),
            "deployment-source": (None, "Camunda Modeler"),
            "enable-duplicate-filtering": (None, "true"),
            name: (name, content, "text/xml"),
        }
        return self.post("/deployment/create", user, files=form)

    def start(self, definition_id: str, business_key: str, user: str = "clerk", **kw: Any) -> Any:
        body = {"businessKey": business_key, **kw}
        return self.post(f"/process-definition/{definition_id}/start", user, json=body)


@pytest.fixture
def rest(api: Api) -> Rest:
    return Rest(api.client)


def deployed_id(response: Any) -> str:
    assert response.status_code == 200, response.text
    [definition] = response.json()["deployedProcessDefinitions"].values()
    return str(definition["id"])


# -- Camunda Modeler ------------------------------------------------------------------------------


def test_modeler_deploy_and_start_buttons_then_the_instance_runs(rest: Rest, api: Api) -> None:
    client = rest.client
    # Connection check of the deployment dialog: without credentials first, then with them.
    assert client.get("/engine-rest/deployment?maxResults=0").status_code == 401
    version = client.get("/engine-rest/version", headers=basic("analyst"))
    assert version.status_code == 200 and version.json()["version"].startswith("7.")
    check = client.get("/engine-rest/deployment?maxResults=0", headers=basic("analyst"))
    assert check.status_code == 200 and check.json() == []

    deployment = rest.deploy("race.bpmn", RACE.read_bytes())
    definition_id = deployed_id(deployment)
    body = deployment.json()
    assert body["name"] == "race" and body["source"] == "Camunda Modeler"
    assert body["links"][0]["href"].endswith(f"/engine-rest/deployment/{body['id']}")
    assert body["deploymentTime"].endswith("+0000") and "." in body["deploymentTime"]
    definition = body["deployedProcessDefinitions"][definition_id]
    assert definition["key"] == "race" and definition["version"] == 1
    assert definition["deploymentId"] == body["id"] and definition["resource"] == "race.bpmn"

    # Start: the Modeler posts {businessKey, variables} to the deployed definition's id.
    started = rest.start(definition_id, "default", variables={"note": {"value": "hi"}})
    assert started.status_code == 200, started.text
    instance = started.json()
    assert instance["definitionId"] == definition_id and instance["ended"] is False
    assert instance["links"][0]["href"].endswith(f"/engine-rest/process-instance/{instance['id']}")

    # Deploying the unchanged file again answers the same version (no new one).
    again = rest.deploy("race.bpmn", RACE.read_bytes())
    assert deployed_id(again) == definition_id and again.json()["id"] == body["id"]

    # The instance runs: the clerk's inbox, claim, complete.
    [task] = rest.get("/task", "clerk", params={"processInstanceId": instance["id"]}).json()
    assert task["taskDefinitionKey"] == "grab" and task["assignee"] is None
    assert (
        rest.post(f"/task/{task['id']}/claim", "clerk", json={"userId": "clerk"}).status_code == 204
    )
    done = rest.post(f"/task/{task['id']}/complete", "clerk", json={"variables": {}})
    assert done.status_code == 204, done.text
    assert api.get(f"/process-instances/{instance['id']}").json()["status"] == "completed"


def test_a_parse_error_is_the_one_the_modeler_shows(rest: Rest) -> None:
    response = rest.deploy("bad.bpmn", (DATA / "bad_two_problems.bpmn").read_bytes())
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "ParseException"
    assert body["message"].startswith("ENGINE-09005 Could not parse BPMN process.")
    assert "element sneaky" in body["message"] and "line 7" in body["message"]
    # Each line says what to do, as `bpmn-service check` does: the Modeler shows only the message.
    problems = body["message"].splitlines()[1:]
    assert len(problems) == 2 and all(") | resource bad.bpmn" in line for line in problems)
    [errors] = [v["errors"] for v in body["details"].values()]
    assert {e["mainElementId"] for e in errors} == {"sneaky", "orphan"}


def test_deploy_permissions_and_refusals(rest: Rest) -> None:
    assert rest.deploy("race.bpmn", RACE.read_bytes(), user="clerk").status_code == 403
    assert rest.deploy("race.bpmn", RACE.read_bytes(), user="clerk").json()["type"] == (
        "AuthorizationException"
    )
    form = rest.deploy("form.form", b'{"components": []}')
    assert form.status_code == 400 and "only BPMN files" in form.json()["message"]
    tenant = rest.post(
        "/deployment/create",
        "analyst",
        files={"tenant-id": (None, "t1"), "race.bpmn": ("race.bpmn", RACE.read_bytes())},
    )
    assert tenant.status_code == 400 and "tenant-id" in tenant.json()["message"]


def test_basic_auth_needs_the_tokens_user_and_bearer_works(rest: Rest) -> None:
    client = rest.client
    assert client.get("/engine-rest/task", headers=basic("clerk")).status_code == 200
    wrong_user = client.get("/engine-rest/task", headers=basic("admin", TOKENS["clerk"]))
    assert wrong_user.status_code == 401
    assert wrong_user.json()["type"] == "AuthenticationException"
    assert "Basic" in wrong_user.headers["WWW-Authenticate"]
    garbage = client.get("/engine-rest/task", headers={"Authorization": "Basic !!!"})
    assert garbage.status_code == 401
    wrong_password = client.get("/engine-rest/task", headers=basic("clerk", "wrong"))
    assert wrong_password.status_code == 401
    assert wrong_password.json()["message"] == (
        "invalid Basic credentials: the password must be the user's token"
    )
    bearer = client.get("/engine-rest/task", headers={"Authorization": "Bearer demo-clerk"})
    assert bearer.status_code == 200


@pytest.mark.parametrize(
    "credentials",
    [b"Basic \xc3\xa9\xc3\xa9", b"Basic " + base64.b64encode("clérk:démo".encode("latin-1"))],
    ids=["not-ascii", "latin-1-inside"],
)
def test_basic_credentials_that_are_not_ascii_are_401(api: Api, credentials: bytes) -> None:
    """A header with bytes beyond ASCII (a misconfigured client) was a plain-text 500."""
    with served(api.ctx) as url:
        response = _raw_get(url, "/engine-rest/task", b"Authorization: " + credentials)
    assert response.startswith(b"HTTP/1.1 401 "), response
    body = json.loads(response.split(b"\r\n\r\n", 1)[1])
    assert body["type"] == "AuthenticationException"
    assert "base64 of 'user:token'" in body["message"]


def _raw_get(url: str, path: str, header: bytes) -> bytes:
    """A GET with a header as raw bytes (HTTP clients refuse to send such a header)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            b"GET "
            + path.encode()
            + b" HTTP/1.1\r\nHost: x\r\n"
            + header
            + b"\r\nConnection: close\r\n\r\n"
        )
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_an_unexpected_error_is_a_camunda_shaped_500(api: Api) -> None:
    """Camunda clients read every error as JSON `{type, message}`; the mounted /engine-rest app
    answered an unexpected error with Starlette's plain-text 500."""
    app = create_app(ctx=api.ctx)
    [mount] = [route for route in app.routes if getattr(route, "path", "") == "/engine-rest"]

    def broken() -> None:
        raise RuntimeError("a bug")

    mount.app.add_api_route("/qa-broken", broken)  # type: ignore[attr-defined]
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/engine-rest/qa-broken", headers=basic("clerk"))
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "type": "ProcessEngineException",
        "message": "internal server error; see the log",
    }


# -- tasks ----------------------------------------------------------------------------------------


def start_race(rest: Rest, api: Api, business_key: str) -> tuple[str, str]:
    definition_id = deployed_id(rest.deploy("race.bpmn", RACE.read_bytes()))
    instance = rest.start(definition_id, business_key).json()
    [task] = api.open_tasks(instance["id"])
    return instance["id"], str(task["id"])


def test_a_lost_claim_race_is_409_task_already_claimed(rest: Rest, api: Api) -> None:
    _instance, task_id = start_race(rest, api, "RACE-1")
    barrier = threading.Barrier(2)
    answers: dict[str, Any] = {}

    def claim(user: str) -> None:
        client = TestClient(create_app(ctx=api.ctx))  # no `with`: keep the shared engine
        barrier.wait()
        answers[user] = client.post(
            f"/engine-rest/task/{task_id}/claim", headers=basic(user), json={"userId": user}
        )

    threads = [threading.Thread(target=claim, args=(u,)) for u in ("clerk", "specialist")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    statuses = sorted(r.status_code for r in answers.values())
    assert statuses == [204, 409], {u: r.text for u, r in answers.items()}
    [lost] = [r for r in answers.values() if r.status_code == 409]
    assert lost.json()["type"] == "TaskAlreadyClaimedException"


def test_claiming_for_someone_else_is_for_supervisors(rest: Rest, api: Api) -> None:
    _instance, task_id = start_race(rest, api, "RACE-2")
    for_other = rest.post(f"/task/{task_id}/claim", "clerk", json={"userId": "specialist"})
    assert for_other.status_code == 403
    unknown = rest.post(f"/task/{task_id}/assignee", "admin", json={"userId": "nobody"})
    assert unknown.status_code == 400 and "nobody" in unknown.json()["message"]
    assert (
        rest.post(f"/task/{task_id}/assignee", "admin", json={"userId": "clerk"}).status_code == 204
    )
    assert rest.get(f"/task/{task_id}", "clerk").json()["assignee"] == "clerk"
    taken = rest.post(f"/task/{task_id}/claim", "admin", json={"userId": "specialist"})
    assert taken.status_code == 409 and taken.json()["type"] == "TaskAlreadyClaimedException"
    assert rest.post(f"/task/{task_id}/assignee", "admin", json={"userId": None}).status_code == 204
    assert rest.get(f"/task/{task_id}", "clerk").json()["assignee"] is None


def test_task_filters_sorting_paging_and_unknown_parameters(rest: Rest, api: Api) -> None:
    ids = [start_race(rest, api, f"RACE-F{n}")[1] for n in range(3)]
    assert rest.post(f"/task/{ids[0]}/claim", "clerk", json={"userId": "clerk"}).status_code == 204
    visible = rest.get("/task", "clerk", params={"processDefinitionKey": "race"}).json()
    assert {t["id"] for t in visible} == set(ids)
    # A candidate-group filter leaves out assigned tasks unless includeAssignedTasks is true.
    offered = rest.get("/task", "clerk", params={"candidateGroup": "hall_clerk"}).json()
    assert {t["id"] for t in offered} == set(ids[1:])
    with_assigned = {"candidateGroup": "hall_clerk", "includeAssignedTasks": "true"}
    assert len(rest.get("/task", "clerk", params=with_assigned).json()) == 3
    for_user = rest.get("/task", "admin", params={"candidateUser": "specialist"}).json()
    assert {t["id"] for t in for_user} == set(ids[1:])
    assert [t["id"] for t in rest.get("/task", "clerk", params={"assignee": "clerk"}).json()] == [
        ids[0]
    ]
    count = rest.get("/task/count", "clerk", params={"unassigned": "true"}).json()
    assert count == {"count": 2}
    page = rest.get(
        "/task",
        "clerk",
        params={"sortBy": "created", "sortOrder": "desc", "firstResult": 1, "maxResults": 1},
    ).json()
    assert len(page) == 1
    assert rest.get("/task", "clerk", params={"sortBy": "created"}).status_code == 400
    assert rest.get("/task", "clerk", params={"sortBy": "x", "sortOrder": "asc"}).status_code == 400
    unknown = rest.get("/task", "clerk", params={"involvedUser": "clerk"})
    assert unknown.status_code == 400 and "involvedUser" in unknown.json()["message"]
    assert rest.get("/task", "clerk", params={"tenantIdIn": "t1"}).json() == []
    assert rest.get("/task", "clerk", params={"dueBefore": "tomorrow"}).status_code == 400
    # Another group's user sees none of them; a task it cannot see is 404.
    assert rest.get("/task", "portal").json() == []
    assert rest.get(f"/task/{ids[1]}", "portal").status_code == 404


def test_a_date_whose_plus_was_not_escaped_is_named_as_such(rest: Rest) -> None:
    """`dueBefore=...000+0800` written into a URL as is arrives with a space for the '+': the
    400 says so rather than only quoting a date that looks right to the integrator."""
    unescaped = rest.get("/task?dueBefore=2025-03-01T08:00:00.000+0800")
    assert unescaped.status_code == 400
    assert "send the '+' of the offset as %2B" in unescaped.json()["message"]
    assert rest.get("/task?dueBefore=2025-03-01T08:00:00.000%2B0800").status_code == 200
    other = rest.get("/task?dueBefore=yesterday")
    assert other.status_code == 400 and "%2B" not in other.json()["message"]


# Dates whose UTC time is beyond the years 1 to 9999 (a UTC date-time column cannot hold them):
# they used to be a 500 (OverflowError converting them to UTC).
BEYOND_UTC = ("9999-12-31T23:59:59.000-0800", "0001-01-01T00:00:00.000+0800")
TASK_DATES = (
    "dueBefore",
    "dueAfter",
    "followUpBefore",
    "followUpAfter",
    "createdBefore",
    "createdAfter",
)


@pytest.mark.parametrize("moment", BEYOND_UTC)
@pytest.mark.parametrize(
    ("path", "name"),
    [
        *((path, name) for path in ("/task", "/task/count") for name in TASK_DATES),
        ("/deployment", "before"),
        ("/deployment", "after"),
        ("/deployment/count", "before"),
    ],
)
def test_a_query_date_beyond_utc_is_400_naming_it(
    rest: Rest, path: str, name: str, moment: str
) -> None:
    refused = rest.get(path, "admin", params={name: moment})
    assert refused.status_code == 400, refused.text
    body = refused.json()
    assert body["type"] == "InvalidRequestException"
    [detail] = body["details"]
    assert detail["field"] == name and "UTC" in detail["message"], detail
    for edge in ("9999-12-31T23:59:59.999+0000", "0001-01-01T00:00:00.000+0000"):
        assert rest.get(path, "admin", params={name: edge}).status_code == 200


def test_form_variables_completion_and_idempotency(rest: Rest, api: Api) -> None:
    deployment = rest.deploy("approval.bpmn", (DATA / "approval.bpmn").read_bytes())
    definition_id = deployed_id(deployment)
    variables = {"amount": {"value": 120, "type": "Long"}, "purpose": {"value": "new meter"}}
    key = {"Idempotency-Key": "start-1"}
    body = {"businessKey": "APP-1", "variables": variables, "withVariablesInReturn": True}
    first = rest.client.post(
        f"/engine-rest/process-definition/{definition_id}/start",
        headers={**basic("clerk"), **key},
        json=body,
    )
    retry = rest.client.post(
        f"/engine-rest/process-definition/{definition_id}/start",
        headers={**basic("clerk"), **key},
        json=body,
    )
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json() and retry.headers["Idempotent-Replayed"] == "true"
    assert first.json()["variables"]["amount"] == {"type": "Integer", "value": 120, "valueInfo": {}}
    instance_id = first.json()["id"]
    [task] = rest.get("/task", "admin", params={"processInstanceId": instance_id}).json()
    form = rest.get(f"/task/{task['id']}/form-variables", "admin").json()
    assert form["amount"] == {"type": "Long", "value": 120, "valueInfo": {}}
    assert set(form) == {"amount", "decision", "comment"}
    assert set(
        rest.get(
            f"/task/{task['id']}/form-variables", "admin", params={"variableNames": "decision"}
        ).json()
    ) == {"decision"}
    rest.post(f"/task/{task['id']}/claim", "admin", json={"userId": "admin"})
    # The form validates as on /api/v1: a read-only field and a bad enum value are refused.
    refused = rest.post(
        f"/task/{task['id']}/complete",
        "admin",
        json={"variables": {"amount": {"value": 1}, "decision": {"value": "MAYBE"}}},
    )
    assert refused.status_code == 400 and refused.json()["type"] == "InvalidRequestException"
    assert "amount" in refused.json()["message"] and "decision" in refused.json()["message"]
    done_body = {"variables": {"decision": {"value": "APPROVE"}}, "withVariablesInReturn": True}
    done = rest.client.post(
        f"/engine-rest/task/{task['id']}/submit-form",
        headers={**basic("admin"), "Idempotency-Key": "done-1"},
        json=done_body,
    )
    assert done.status_code == 200, done.text
    assert done.json()["decision"] == {"type": "String", "value": "APPROVE", "valueInfo": {}}
    replayed = rest.client.post(
        f"/engine-rest/task/{task['id']}/submit-form",
        headers={**basic("admin"), "Idempotency-Key": "done-1"},
        json=done_body,
    )
    assert replayed.status_code == 200 and replayed.json() == done.json()
    assert api.get(f"/process-instances/{instance_id}").json()["status"] == "completed"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ({"value": 5, "type": "Long"}, 5),
        ({"value": "5", "type": "integer"}, 5),
        ({"value": 2.5, "type": "Double"}, 2.5),
        ({"value": " -12 ", "type": "Long"}, -12),
        ({"value": "+1.5e3", "type": "Double"}, 1500.0),
        ({"value": ".5", "type": "Double"}, 0.5),
        ({"value": "true", "type": "Boolean"}, True),
        ({"value": None, "type": "Null"}, None),
        ({"value": "2025-03-01T00:00:00.000+0800", "type": "Date"}, "2025-03-01"),
        ({"value": "2025-03-01T09:30:00.000+0800", "type": "Date"}, "2025-03-01T09:30:00+08:00"),
        # Beijing midnight as a client in UTC writes it back (a Java client in a UTC container
        # echoing a date form field it read, JavaScript's toISOString()): the same calendar date.
        ({"value": "2025-02-28T16:00:00.000+0000", "type": "Date"}, "2025-03-01"),
        ({"value": "2025-02-28T16:00:00.000Z", "type": "Date"}, "2025-03-01"),
        ({"value": "2025-02-28T17:00:00.000+0000", "type": "Date"}, "2025-02-28T17:00:00+00:00"),
        # Beijing local time is in year 10000: not a midnight of its calendar, kept as written.
        ({"value": "9999-12-31T20:00:00.000+0000", "type": "Date"}, "9999-12-31T20:00:00+00:00"),
        ({"value": "0001-01-01T00:00:00.000+0000", "type": "Date"}, "0001-01-01"),
        ({"value": '{"a": [1, 2]}', "type": "Json"}, {"a": [1, 2]}),
        (
            {
                "value": "[1]",
                "type": "Object",
                "valueInfo": {"serializationDataFormat": "application/json"},
            },
            [1],
        ),
        ({"value": {"a": 1}}, {"a": 1}),
        ({"value": "x"}, "x"),
    ],
)
def test_typed_variables_become_plain_values(rest: Rest, typed: Any, expected: Any) -> None:
    definition_id = deployed_id(rest.deploy("race.bpmn", RACE.read_bytes()))
    started = rest.start(
        definition_id, "TYPED-1", variables={"x": typed}, withVariablesInReturn=True
    )
    assert started.status_code == 200, started.text
    instance = rest.get(f"/process-instance/{started.json()['id']}/variables").json()
    from bpmn_service.api.compat.values import to_typed

    assert instance["x"] == to_typed(expected)


@pytest.mark.parametrize(
    ("value", "typed"),
    [
        (2**31 - 1, {"type": "Integer", "value": 2**31 - 1, "valueInfo": {}}),
        (2**31, {"type": "Long", "value": 2**31, "valueInfo": {}}),
        (2**63 - 1, {"type": "Long", "value": 2**63 - 1, "valueInfo": {}}),
        (-(2**63), {"type": "Long", "value": -(2**63), "valueInfo": {}}),
        # beyond Java's long (a script's 10 ** 30): the exact digits as Json, not a Long
        (2**63, {"type": "Json", "value": "9223372036854775808", "valueInfo": {}}),
        (-(2**63) - 1, {"type": "Json", "value": "-9223372036854775809", "valueInfo": {}}),
        (10**30, {"type": "Json", "value": "1" + "0" * 30, "valueInfo": {}}),
    ],
)
def test_integers_are_typed_as_java_can_hold_them(value: int, typed: dict[str, Any]) -> None:
    from bpmn_service.api.compat.values import to_typed

    assert to_typed(value) == typed


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ({"value": "AAAA", "type": "Bytes"}, "Bytes is not supported"),
        (
            {
                "value": "x",
                "type": "Object",
                "valueInfo": {"serializationDataFormat": "application/x-java-serialized-object"},
            },
            "not supported",
        ),
        ({"value": 2**40, "type": "Integer"}, "out of the Integer range"),
        ({"value": "abc", "type": "Long"}, "must be an integer"),
        ({"value": "1_000", "type": "Long"}, "must be an integer in ASCII digits"),
        ({"value": "\u0661\u0662", "type": "Integer"}, "must be an integer in ASCII digits"),
        ({"value": "1_0.5", "type": "Double"}, "must be a number in ASCII digits"),
        ({"value": "infinity", "type": "Double"}, "must be a number"),
        ({"value": "{", "type": "Json"}, "must be JSON text"),
        ({"value": "x", "type": "Money"}, "'Money' is not supported"),
        ({"value": "soon", "type": "Date"}, "is not a date"),
        ({"value": "9999-12-31T23:59:59.000-1200", "type": "Date"}, "UTC"),
        ({"value": "9999-12-31T23:59:59.999-0001", "type": "Date"}, "UTC"),
        ({"value": "0001-01-01T00:00:00.000+0800", "type": "Date"}, "UTC"),
        ({"value": "0001-01-01T07:59:59.000+0800", "type": "Date"}, "UTC"),
        ("bare", "must be an object"),
    ],
)
def test_bad_typed_variables_are_400_naming_the_variable(
    rest: Rest, typed: Any, message: str
) -> None:
    definition_id = deployed_id(rest.deploy("race.bpmn", RACE.read_bytes()))
    refused = rest.start(definition_id, "BAD-1", variables={"x": typed})
    assert refused.status_code == 400
    assert refused.json()["type"] == "InvalidRequestException"
    assert "variables.x" in refused.json()["message"] and message in refused.json()["message"]


def test_start_refusals_match_the_native_api(rest: Rest) -> None:
    definition_id = deployed_id(rest.deploy("race.bpmn", RACE.read_bytes()))
    assert rest.start(definition_id, "DUP-1").status_code == 200
    duplicate = rest.start(definition_id, "DUP-1")
    assert duplicate.status_code == 409 and "DUP-1" in duplicate.json()["message"]
    reserved = rest.start(definition_id, "RES-1", variables={"initiator": {"value": "me"}})
    assert reserved.status_code == 400
    unsupported = rest.start(definition_id, "UNS-1", startInstructions=[{"type": "x"}])
    assert unsupported.status_code == 400 and "startInstructions" in unsupported.json()["message"]
    # Nothing to skip here (no listeners, no I/O mappings): accepted either way, as DELETE does.
    skipped = rest.start(definition_id, "SKIP-1", skipCustomListeners=True, skipIoMappings=True)
    assert skipped.status_code == 200, skipped.text
    unknown_field = rest.start(definition_id, "UNS-2", caseInstanceId="c", foo=1)
    assert unknown_field.status_code == 400
    generated = rest.post("/process-definition/key/race/start", "clerk", json={})
    assert generated.status_code == 200 and generated.json()["businessKey"].startswith("race-")
    assert rest.post("/process-definition/key/nope/start", json={}).status_code == 404


def test_definitions_and_deployments_queries(rest: Rest) -> None:
    first = deployed_id(rest.deploy("race.bpmn", RACE.read_bytes()))
    changed = RACE.read_bytes().replace(b'name="Grab me"', b'name="Grab me now"')
    second = deployed_id(rest.deploy("race.bpmn", changed))
    assert first != second
    everything = rest.get("/process-definition", "clerk", params={"key": "race"}).json()
    assert [d["version"] for d in everything] == [1, 2]
    latest = rest.get("/process-definition", "clerk", params={"latestVersion": "true"}).json()
    assert [d["id"] for d in latest if d["key"] == "race"] == [second]
    assert rest.get("/process-definition/key/race", "clerk").json()["id"] == second
    xml = rest.get(f"/process-definition/{first}/xml", "clerk").json()
    assert xml["id"] == first and 'name="Grab me"' in xml["bpmn20Xml"]
    assert rest.get("/process-definition/count", "clerk", params={"keyLike": "ra%"}).json() == {
        "count": 2
    }
    ordered = rest.get(
        "/process-definition",
        "clerk",
        params={"key": "race", "sortBy": "version", "sortOrder": "desc"},
    ).json()
    assert [d["version"] for d in ordered] == [2, 1]
    deployments = rest.get("/deployment", "clerk", params={"source": "Camunda Modeler"}).json()
    assert len(deployments) == 2
    assert rest.get("/deployment/count", "clerk").json() == {"count": 2}
    assert rest.get("/process-definition/nope").status_code == 404
    assert rest.get("/process-definition/nope").json()["type"] == "InvalidRequestException"


def test_openapi_of_engine_rest_is_separate_and_its_docs_load_nothing_from_elsewhere(
    rest: Rest,
) -> None:
    spec = rest.client.get("/engine-rest/openapi.json").json()
    assert "/task/{task_id}/claim" in spec["paths"]
    assert "/deployment/create" in spec["paths"]
    native = rest.client.get("/openapi.json").json()
    assert not any(p.startswith("/engine-rest") for p in native["paths"])
    docs = rest.client.get("/engine-rest/docs")
    assert docs.status_code == 200
    urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", docs.text)
    assert "/engine-rest/openapi.json" in urls
    for url in urls:
        assert url.startswith("/"), f"{url} is not served by the service"
        assert rest.client.get(url).status_code == 200, url
    assert rest.client.get("/engine-rest/redoc").status_code == 404


def test_shipped_processes_deploy_the_modeler_way(rest: Rest) -> None:
    for path in sorted((ROOT / "processes").glob("*.bpmn")):
        response = rest.deploy(path.name, path.read_bytes())
        assert response.status_code == 200, (path.name, response.text[:300])


# -- external tasks and messages ------------------------------------------------------------------


def sla_demo_waiting_for_sms(
    rest: Rest, api: Api, business_key: str, bpmn: bytes | None = None
) -> str:
    """An sla_demo instance at its sms external task (reply done, awaited message received);
    `bpmn`: a variant of sla_demo.bpmn to deploy instead."""
    content = bpmn if bpmn is not None else (DATA / "sla_demo.bpmn").read_bytes()
    assert api.deploy_bytes("sla_demo.bpmn", content).status_code == 201
    started = api.start("sla_demo", business_key, {"category": "RES"}).json()
    [reply] = started["tasks"]
    api.claim(reply["id"], "clerk")
    assert api.complete(reply["id"], "clerk", {"replied": True}).status_code == 200
    message = {
        "messageName": "docs_supplemented",
        "businessKey": business_key,
        "resultEnabled": True,
    }
    delivered = rest.post("/message", "portal", json=message)
    assert delivered.status_code == 200, delivered.text
    [result] = delivered.json()
    assert result["resultType"] == "Execution"
    assert result["processInstance"]["id"] == started["id"]
    return str(started["id"])


def fetch(rest: Rest, worker_id: str = "w1", **topic: Any) -> Any:
    body = {
        "workerId": worker_id,
        "maxTasks": 5,
        "topics": [{"topicName": "sms", "lockDuration": 60_000, **topic}],
    }
    return rest.post("/external-task/fetchAndLock", "worker", json=body)


def test_external_task_lock_extend_complete(rest: Rest, api: Api) -> None:
    instance_id = sla_demo_waiting_for_sms(rest, api, "SMS-1")
    assert fetch(rest, processVariables={"x": {"value": 1}}).status_code == 400
    assert fetch(rest, tenantIdIn=["t1"]).json() == []
    locked = fetch(rest, variables=["category"]).json()
    [task] = locked
    assert task["activityId"] == "notify" and task["businessKey"] == "SMS-1"
    assert task["variables"] == {"category": {"type": "String", "value": "RES", "valueInfo": {}}}
    assert task["workerId"] == "w1" and task["lockExpirationTime"].endswith("+0000")
    assert fetch(rest, "w2").json() == []  # locked for w1
    extend = {"workerId": "w1", "newDuration": 120_000}
    assert (
        rest.post(f"/external-task/{task['id']}/extendLock", "worker", json=extend).status_code
        == 204
    )
    wrong = {"workerId": "w2", "newDuration": 1000}
    refused = rest.post(f"/external-task/{task['id']}/extendLock", "worker", json=wrong)
    assert refused.status_code == 409
    too_long = {"workerId": "w1", "newDuration": 10**15}
    assert (
        rest.post(f"/external-task/{task['id']}/extendLock", "worker", json=too_long).status_code
        == 400
    )
    clerk = rest.post("/external-task/fetchAndLock", "clerk", json={"workerId": "c", "topics": []})
    assert clerk.status_code == 400  # no topics
    forbidden = rest.post(
        "/external-task/fetchAndLock",
        "clerk",
        json={"workerId": "c", "topics": [{"topicName": "sms", "lockDuration": 1000}]},
    )
    assert forbidden.status_code == 403
    local = {"workerId": "w1", "localVariables": {"a": {"value": 1}}}
    assert (
        rest.post(f"/external-task/{task['id']}/complete", "worker", json=local).status_code == 400
    )
    done = {"workerId": "w1", "variables": {"smsId": {"value": "SMS-9", "type": "String"}}}
    assert (
        rest.post(f"/external-task/{task['id']}/complete", "worker", json=done).status_code == 204
    )
    assert api.get(f"/process-instances/{instance_id}").json()["variables"]["smsId"] == "SMS-9"


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59.000-1200", "0001-01-01T07:00:00.000+0800"])
def test_a_date_variable_beyond_utc_is_400_naming_it_at_start_and_completion(
    rest: Rest, api: Api, moment: str
) -> None:
    """A start by key and an external task's completion with such a Date: 400 naming the
    variable, nothing written, where they used to be a 500."""
    bad = {"d": {"value": moment, "type": "Date"}}
    instance_id = sla_demo_waiting_for_sms(rest, api, "SMS-DATE")
    started = rest.post("/process-definition/key/sla_demo/start", "clerk", json={"variables": bad})
    assert started.status_code == 400, started.text
    assert started.json()["type"] == "InvalidRequestException"
    [detail] = started.json()["details"]
    assert detail["field"] == "variables.d" and "UTC" in detail["message"], detail
    [task] = fetch(rest).json()
    complete = {"workerId": "w1", "variables": bad}
    refused = rest.post(f"/external-task/{task['id']}/complete", "worker", json=complete)
    assert refused.status_code == 400, refused.text
    [detail] = refused.json()["details"]
    assert detail["field"] == "variables.d" and "UTC" in detail["message"], detail
    assert "d" not in api.get(f"/process-instances/{instance_id}").json()["variables"]
    fine = {
        "workerId": "w1",
        "variables": {"d": {"value": "9999-12-31T23:59:59.000+0000", "type": "Date"}},
    }
    done = rest.post(f"/external-task/{task['id']}/complete", "worker", json=fine)
    assert done.status_code == 204, done.text


def test_external_task_count_and_single_variables_answer_as_in_camunda(
    rest: Rest, api: Api
) -> None:
    """`GET /external-task/count` was read as the task id "count" (404 "external task count does
    not exist"); one variable by name (`/process-instance/{id}/variables/{name}`,
    `/task/{id}/variables/{name}`) was a 404 NotFoundException."""
    instance_id = sla_demo_waiting_for_sms(rest, api, "SMS-COUNT")
    assert rest.get("/external-task/count", "worker").json() == {"count": 1}
    assert rest.get("/external-task/count?topicName=sms", "worker").json() == {"count": 1}
    assert rest.get("/external-task/count?topicName=other", "worker").json() == {"count": 0}
    assert rest.get("/external-task/count?noRetriesLeft=true", "worker").json() == {"count": 0}
    assert rest.get("/external-task/count?workerId=w1", "worker").status_code == 400
    assert rest.get("/external-task/count", "clerk").status_code == 403

    one = rest.get(f"/process-instance/{instance_id}/variables/category")
    assert one.status_code == 200, one.text
    assert one.json() == {"type": "String", "value": "RES", "valueInfo": {}}
    missing = rest.get(f"/process-instance/{instance_id}/variables/nope")
    assert missing.status_code == 404
    assert missing.json()["type"] == "InvalidRequestException"
    assert "nope" in missing.json()["message"]

    racing_id, task_id = start_race(rest, api, "VAR-1")
    by_task = rest.get(f"/task/{task_id}/variables/businessKey", "clerk")
    assert by_task.status_code == 200, by_task.text
    assert by_task.json() == {"type": "String", "value": "VAR-1", "valueInfo": {}}
    assert rest.get(f"/task/{task_id}/variables/nope", "clerk").status_code == 404
    assert (
        rest.get(f"/process-instance/{racing_id}/variables/initiator", "portal").status_code == 404
    )


def test_reading_a_completed_task_is_404_as_in_camunda(rest: Rest, api: Api) -> None:
    """Camunda's runtime forgets a completed task: `GET /task/{id}` answers 404. Here the reads
    answered 409 ProcessEngineException ("already ended"), which clients polling a task they
    showed take for a server fault rather than for "gone"."""
    _instance_id, task_id = start_race(rest, api, "GONE-1")
    assert rest.post(f"/task/{task_id}/claim", "clerk", json={"userId": "clerk"}).status_code == 204
    assert rest.post(f"/task/{task_id}/complete", "clerk", json={}).status_code == 204
    for path in ("", "/variables", "/variables/businessKey", "/form-variables"):
        gone = rest.get(f"/task/{task_id}{path}", "clerk")
        assert gone.status_code == 404, (path, gone.text)
        assert gone.json()["type"] == "InvalidRequestException"
        assert "already ended" in gone.json()["message"]
    # Acting on it stays a conflict, as documented (docs/camunda.md, Errors).
    assert rest.post(f"/task/{task_id}/complete", "clerk", json={}).status_code == 409


def test_a_failure_without_retries_is_an_incident_and_retries_revive_it(
    rest: Rest, api: Api
) -> None:
    sla_demo_waiting_for_sms(rest, api, "SMS-2")
    [task] = fetch(rest).json()
    failure = {"workerId": "w1", "errorMessage": "gateway down", "retries": 0, "retryTimeout": 0}
    assert (
        rest.post(f"/external-task/{task['id']}/failure", "worker", json=failure).status_code == 204
    )
    [incident] = rest.get("/external-task", "worker", params={"noRetriesLeft": "true"}).json()
    assert incident["id"] == task["id"] and incident["errorMessage"] == "gateway down"
    # The last lock holder stays on the incident (as in Camunda); its lock is gone.
    assert incident["workerId"] == "w1" and incident["lockExpirationTime"] is None
    complete = rest.post(f"/external-task/{task['id']}/complete", "worker", json={"workerId": "w1"})
    assert complete.status_code == 409 and "not locked by worker" in complete.json()["message"]
    assert fetch(rest).json() == []
    revive = rest.client.put(
        f"/engine-rest/external-task/{task['id']}/retries",
        headers=basic("admin"),
        json={"retries": 2},
    )
    assert revive.status_code == 204
    assert [t["id"] for t in fetch(rest).json()] == [task["id"]]


def test_an_external_tasks_priority_is_refused_naming_it(rest: Rest, api: Api) -> None:
    """Tasks are fetched oldest first; a priority kept without effect would mislead."""
    sla_demo_waiting_for_sms(rest, api, "SMS-PRIO")
    [task] = fetch(rest).json()
    put = rest.client.put
    refused = put(
        f"/engine-rest/external-task/{task['id']}/priority",
        headers=basic("admin"),
        json={"priority": 5},
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["type"] == "InvalidRequestException"
    assert refused.json()["details"][0]["field"] == "priority"
    missing = put(
        "/engine-rest/external-task/nope/priority", headers=basic("admin"), json={"priority": 5}
    )
    assert missing.status_code == 404


def test_fetch_and_lock_waits_for_a_task_that_appears(rest: Rest, api: Api) -> None:
    answer: dict[str, Any] = {}

    def long_poll() -> None:
        client = TestClient(create_app(ctx=api.ctx))  # no `with`: keep the shared engine
        body = {
            "workerId": "patient",
            "maxTasks": 1,
            "asyncResponseTimeout": 20_000,
            "topics": [{"topicName": "sms", "lockDuration": 60_000}],
        }
        answer["response"] = client.post(
            "/engine-rest/external-task/fetchAndLock", headers=basic("worker"), json=body
        )

    waiting = threading.Thread(target=long_poll)
    waiting.start()
    sla_demo_waiting_for_sms(rest, api, "SMS-3")  # creates the sms task meanwhile
    waiting.join(30)
    assert not waiting.is_alive()
    [task] = answer["response"].json()
    assert task["workerId"] == "patient" and task["businessKey"] == "SMS-3"


def test_messages_refuse_what_is_not_supported(rest: Rest) -> None:
    assert (
        rest.post("/message", "portal", json={"messageName": "x", "all": True}).status_code == 400
    )
    nothing = rest.post(
        "/message", "portal", json={"messageName": "nobody_waits", "businessKey": "N"}
    )
    assert nothing.status_code == 404
    assert nothing.json()["type"] == "InvalidRequestException"
    needs_oversight = {"messageName": "x", "variablesInResultEnabled": True, "resultEnabled": True}
    assert rest.post("/message", "portal", json=needs_oversight).status_code == 403


# -- hostile input and CORS -----------------------------------------------------------------------


def test_hostile_bodies_get_camunda_shaped_4xx(rest: Rest) -> None:
    definition_id = deployed_id(rest.deploy("race.bpmn", RACE.read_bytes()))
    deep = "[" * 100_000 + "]" * 100_000
    nested = rest.start(definition_id, "DEEP-1", variables={"x": {"value": deep, "type": "Json"}})
    assert nested.status_code == 400 and "nested deeper than 64 levels" in nested.json()["message"]
    nul = rest.client.post(
        f"/engine-rest/process-definition/{definition_id}/start",
        headers={**basic("clerk"), "Content-Type": "application/json"},
        content=b'{"businessKey": "A\\u0000"}',
    )
    assert nul.status_code == 400 and nul.json()["type"] == "InvalidRequestException"
    broken = rest.client.post(
        f"/engine-rest/process-definition/{definition_id}/start",
        headers={**basic("clerk"), "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert broken.status_code == 400 and broken.json()["type"] == "InvalidRequestException"
    big = rest.deploy("big.bpmn", b" " * (5 * 1024 * 1024 + 1))
    assert big.status_code == 413 and big.json()["type"] == "InvalidRequestException"
    assert rest.get("/no-such-resource").json()["type"] == "NotFoundException"


def test_cors_is_off_by_default_and_answers_configured_origins(api: Api) -> None:
    preflight = {
        "Origin": "https://modeler.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
    }
    plain = api.client.options("/engine-rest/deployment/create", headers=preflight)
    assert "access-control-allow-origin" not in plain.headers
    settings = api.ctx.settings.model_copy(update={"cors_origins": "https://modeler.example"})
    client = TestClient(create_app(ctx=replace(api.ctx, settings=settings)))
    allowed = client.options("/engine-rest/deployment/create", headers=preflight)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://modeler.example"
    refused = client.get("/engine-rest/version", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in refused.headers
    unauthorized = client.get("/engine-rest/task", headers={"Origin": "https://modeler.example"})
    assert unauthorized.status_code == 401
    assert unauthorized.headers["access-control-allow-origin"] == "https://modeler.example"


def test_the_deploy_answer_carries_the_same_warnings_as_the_native_one(
    rest: Rest, api: Api
) -> None:
    camunda = rest.deploy("escalation.bpmn", (DATA / "escalation.bpmn").read_bytes())
    assert camunda.status_code == 200, camunda.text
    native = api.deploy(DATA / "escalation.bpmn")
    assert camunda.json()["warnings"] and camunda.json()["warnings"] == native.json()["warnings"]
    assert (
        deployed_id(rest.deploy("race.bpmn", RACE.read_bytes()))
        and rest.deploy("race.bpmn", RACE.read_bytes()).json()["warnings"] == []
    )


def test_external_task_topic_names_answer_as_in_camunda(rest: Rest, api: Api) -> None:
    """`GET /external-task/topic-names` was read as the task id "topic-names" (404)."""
    sla_demo_waiting_for_sms(rest, api, "SMS-TOPICS")
    assert rest.get("/external-task/topic-names", "worker").json() == ["sms"]
    assert rest.get("/external-task/topic-names?withUnlockedTasks=true", "worker").json() == ["sms"]
    assert rest.get("/external-task/topic-names?withLockedTasks=true", "worker").json() == []
    fetch(rest)
    assert rest.get("/external-task/topic-names?withLockedTasks=true", "worker").json() == ["sms"]
    assert rest.get("/external-task/topic-names?withUnlockedTasks=true", "worker").json() == []
    assert rest.get("/external-task/topic-names?withRetriesLeft=true", "worker").json() == ["sms"]
    assert rest.get("/external-task/topic-names?workerId=w1", "worker").status_code == 400
    assert rest.get("/external-task/topic-names", "clerk").status_code == 403


def test_a_tasks_identity_links_name_its_candidates_and_assignee(rest: Rest, api: Api) -> None:
    _instance, task_id = start_race(rest, api, "LINKS-1")
    links = rest.get(f"/task/{task_id}/identity-links", "clerk")
    assert links.status_code == 200, links.text
    # The candidate groups of the race model, sorted.
    groups = sorted(
        "hall_clerk,yk_specialist,plan_engineer,dev_planning,om_dept,dispatch,"
        "inspection,metering".split(",")
    )
    assert links.json() == [{"userId": None, "groupId": g, "type": "candidate"} for g in groups]
    assert rest.post(f"/task/{task_id}/claim", "clerk", json={"userId": "clerk"}).status_code == 204
    claimed = rest.get(f"/task/{task_id}/identity-links", "clerk").json()
    assert claimed[0] == {"userId": "clerk", "groupId": None, "type": "assignee"}
    assignee_only = rest.get(f"/task/{task_id}/identity-links?type=assignee", "clerk").json()
    assert assignee_only == [claimed[0]]
    assert rest.get(f"/task/{task_id}/identity-links", "portal").status_code == 404
    assert rest.get("/task/nope/identity-links", "clerk").status_code == 404
    assert rest.get(f"/task/{task_id}/identity-links?userId=x", "clerk").status_code == 400


# -- found with the real clients (pycamunda, the Python external-task client) ---------------------


def _sla_demo_with_properties() -> bytes:
    """sla_demo.bpmn whose sms task carries camunda:properties (the Modeler's Extension
    properties), as the shipped yekuo_streamlined.bpmn's external tasks do."""
    xml = (DATA / "sla_demo.bpmn").read_text(encoding="utf-8")
    task = (
        '<bpmn:serviceTask id="notify" name="Send SMS" camunda:type="external" camunda:topic="sms">'
    )
    assert task in xml
    properties = (
        "<bpmn:extensionElements><camunda:properties>"
        '<camunda:property name="template" value="SMS-SUPPLEMENTED"/>'
        '<camunda:property name="channel" value="短信"/>'
        "</camunda:properties></bpmn:extensionElements>"
    )
    return xml.replace(task, task + properties).encode()


def test_fetch_and_lock_hands_out_extension_properties_when_asked(rest: Rest, api: Api) -> None:
    """includeExtensionProperties gave `{}` whatever the element declared."""
    sla_demo_waiting_for_sms(rest, api, "SMS-PROPS", _sla_demo_with_properties())
    [plain] = fetch(rest).json()
    assert plain["extensionProperties"] == {}  # not asked: none, as in Camunda
    assert rest.post(f"/external-task/{plain['id']}/unlock", "worker").status_code == 204
    [asked] = fetch(rest, includeExtensionProperties=True).json()
    assert asked["id"] == plain["id"]
    assert asked["extensionProperties"] == {"template": "SMS-SUPPLEMENTED", "channel": "短信"}


def test_a_message_to_a_waiting_instance_names_the_execution(rest: Rest, api: Api) -> None:
    """resultType Execution came with `execution: null` (pycamunda's CorrelateSingle crashed)."""
    assert api.deploy(DATA / "sla_demo.bpmn").status_code == 201
    started = api.start("sla_demo", "MSG-EXEC", {"category": "RES"}).json()
    [reply] = started["tasks"]
    api.claim(reply["id"], "clerk")
    assert api.complete(reply["id"], "clerk", {"replied": True}).status_code == 200
    body = {"messageName": "docs_supplemented", "businessKey": "MSG-EXEC", "resultEnabled": True}
    delivered = rest.post("/message", "portal", json=body)
    assert delivered.status_code == 200, delivered.text
    [result] = delivered.json()
    assert result["resultType"] == "Execution"
    assert result["execution"] == {
        "id": started["id"],
        "processInstanceId": started["id"],
        "ended": False,
        "tenantId": None,
    }


def test_deleting_an_instance_takes_camundas_flags_and_reason(rest: Rest, api: Api) -> None:
    """pycamunda always sends the four flags (false): they were refused as unknown."""
    instance_id, _task = start_race(rest, api, "DEL-1")
    flags = {
        "skipCustomListeners": "false",
        "skipIoMappings": "false",
        "skipSubprocesses": "false",
        "failIfNotExists": "false",
    }
    reason = {"deleteReason": "customer withdrew"}
    first = rest.client.delete(
        f"/engine-rest/process-instance/{instance_id}",
        headers=basic("admin"),
        params={**flags, **reason},
    )
    assert first.status_code == 204, first.text
    history = rest.get(f"/history/process-instance/{instance_id}").json()
    assert history["state"] == "EXTERNALLY_TERMINATED"
    assert history["deleteReason"] == "customer withdrew"
    # Ended: 404 as in Camunda (it was 409), 204 with failIfNotExists=false.
    again = rest.client.delete(
        f"/engine-rest/process-instance/{instance_id}", headers=basic("admin")
    )
    assert again.status_code == 404 and again.json()["type"] == "InvalidRequestException"
    assert "has ended" in again.json()["message"]
    quiet = rest.client.delete(
        f"/engine-rest/process-instance/{instance_id}", headers=basic("admin"), params=flags
    )
    assert quiet.status_code == 204
    unknown = "/engine-rest/process-instance/no-such-instance"
    assert rest.client.delete(unknown, headers=basic("admin")).status_code == 404
    assert rest.client.delete(unknown, headers=basic("admin"), params=flags).status_code == 204
    # The skip flags change nothing here (no listeners, I/O mappings or called instances).
    other, _task = start_race(rest, api, "DEL-2")
    skip = {"skipCustomListeners": "true", "skipIoMappings": "true", "skipSubprocesses": "true"}
    skipped = rest.client.delete(
        f"/engine-rest/process-instance/{other}", headers=basic("admin"), params=skip
    )
    assert skipped.status_code == 204, skipped.text
    assert api.get(f"/process-instances/{other}").json()["status"] == "cancelled"
    odd = rest.client.delete(
        f"/engine-rest/process-instance/{other}", headers=basic("admin"), params={"cascade": "1"}
    )
    assert odd.status_code == 400  # an unknown parameter is still refused


def _typed_forms_with_every_type() -> bytes:
    """typed_forms.bpmn whose first user task's form has a field of every type."""
    xml = (DATA / "typed_forms.bpmn").read_text(encoding="utf-8")
    old = (
        '<camunda:formField id="capacity" label="Capacity (kVA)" type="double"/>\n'
        '        <camunda:formField id="mixed" label="Mixed" type="long"/>\n'
        '        <camunda:formField id="both" label="Both" type="long"/>'
    )
    assert old in xml
    fields = (
        '<camunda:formField id="note" label="Note" type="string"/>'
        '<camunda:formField id="kind" label="Kind" type="enum">'
        '<camunda:value id="A" name="A"/><camunda:value id="B" name="B"/></camunda:formField>'
        '<camunda:formField id="count" label="Meters" type="long"/>'
        '<camunda:formField id="capacity" label="Capacity (kVA)" type="double"/>'
        '<camunda:formField id="flag" label="Urgent" type="boolean"/>'
        '<camunda:formField id="visit" label="Visit" type="date"/>'
    )
    return xml.replace(old, fields).encode()


def test_an_empty_form_field_is_typed_as_the_field(rest: Rest, api: Api) -> None:
    """An empty field came back as type Null; Camunda types it as the form field (value null)."""
    definition_id = deployed_id(rest.deploy("typed_forms.bpmn", _typed_forms_with_every_type()))
    instance = rest.start(definition_id, "FORM-NULL")
    assert instance.status_code == 200, instance.text
    [task] = api.open_tasks(instance.json()["id"])
    form = rest.get(f"/task/{task['id']}/form-variables", "admin")
    assert form.status_code == 200, form.text
    assert form.json() == {
        name: {"type": kind, "value": None, "valueInfo": {}}
        for name, kind in {
            "note": "String",
            "kind": "String",
            "count": "Long",
            "capacity": "Double",
            "flag": "Boolean",
            "visit": "Date",
        }.items()
    }


def test_a_long_failure_is_kept_shortened_not_refused(rest: Rest, api: Api) -> None:
    """A worker's failure with a long message or stack trace was 400 and the task stayed locked."""
    sla_demo_waiting_for_sms(rest, api, "SMS-LONG")
    [task] = fetch(rest).json()
    message = "gateway down: " + "m" * 5000
    details = "Traceback (most recent call last):\n" + "  frame\n" * 20_000  # 160,035 characters
    failure = {
        "workerId": "w1",
        "errorMessage": message,
        "errorDetails": details,
        "retries": 1,
        "retryTimeout": 0,
    }
    answer = rest.post(f"/external-task/{task['id']}/failure", "worker", json=failure)
    assert answer.status_code == 204, answer.text[:300]
    [again] = fetch(rest, "w2").json()
    assert again["id"] == task["id"]
    assert again["errorMessage"] == message[:4000]
    kept = again["errorDetails"]
    assert len(kept) == 100_000 and kept.endswith(" … (truncated)")
    assert details.startswith(kept.removesuffix(" … (truncated)"))
    short = {**failure, "workerId": "w2", "errorMessage": "short", "errorDetails": "one line"}
    assert (
        rest.post(f"/external-task/{task['id']}/failure", "worker", json=short).status_code == 204
    )
    [third] = fetch(rest, "w3").json()
    assert (third["errorMessage"], third["errorDetails"]) == ("short", "one line")


def test_refusals_name_the_field_and_the_reason(rest: Rest, api: Api) -> None:
    """userId was called a variable; an unsupported topic field said "Input should be None"."""
    _instance, task_id = start_race(rest, api, "MSG-WORDS")
    ghost = rest.post(f"/task/{task_id}/assignee", "admin", json={"userId": "ghost"})
    assert ghost.status_code == 400
    assert ghost.json()["type"] == "InvalidRequestException"
    assert ghost.json()["message"] == "userId: 'ghost' is no user of this service"
    tagged = fetch(rest, processDefinitionVersionTag="1.0")
    assert tagged.status_code == 400 and tagged.json()["type"] == "InvalidRequestException"
    assert (
        "processDefinitionVersionTag: version tags are not supported here"
        in (tagged.json()["message"])
    )
    assert "Input should be None" not in tagged.json()["message"]
    tenant = rest.post("/message", "portal", json={"messageName": "x", "tenantId": "t1"})
    assert tenant.status_code == 400
    assert "tenantId: is not supported here" in tenant.json()["message"]


def test_a_tasklists_first_calls_are_answered(rest: Rest, api: Api) -> None:
    """Tasklists ask for a task's form first and may be set up with the engine's name: both
    were 404."""
    _instance, task_id = start_race(rest, api, "FORM-1")
    form = rest.get(f"/task/{task_id}/form")
    assert form.status_code == 200, form.text
    assert form.json() == {"key": None, "contextPath": None, "camundaFormRef": None}
    assert rest.get("/task/no-such-task/form").status_code == 404
    # The one engine, "default", answers under its name as at the root.
    named = rest.get(f"/engine/default/task/{task_id}")
    assert named.status_code == 200 and named.json() == rest.get(f"/task/{task_id}").json()
    listed = rest.get("/engine/default/task", params={"processInstanceBusinessKey": "FORM-1"})
    assert [t["id"] for t in listed.json()] == [task_id]
    assert rest.get(f"/engine/other/task/{task_id}").status_code == 404
