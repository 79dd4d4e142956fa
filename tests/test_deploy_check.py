"""The check on deploy and its dry run over HTTP (SQLite and PostgreSQL): every error of every
file in a refused deployment, warnings in accepted ones (both APIs), and
`POST /deployments?dry_run=true`, which answers what a deployment would do and stores nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from conftest import DATA, ROOT, Api

CHECK = DATA / "check"
MISTAKES = CHECK / "small_connection_mistakes.bpmn"
CLEAN = DATA.parent / "engine" / "bpmn" / "small_connection.bpmn"
V1 = DATA / "versioned_v1.bpmn"
V2 = DATA / "versioned_v2.bpmn"
FINDING_FIELDS = {"file", "line", "element", "severity", "code", "message", "hint"}


def assigned(path: Path) -> bytes:
    """The file with groups on the tasks whose lanes only tests/data/check/lane-groups.toml maps
    (the server reads processes/lane-groups.toml)."""
    text = path.read_text(encoding="utf-8")
    for task, group in (("review", "hall_clerk"), ("rectify", "customer_manager")):
        text = text.replace(f'<bpmn:userTask id="{task}" ', f'<bpmn:userTask id="{task}" '
                            f'camunda:candidateGroups="{group}" ')  # fmt: skip
    plain = 'name="一次性告知补正">'
    return text.replace(plain, 'camunda:candidateGroups="hall_clerk" ' + plain).encode()


def dry_run(api: Api, *files: tuple[str, bytes], user: str = "analyst") -> Any:
    parts = [("files", (name, content, "application/xml")) for name, content in files]
    return api.post("/deployments?dry_run=true", user, files=parts)


def stored(api: Api) -> int:
    return sum(len(d["versions"]) for d in api.get("/process-definitions").json())


def test_a_refused_deployment_lists_every_error_of_every_file(api: Api) -> None:
    response = api.post(
        "/deployments",
        "analyst",
        files=[
            ("files", (MISTAKES.name, assigned(MISTAKES), "application/xml")),
            ("files", ("bad_two_problems.bpmn", (DATA / "bad_two_problems.bpmn").read_bytes())),
        ],
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid_bpmn"
    # The details list the errors, then what only warns (test_a_refused_deploy_still_says_…).
    assert all(set(p) == FINDING_FIELDS for p in body["details"])
    problems = [p for p in body["details"] if p["severity"] == "error"]
    assert {(p["file"], p["code"], p["element"]) for p in problems} == {
        (MISTAKES.name, "script.language", "tally"),
        (MISTAKES.name, "data.unset-variable", "f_gw_plan"),
        (MISTAKES.name, "data.unset-variable", "f_gw_powered"),
        (MISTAKES.name, "structure.dangling-reference", "f_supplement_review"),
        ("bad_two_problems.bpmn", "script.invalid", "sneaky"),
        ("bad_two_problems.bpmn", "lanes.no-groups", "orphan"),
    }
    assert stored(api) == 0


def test_the_dry_run_answers_like_a_deployment_and_stores_nothing(api: Api) -> None:
    refused = dry_run(api, (MISTAKES.name, assigned(MISTAKES)))
    assert refused.status_code == 200, refused.text
    body = refused.json()
    assert body["dry_run"] is True and body["valid"] is False and body["processes"] == []
    assert len(body["problems"]) == 4 and all(p["severity"] == "error" for p in body["problems"])
    warned = {(w["code"], w["element"]) for w in body["warnings"]}
    assert ("camunda.form-key", "rectify") in warned
    assert ("camunda.unknown-user", "rectify") in warned  # `demo` is no user of the users file

    accepted = dry_run(api, (CLEAN.name, assigned(CLEAN)), (V1.name, V1.read_bytes()))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["valid"] is True
    assert accepted.json()["problems"] == []
    assert {(p["key"], p["version"]) for p in accepted.json()["processes"]} == {
        ("small_connection", 1),
        ("versioned", 1),
    }
    assert stored(api) == 0

    # After a deployment the dry run names the version a changed file would get.
    assert api.deploy(V1).status_code == 201
    unchanged = dry_run(api, (V1.name, V1.read_bytes())).json()["processes"]
    changed = dry_run(api, (V1.name, V2.read_bytes())).json()["processes"]
    assert [p["version"] for p in unchanged] == [1] and [p["version"] for p in changed] == [2]
    assert stored(api) == 1


def test_a_group_nobody_is_in_is_warned_at_deploy(api: Api) -> None:
    text = (
        assigned(CLEAN)
        .decode()
        .replace(
            'camunda:candidateGroups="hall_clerk"',
            'camunda:candidateGroups="hall_clerk; archive"',
            1,
        )
    )
    answer = dry_run(api, (CLEAN.name, text.encode()))
    assert answer.status_code == 200 and answer.json()["valid"] is True, answer.text
    [warning] = [w for w in answer.json()["warnings"] if w["code"] == "camunda.unknown-group"]
    assert "'hall_clerk; archive', which no user of the users file is in" in warning["message"]
    assert "camunda:candidateGroups='hall_clerk,archive'" in warning["hint"]


def test_the_dry_run_needs_the_analyst_group(api: Api) -> None:
    response = dry_run(api, (V1.name, V1.read_bytes()), user="clerk")
    assert response.status_code == 403, response.text


def test_warnings_come_with_an_accepted_deployment_on_both_apis(api: Api) -> None:
    text = (
        assigned(CLEAN)
        .decode()
        .replace('name="组织整改">', 'name="组织整改" camunda:formKey="camunda-forms:app:x.form">')
    )
    response = api.deploy_bytes("small_connection.bpmn", text.encode())
    assert response.status_code == 201, response.text
    [warning] = response.json()["warnings"]
    assert warning["code"] == "camunda.form-key" and warning["element"] == "rectify"
    assert set(warning) == FINDING_FIELDS and "formData" in warning["hint"]

    camunda = api.client.post(
        "/engine-rest/deployment/create",
        headers=api.headers("analyst"),
        data={"deployment-name": "small"},
        files=[("data", ("small_connection.bpmn", text.replace("x.form", "y.form").encode()))],
    )
    assert camunda.status_code == 200, camunda.text
    assert [w["code"] for w in camunda.json()["warnings"]] == ["camunda.form-key"]


def test_a_file_with_old_mac_line_endings_is_reported_at_the_right_lines(api: Api) -> None:
    """A file saved with CR-only line endings had every finding at line 1; it is stored as it
    came (the lines are only counted as if it had LF endings)."""

    def located(response: Any, key: str) -> list[tuple[str, str, int]]:
        return sorted((p["code"], p["element"], p["line"]) for p in response.json()[key])

    lf = assigned(MISTAKES)
    refused = api.deploy_bytes(MISTAKES.name, lf)
    assert refused.status_code == 422
    expected = located(refused, "details")
    assert len({line for _c, _e, line in expected}) > 1
    cr = api.deploy_bytes(MISTAKES.name, lf.replace(b"\n", b"\r"))
    assert cr.status_code == 422 and located(cr, "details") == expected

    text = assigned(CLEAN).decode()
    warned = text.replace('name="组织整改">', 'name="组织整改" camunda:formKey="k">').encode()
    [lf_warning] = dry_run(api, ("small.bpmn", warned)).json()["warnings"]
    accepted = api.deploy_bytes("small.bpmn", warned.replace(b"\n", b"\r"))
    assert accepted.status_code == 201, accepted.text
    [warning] = accepted.json()["warnings"]
    assert warning["line"] == lf_warning["line"] > 1
    stored = api.get("/process-definitions/small_connection/xml")
    assert stored.content == warned.replace(b"\n", b"\r")


def test_the_documented_dry_run_answers_as_documented(api: Api) -> None:
    """docs/authoring.md's dry-run example: the same request gives the answer it shows."""
    doc = (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")
    block = doc[doc.index("curl -s -X POST 'http://127.0.0.1:8000/api/v1/deployments?dry_run") :]
    block = block[: block.index("```")]
    upload = re.search(r"-F files=@(\S+)", block)
    assert upload is not None and "Bearer demo-analyst" in block
    shown = json.loads("".join(line.lstrip("# ") for line in block.splitlines()[2:]))
    path = ROOT / upload[1]
    response = dry_run(api, (path.name, path.read_bytes()))
    assert response.status_code == 200 and response.json() == shown


def test_an_external_task_takes_only_the_variables_it_declares(api: Api) -> None:
    """The data-flow check follows what a worker returns when the task lists it; the service
    then refuses anything else (422, nothing changed)."""
    text = (
        (DATA / "external_error.bpmn")
        .read_text(encoding="utf-8")
        .replace(
            'camunda:topic="construction_registry">',
            'camunda:topic="construction_registry"><bpmn:extensionElements><camunda:properties>'
            '<camunda:property name="variables" value="unitName, licenceNo"/></camunda:properties>'
            "</bpmn:extensionElements>",
        )
    )
    assert api.deploy_bytes("external_error.bpmn", text.encode()).status_code == 201
    started = api.start("registry_check", "DECLARED-1", {})
    assert started.status_code == 201, started.text
    fetch = {"worker_id": "w", "topics": ["construction_registry"], "lock_seconds": 60}
    [task] = api.post("/external-tasks/fetch-and-lock", "worker", json=fetch).json()
    url = f"/external-tasks/{task['id']}/complete"
    refused = api.post(url, "worker", json={"worker_id": "w", "variables": {"approved": True}})
    assert refused.status_code == 422, refused.text
    assert refused.json()["details"][0]["field"] == "approved"
    done = api.post(url, "worker", json={"worker_id": "w", "variables": {"unitName": "甲"}})
    assert done.status_code == 204, done.text
    instance = api.get(f"/process-instances/{started.json()['id']}").json()
    assert [t["element_id"] for t in instance["tasks"]] == ["ok"]
    assert "approved" not in instance["variables"]


def test_flowable_and_activiti_extensions_are_named_with_their_camunda_equivalent(
    api: Api,
) -> None:
    """A file exported from Flowable or Activiti carries their attributes (flowable:candidateGroups,
    activiti:formProperty …), which this service does not read: the refusal said only that the task
    has no camunda:candidateGroups, and the rest was ignored silently."""
    text = (DATA / "approval.bpmn").read_text(encoding="utf-8")
    text = text.replace(
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"',
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'xmlns:flowable="http://flowable.org/bpmn" xmlns:activiti="http://activiti.org/bpmn"',
    )
    text = text.replace(
        'camunda:candidateGroups="requesters"', 'flowable:candidateGroups="requesters"'
    )
    text = text.replace(
        'camunda:candidateGroups="reviewers"',
        'camunda:candidateGroups="reviewers" activiti:priority="80"',
    )
    response = dry_run(api, ("exported.bpmn", text.encode()))
    assert response.status_code == 200, response.text
    found = {
        (p["element"], p["code"], p["severity"], p["message"], p["hint"])
        for p in response.json()["problems"] + response.json()["warnings"]
        if p["code"] == "vendor.extension"
    }
    assert found == {
        (
            "review",
            "vendor.extension",
            "warning",
            "activiti:priority is Activiti's extension, which this service does not read",
            "write camunda:priority (Camunda Modeler: the task's User assignment)",
        ),
    }
    # The unassigned task's error names its Flowable assignment (and is not repeated as a
    # warning).
    [unassigned] = [p for p in response.json()["problems"] if p["code"] == "lanes.no-groups"]
    assert unassigned["element"] == "revise"
    assert "flowable:candidateGroups='requesters'" in unassigned["message"]
    assert any(p["code"] == "lanes.no-groups" for p in response.json()["problems"])


def test_a_version_without_an_element_where_cases_wait_is_warned_about(api: Api) -> None:
    """The cases stay on their version, but moving them needs a mapping: the deploy (and its dry
    run) says so while the analyst is still at it, naming the element and how many wait there."""
    approval = (DATA / "approval.bpmn").read_text(encoding="utf-8")
    assert api.deploy(DATA / "approval.bpmn").status_code == 201
    for key in ("STRAND-1", "STRAND-2"):
        assert api.start("approval", key, {"amount": 5, "purpose": "x"}).status_code == 201
    renamed = approval.replace('"review"', '"review_v2"').encode()
    assert renamed != approval.encode()

    for answer in (dry_run(api, ("approval.bpmn", renamed)), _deploy(api, renamed)):
        assert answer.status_code in (200, 201), answer.text
        [warning] = [w for w in answer.json()["warnings"] if w["code"] == "cases.stranded"]
        assert warning["element"] == "review" and warning["severity"] == "warning"
        # The migration matches the renamed element by its neighbours: the warning says where it
        # would move the cases, as the migration (below) then does with no mapping.
        assert warning["message"] == (
            "2 running case(s) of approval wait at 'review', which approval.bpmn does not have "
            "(renamed or removed): they stay on their version; a migration to this one would "
            "move them to 'review_v2' (matched by its neighbours); give a mapping to choose "
            "another"
        )
        assert "mapping of 'review'" in warning["hint"]
    # Deploying the same file again adds no version and warns no more.
    again = _deploy(api, renamed).json()
    assert [w for w in again["warnings"] if w["code"] == "cases.stranded"] == []
    body = {
        "source": {"key": "approval", "version": 1},
        "target": {"key": "approval", "version": 2},
        "reason": "review renamed",
        "dry_run": True,
    }
    results = api.post("/migrations", "leader", json=body).json()["results"]
    assert [r["mapped"][0]["target_element_id"] for r in results] == ["review_v2", "review_v2"]

    # Where the element matched is of another kind, the migration needs a mapping, and says so.
    start = approval.index('<bpmn:userTask id="review"')
    end = approval.index("</bpmn:userTask>", start) + len("</bpmn:userTask>")
    manual = (
        approval[:start]
        + approval[start:end]
        .replace("<bpmn:userTask", "<bpmn:manualTask")
        .replace("</bpmn:userTask>", "</bpmn:manualTask>")
        .replace('id="review"', 'id="review_v3"')
        + approval[end:]
    ).replace('"review"', '"review_v3"')
    answer = dry_run(api, ("approval.bpmn", manual.encode()))
    assert answer.status_code == 200, answer.text
    [warning] = [w for w in answer.json()["warnings"] if w["code"] == "cases.stranded"]
    assert warning["message"].endswith(
        "they stay on their version, and moving them to this one needs a mapping for that element"
    )


def _deploy(api: Api, content: bytes) -> Any:
    return api.post("/deployments", "analyst", files=[("files", ("approval.bpmn", content))])


def test_a_boundary_event_the_new_version_lacks_strands_no_case(api: Api) -> None:
    """A migration drops a waiting boundary event the target lacks (as Camunda does), so the
    cases waiting at one need no mapping for it and the deploy does not count them."""
    approval = (DATA / "approval.bpmn").read_text(encoding="utf-8")
    held = (
        approval.replace(
            "  </bpmn:process>",
            '    <bpmn:boundaryEvent id="hold" attachedToRef="review" cancelActivity="false">'
            '<bpmn:messageEventDefinition messageRef="hold_msg" /></bpmn:boundaryEvent>\n'
            "  </bpmn:process>\n"
            '  <bpmn:message id="hold_msg" name="hold" />',
        )
        .replace(
            "    </bpmndi:BPMNPlane>",
            '      <bpmndi:BPMNShape id="hold_di" bpmnElement="hold">'
            '<dc:Bounds x="302" y="142" width="36" height="36" /></bpmndi:BPMNShape>\n'
            "    </bpmndi:BPMNPlane>",
        )
        .encode()
    )
    first = _deploy(api, held)
    assert first.status_code == 201, first.text
    case = api.start("approval", "HOLD-1", {"amount": 5, "purpose": "x"}).json()
    subs = api.get("/event-subscriptions", "admin", params={"business_key": "HOLD-1"}).json()
    assert [s["message_name"] for s in subs["items"]] == ["hold"]

    second = _deploy(api, approval.encode())
    assert second.status_code == 201, second.text
    assert [w for w in second.json()["warnings"] if w["code"] == "cases.stranded"] == []
    body = {
        "source": {"key": "approval", "version": 1},
        "target": {"key": "approval", "version": 2},
        "reason": "the hold is no longer offered",
        "dry_run": False,
    }
    [report] = api.post("/migrations", "leader", json=body).json()["results"]
    assert report["migrated"], report
    assert report["dropped"] == [{"element_id": "hold", "attached_to": "review", "kind": "message"}]
    subs = api.get("/event-subscriptions", "admin", params={"business_key": "HOLD-1"}).json()
    assert subs["total"] == 0
    assert [t["element_id"] for t in api.open_tasks(case["id"])] == ["review"]


def test_a_refused_deploy_still_says_its_warnings(api: Api) -> None:
    """The errors refuse the file, but an analyst fixing them wants the warnings too (a Camunda 8
    attribute, say, explains an error): both APIs carried only the errors."""
    approval = (DATA / "approval.bpmn").read_text(encoding="utf-8")
    broken = approval.replace('decision == "APPROVE"', 'decision == "APPROVE" and (').encode()
    assert broken != approval.encode()

    native = _deploy(api, broken)
    assert native.status_code == 422, native.text
    by_severity = {d["severity"] for d in native.json()["details"]}
    assert by_severity == {"error", "warning"}
    assert "camunda.unknown-group" in {d["code"] for d in native.json()["details"]}
    assert "unknown-group" not in native.json()["message"]  # the message names the errors only

    camunda = api.client.post(
        "/engine-rest/deployment/create",
        auth=("analyst", "demo-analyst"),
        files=[("data", ("approval.bpmn", broken, "application/xml"))],
    )
    assert camunda.status_code == 400, camunda.text
    [resource] = camunda.json()["details"].values()
    assert resource["errors"] and resource["warnings"]
    assert any("reviewers" in w["message"] for w in resource["warnings"])


def test_a_gateway_without_a_default_flow_deploys_with_a_warning(api: Api) -> None:
    """The Modeler's user unmarked the default flow and gave it a condition: the file deploys,
    and the answer warns that a case no condition holds for would stop at the gateway."""
    text = (
        assigned(CLEAN)
        .decode()
        .replace(' default="f_gw_supplement"', "")
        .replace(
            'targetRef="supplement" />',
            'targetRef="supplement"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">'
            "${docsComplete == false}</bpmn:conditionExpression></bpmn:sequenceFlow>",
        )
    )
    response = api.deploy_bytes(CLEAN.name, text.encode())
    assert response.status_code == 201, response.text
    [warning] = response.json()["warnings"]
    assert set(warning) == FINDING_FIELDS
    assert (warning["code"], warning["element"], warning["severity"]) == (
        "structure.no-default-flow",
        "docs_ok",
        "warning",
    )
    assert 'id="docs_ok"' in text.splitlines()[warning["line"] - 1]
    assert "has no default flow" in warning["message"] and "default" in warning["hint"]
