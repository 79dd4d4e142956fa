"""Deployments over REST: versions, de-duplication, all-or-nothing checks, limits, permissions."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bpmn_service.config import Settings
from bpmn_service.context import AppContext
from bpmn_service.main import SYSTEM, create_app
from bpmn_service.services.deployments import deploy_directory
from conftest import DATA, Api

APPROVAL = DATA / "approval.bpmn"
V1 = DATA / "versioned_v1.bpmn"
V2 = DATA / "versioned_v2.bpmn"
BAD = DATA / "bad_two_problems.bpmn"
SMALL_UPLOAD_LIMIT = 3000


def definitions_count(api: Api) -> int:
    return sum(len(d["versions"]) for d in api.get("/process-definitions").json())


def by_key(response: Any) -> dict[str, dict[str, Any]]:
    return {d["key"]: d for d in response.json()["definitions"]}


def line_of(path: Any, element_id: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if f'id="{element_id}"' in line)


def test_several_files_at_once_and_unchanged_files_are_not_redeployed(api: Api) -> None:
    first = api.deploy(APPROVAL, V1)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["id"] is not None
    assert body["name"] == "approval, versioned_v1"
    deployed = by_key(first)
    assert set(deployed) == {"approval", "versioned"}
    assert all(d["created"] and d["version"] == 1 for d in deployed.values())
    assert deployed["versioned"]["resource_name"] == "versioned_v1.bpmn"

    again = api.deploy(V1, APPROVAL)
    assert again.status_code == 201, again.text
    assert again.json()["id"] is None, "nothing new was deployed"
    redeployed = by_key(again)
    for key in ("approval", "versioned"):
        assert redeployed[key]["created"] is False
        assert redeployed[key]["version"] == 1
        assert redeployed[key]["id"] == deployed[key]["id"]
    assert definitions_count(api) == 2

    # One unchanged and one new file: only the new one is stored.
    mixed = api.deploy(APPROVAL, V2)
    result = by_key(mixed)
    assert result["approval"] == {**deployed["approval"], "created": False}
    assert result["versioned"]["created"] is True and result["versioned"]["version"] == 2
    assert mixed.json()["id"] is not None
    assert definitions_count(api) == 3


def test_deployment_name_is_kept(api: Api) -> None:
    files = [("files", (V1.name, V1.read_bytes(), "application/xml"))]
    response = api.post("/deployments", "analyst", files=files, data={"name": "release 7"})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "release 7"


def test_changed_file_becomes_the_next_version(api: Api) -> None:
    assert by_key(api.deploy(V1))["versioned"]["version"] == 1
    second = by_key(api.deploy(V2))["versioned"]
    assert second["version"] == 2 and second["created"] is True
    assert second["name"] == "Versioned process v2"

    listing = api.get("/process-definitions", "clerk")
    assert listing.status_code == 200
    [definition] = listing.json()
    assert definition["key"] == "versioned"
    assert definition["name"] == "Versioned process v2"
    assert definition["latest_version"] == 2
    assert [v["version"] for v in definition["versions"]] == [2, 1]
    assert [v["name"] for v in definition["versions"]] == [
        "Versioned process v2",
        "Versioned process",
    ]
    checksums = [v["checksum"] for v in definition["versions"]]
    assert checksums == [
        hashlib.sha256(V2.read_bytes()).hexdigest(),
        hashlib.sha256(V1.read_bytes()).hexdigest(),
    ]

    one = api.get("/process-definitions/versioned", "clerk").json()
    assert one == definition

    latest = api.get("/process-definitions/versioned/xml", "clerk")
    assert latest.status_code == 200
    assert latest.headers["content-type"].startswith("application/xml")
    assert latest.content == V2.read_bytes()
    assert api.get("/process-definitions/versioned/xml?version=1").content == V1.read_bytes()
    assert api.get("/process-definitions/versioned/xml?version=2").content == V2.read_bytes()
    assert api.get("/process-definitions/versioned/xml?version=3").status_code == 404
    assert api.get("/process-definitions/versioned/xml?version=0").status_code == 422


def test_a_restart_does_not_roll_back_a_later_deployment(api: Api, tmp_path: Path) -> None:
    """The start-up deployment of processes/ deploys a file whose content is new for its process;
    a file that is an older version (an analyst deployed an edit from the workspace, the Modeler
    or the API since) leaves the later version the latest, on every restart of every server."""
    processes = tmp_path / "processes"
    processes.mkdir()
    original = (DATA / "approval.bpmn").read_bytes()
    (processes / "approval.bpmn").write_bytes(original)
    first = deploy_directory(api.ctx, processes, SYSTEM)
    assert [(d.version, d.created) for d in first.definitions] == [(1, True)]

    edited = original.replace(b'name="Review request"', b'name="Review the request"', 1)
    assert edited != original
    assert api.deploy_bytes("approval.bpmn", edited).json()["definitions"][0]["version"] == 2

    again = deploy_directory(api.ctx, processes, SYSTEM)  # a restart
    assert again.id is None
    assert [(d.version, d.created) for d in again.definitions] == [(2, False)]
    assert api.get("/process-definitions/approval").json()["versions"][0]["version"] == 2

    # a file that changed in processes/ (new content) is still deployed at start
    (processes / "approval.bpmn").write_bytes(
        original.replace(b'name="Review request"', b'name="Review, then decide"', 1)
    )
    changed = deploy_directory(api.ctx, processes, SYSTEM)
    assert [(d.version, d.created) for d in changed.definitions] == [(3, True)]
    # and an older file deployed on purpose through the API becomes the latest again
    assert api.deploy_bytes("approval.bpmn", original).json()["definitions"][0]["version"] == 4


def test_start_up_deploys_the_good_files_and_lists_each_refused_files_findings(
    app_ctx: AppContext,
    database: tuple[str, str | None, Any],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One bad file in processes/ made start-up fail with a traceback (uvicorn exit 3) and
    deployed none of the good ones. Now the good files are deployed, each finding of a refused
    file is a line of its own (as `check` prints it), one line counts the refused files, and
    the service is ready."""
    processes = tmp_path / "processes"
    processes.mkdir()
    for path in (APPROVAL, V1, BAD):
        (processes / path.name).write_bytes(path.read_bytes())
    (processes / "copy.bpmn").write_bytes(APPROVAL.read_bytes())  # approval a second time
    settings = app_ctx.settings.model_copy(
        update={"processes_dir": processes, "deploy_on_start": True}
    )
    ctx = AppContext.create(settings, engine=database[2])
    caplog.set_level("INFO", logger="bpmn_service")
    with TestClient(create_app(ctx=ctx)) as client:
        assert client.get("/api/v1/health/ready").json() == {"status": "ok"}
    api = Api(client, ctx)
    deployed = {d["key"] for d in api.get("/process-definitions").json()}
    assert deployed == {"approval", "versioned"}
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("bpmn_service")]
    refused = [line for line in lines if ": error: " in line]
    assert len(refused) == 3, lines
    assert sum(line.startswith("bad_two_problems.bpmn:") for line in refused) == 2
    assert refused[-1].startswith(
        "copy.bpmn: error: process 'approval' is also defined in approval.bpmn ("
    )
    [summary] = [line for line in lines if " refused (" in line]
    assert summary.startswith(
        f"2 of 4 files in {processes} refused (bad_two_problems.bpmn, copy.bpmn), their "
        "findings above; the other 2 are deployed"
    )
    assert not any(r.exc_info for r in caplog.records)


def test_definition_shows_start_form(api: Api) -> None:
    api.deploy(APPROVAL)
    definition = api.get("/process-definitions/approval").json()
    form = definition["start_form"]
    assert set(form["properties"]) == {"amount", "purpose"}
    assert form["required"] == ["amount"]
    assert definition["name"] == "Simple approval"


def test_running_instances_finish_on_their_version(api: Api) -> None:
    api.deploy(V1)
    old = api.start("versioned", "OLD-1", {}, user="clerk").json()
    assert old["version"] == 1

    api.deploy(V2)
    new = api.start("versioned", "NEW-1", {}, user="clerk").json()
    assert new["version"] == 2
    assert new["definition_id"] != old["definition_id"]

    def finish_first(instance: dict[str, Any]) -> dict[str, Any]:
        [first] = instance["tasks"]
        assert first["element_id"] == "first"
        assert api.claim(first["id"], "clerk").status_code == 200
        done = api.complete(first["id"], "clerk", {"note": instance["business_key"]})
        assert done.status_code == 200, done.text
        [second] = done.json()["next_tasks"]
        return dict(second)

    # The v1 instance follows the v1 model although v2 is now the latest.
    second_old = finish_first(old)
    assert second_old["element_id"] == "second_v1"
    assert second_old["name"] == "Second step (v1)"
    assert second_old["candidate_groups"] == ["hall_clerk"]
    assert second_old["process_definition_id"] == old["definition_id"]

    second_new = finish_first(new)
    assert second_new["element_id"] == "second_v2"
    assert second_new["candidate_groups"] == ["yk_specialist"]

    api.claim(second_old["id"], "clerk")
    finished = api.complete(second_old["id"], "clerk", {})
    assert finished.status_code == 200, finished.text
    assert finished.json()["instance_status"] == "completed"
    body = api.get(f"/process-instances/{old['id']}").json()
    assert body["status"] == "completed"
    assert body["version"] == 1 and body["definition_id"] == old["definition_id"]
    assert "second_v2" not in {e["element_id"] for e in body["history"]}

    listed = api.get("/process-instances", params={"key": "versioned", "sort": "started"}).json()
    assert {i["business_key"]: i["version"] for i in listed["items"]} == {"OLD-1": 1, "NEW-1": 2}


def test_rejected_upload_lists_every_problem_with_file_line_and_element(api: Api) -> None:
    api.deploy(APPROVAL)
    response = api.deploy(BAD)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_bpmn"
    details = {d["element"]: d for d in body["details"]}
    assert set(details) == {"sneaky", "orphan"}, body["details"]
    assert details["sneaky"]["file"] == "bad_two_problems.bpmn"
    assert details["sneaky"]["line"] == line_of(BAD, "sneaky")
    assert "name = expression" in details["sneaky"]["message"]
    assert details["orphan"]["file"] == "bad_two_problems.bpmn"
    assert details["orphan"]["line"] == line_of(BAD, "orphan")
    assert "candidateGroups" in details["orphan"]["message"]
    # The summary message names both problems too.
    assert "[sneaky]" in body["message"] and "[orphan]" in body["message"]
    assert definitions_count(api) == 1
    assert api.get("/process-definitions/bad_two").status_code == 404


def test_one_bad_file_stores_nothing_of_the_upload(api: Api) -> None:
    api.deploy(V1)
    response = api.deploy(APPROVAL, V2, BAD)
    assert response.status_code == 422
    errors = [d for d in response.json()["details"] if d["severity"] == "error"]
    assert {d["file"] for d in errors} == {"bad_two_problems.bpmn"}
    assert definitions_count(api) == 1
    assert api.get("/process-definitions/approval").status_code == 404
    assert api.get("/process-definitions/versioned").json()["latest_version"] == 1
    # The good files deploy once the bad one is left out.
    assert api.deploy(APPROVAL, V2).status_code == 201
    assert definitions_count(api) == 3


def test_two_files_with_the_same_process_key_are_refused(api: Api) -> None:
    response = api.deploy(V1, V2)
    assert response.status_code == 422
    body = response.json()
    [problem] = body["details"]
    assert problem["file"] == "versioned_v2.bpmn"
    assert "versioned" in problem["message"] and "versioned_v1.bpmn" in problem["message"]
    assert definitions_count(api) == 0


def test_deploy_permissions(api: Api) -> None:
    assert api.deploy(V1, user="clerk").status_code == 403
    assert api.deploy(V1, user="leader").status_code == 403
    response = api.post(
        "/deployments", None, files=[("files", (V1.name, V1.read_bytes(), "application/xml"))]
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert api.get("/process-definitions", None).status_code == 401
    assert definitions_count(api) == 0
    assert api.deploy(V1, user="admin").status_code == 201


def test_no_files_is_422(api: Api) -> None:
    response = api.post("/deployments", "analyst", data={"name": "empty"})
    assert response.status_code == 422
    assert definitions_count(api) == 0


@pytest.fixture
def small_api(settings: Settings, app_ctx: AppContext) -> Iterator[Api]:
    """An app whose upload limit is SMALL_UPLOAD_LIMIT bytes, on the same (emptied) database."""
    small = settings.model_copy(update={"max_upload_bytes": SMALL_UPLOAD_LIMIT})
    ctx = AppContext.create(small, engine=app_ctx.engine)
    with TestClient(create_app(ctx=ctx)) as client:
        yield Api(client, ctx)


def test_upload_larger_than_the_limit_is_413(small_api: Api) -> None:
    api = small_api
    assert V1.stat().st_size < SMALL_UPLOAD_LIMIT < APPROVAL.stat().st_size
    response = api.deploy(APPROVAL)
    assert response.status_code == 413, response.text
    assert "approval.bpmn" in response.json()["message"]
    # With a file under the limit in the same request, still nothing is stored.
    assert api.deploy(V1, APPROVAL).status_code == 413
    assert definitions_count(api) == 0
    # Far above the limit the body itself is refused before it is read.
    huge = api.deploy_bytes("huge.bpmn", b"<x>" + b" " * (10 * SMALL_UPLOAD_LIMIT) + b"</x>")
    assert huge.status_code == 413
    assert huge.json()["code"] == "payload_too_large"
    assert definitions_count(api) == 0
    assert api.deploy(V1).status_code == 201


def test_chunked_upload_far_over_the_limit_is_413(small_api: Api) -> None:
    """Without Content-Length the body limit is enforced while the upload is read."""
    api = small_api
    boundary = "testboundary"
    payload = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="files"; filename="huge.bpmn"\r\n'
        "Content-Type: application/xml\r\n\r\n"
    ).encode()
    payload += b"<x>" + b" " * (10 * SMALL_UPLOAD_LIMIT) + b"</x>"
    payload += f"\r\n--{boundary}--\r\n".encode()

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(payload), 1024):
            yield payload[i : i + 1024]

    response = api.client.post(
        "/api/v1/deployments",
        headers={
            **api.headers("analyst"),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
        content=chunks(),
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "payload_too_large"
    assert definitions_count(api) == 0


@pytest.mark.parametrize(
    "definition",
    [
        b"<bpmn:timerEventDefinition><bpmn:timeCycle>R/PT1H</bpmn:timeCycle>"
        b"</bpmn:timerEventDefinition>",
        b"<bpmn:timerEventDefinition><bpmn:timeDuration>P30D</bpmn:timeDuration>"
        b"</bpmn:timerEventDefinition>",
        b"",
    ],
    ids=["timer-cycle", "timer-duration", "none"],
)
def test_an_event_subprocess_started_by_a_timer_or_nothing_is_refused(
    api: Api, definition: bytes
) -> None:
    """SpiffWorkflow would keep the case open until such a timer fired (and then run the
    subprocess anyway), or run it from the start of the case; a boundary timer is suggested."""
    xml = (DATA / "linked_case.bpmn").read_bytes()
    message_start = b'<bpmn:messageEventDefinition id="linkStartDef" messageRef="Msg_linked" />'
    assert message_start in xml
    refused = api.deploy_bytes("linked_case.bpmn", xml.replace(message_start, definition))
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["details"]
    assert problem["element"] == "linkStart" and "boundary timer" in problem["message"]


def test_an_event_subprocess_inside_a_subprocess_is_refused(api: Api) -> None:
    """SpiffWorkflow triggers only the event subprocesses of the process itself."""
    xml = (DATA / "withdrawable.bpmn").read_bytes()
    start, end = xml.index(b'    <bpmn:subProcess id="withdraw"'), xml.index(b"  </bpmn:process>")
    nested = (
        b'    <bpmn:subProcess id="outer"><bpmn:startEvent id="outer_start" />\n'
        + xml[start:end]
        + b"    </bpmn:subProcess>\n"
    )
    refused = api.deploy_bytes("withdrawable.bpmn", xml[:start] + nested + xml[end:])
    assert refused.status_code == 422, refused.text
    messages = {d["element"]: d["message"] for d in refused.json()["details"]}
    assert "inside a subprocess" in messages["withdraw"], messages


def _multipart(parts: list[tuple[str, str | None, bytes]]) -> tuple[bytes, str]:
    """A multipart body written by hand: HTTP clients escape what a careless one sends as is."""
    boundary = "qa-boundary-7f3c"
    body = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content
        body += b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(
    ("path", "parts", "field"),
    [
        ("/api/v1/deployments", [("name", None, b"a\x00b")], "name"),
        ("/api/v1/deployments?dry_run=true", [], "files[0]"),
        ("/api/v1/deployments", [], "files[0]"),
        (
            "/engine-rest/deployment/create",
            [("deployment-name", None, b"a\x00b")],
            "deployment-name",
        ),
        (
            "/engine-rest/deployment/create",
            [("deployment-source", None, b"a\x00b")],
            "deployment-source",
        ),
        ("/engine-rest/deployment/create", [], "files[0]"),
        ("/api/v1/simulations", [("applications", None, b"1")], "candidate[0]"),
    ],
    ids=[
        "name",
        "dry-run-filename",
        "filename",
        "camunda-name",
        "camunda-source",
        "camunda-file",
        "simulation-candidate",
    ],
)
def test_nul_in_a_deployment_name_or_file_name_is_refused_naming_it(
    api: Api, path: str, parts: list[tuple[str, str | None, bytes]], field: str
) -> None:
    """The NUL check of JSON bodies skips uploads (files are binary), and these texts were
    stored as sent: a 500 on PostgreSQL, which cannot hold NUL in text."""
    filename = "approval.bpmn" if parts else "appro\x00val.bpmn"
    upload = "files"
    if path.endswith("simulations"):
        assert api.deploy(APPROVAL).status_code == 201  # what the candidate is compared with
        filename, upload = "appro\x00val.bpmn", "candidate"
    definitions = api.get("/process-definitions").json()
    body, content_type = _multipart([*parts, (upload, filename, APPROVAL.read_bytes())])
    headers = {**api.headers("analyst"), "Content-Type": content_type}
    response = api.client.post(path, content=body, headers=headers)
    assert response.status_code in (400, 422), response.text
    answer = response.json()
    assert "NUL" in answer["message"] and field in answer["message"], answer
    assert api.get("/process-definitions").json() == definitions


def test_a_file_name_sent_as_text_says_how_to_send_the_file(api: Api) -> None:
    """`curl -F files=processes/x.bpmn` (the @ forgotten) sends the path as text: the 422 said
    "Value error, Expected UploadFile, received: <class 'str'>"."""
    response = api.client.post(
        "/api/v1/deployments",
        headers=api.headers("analyst"),
        files={"files": (None, b"processes/yekuo_current.bpmn")},
    )
    assert response.status_code == 422, response.text
    [detail] = response.json()["details"]
    assert detail["field"] == "files.0"
    assert detail["message"] == (
        "is text, not a file: upload the file itself (curl: -F files=@path/to/file.bpmn)"
    )
    assert "UploadFile" not in response.text
