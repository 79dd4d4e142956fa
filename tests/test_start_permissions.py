"""Who may start a process: camunda:candidateStarterGroups / candidateStarterUsers on the process,
else the default starter groups (BPMN_DEFAULT_STARTER_GROUPS); a duplicate business key names the
existing case only to a caller who may see it."""

from __future__ import annotations

import pytest

from conftest import DATA, TOKENS, Api

APPROVAL = (DATA / "approval.bpmn").read_text()


def declared(groups: str | None = None, users: str | None = None) -> bytes:
    attributes = ""
    if groups is not None:
        attributes += f' camunda:candidateStarterGroups="{groups}"'
    if users is not None:
        attributes += f' camunda:candidateStarterUsers="{users}"'
    text = APPROVAL.replace(
        '<bpmn:process id="approval"', f'<bpmn:process id="approval"{attributes}', 1
    )
    assert text != APPROVAL
    return text.encode()


@pytest.mark.parametrize(
    ("user", "status"),
    [
        ("clerk", 201),
        ("portal", 201),  # the customer portal starts applications
        ("admin", 201),
        ("contractor", 403),
        ("worker", 403),
        ("inspector", 201),
    ],
)
def test_without_declared_starters_the_default_groups_may_start(
    api: Api, user: str, status: int
) -> None:
    assert api.deploy(DATA / "approval.bpmn").status_code == 201
    response = api.start("approval", f"D-{user}", {"amount": 1, "purpose": "x"}, user=user)
    assert response.status_code == status, response.text
    if status == 403:
        assert "candidateStarterGroups" in response.json()["message"]


@pytest.mark.parametrize(
    ("user", "status"),
    [
        ("specialist", 201),
        ("planner", 201),
        ("om", 201),
        ("clerk", 403),
        ("portal", 403),
        ("admin", 201),
    ],
)
def test_declared_starter_groups_and_users_decide(api: Api, user: str, status: int) -> None:
    content = declared(groups="yk_specialist, plan_engineer", users="om")
    assert api.deploy_bytes("approval.bpmn", content).status_code == 201
    response = api.start("approval", f"S-{user}", {"amount": 1, "purpose": "x"}, user=user)
    assert response.status_code == status, response.text
    # The process list says beforehand what the start answers (the workspace offers only these).
    [listed] = api.get("/process-definitions", user).json()
    assert listed["startable"] is (status == 201)
    assert api.get("/process-definitions/approval", user).json()["startable"] is (status == 201)


def test_startable_follows_the_latest_version(api: Api) -> None:
    assert api.deploy_bytes("approval.bpmn", declared(groups="yk_specialist")).status_code == 201
    assert api.get("/process-definitions/approval", "clerk").json()["startable"] is False
    # The next version names no starters: the default groups, the clerk's among them, may start.
    assert api.deploy(DATA / "approval.bpmn").status_code == 201
    assert api.get("/process-definitions/approval", "clerk").json()["startable"] is True


def test_the_default_starter_groups_are_configurable(api: Api) -> None:
    api.ctx.settings.default_starter_groups = "inspection, contractor"
    assert api.deploy(DATA / "approval.bpmn").status_code == 201
    assert api.start("approval", "C-1", {"amount": 1}, user="inspector").status_code == 201
    assert api.start("approval", "C-2", {"amount": 1}, user="contractor").status_code == 201
    assert api.start("approval", "C-3", {"amount": 1}, user="clerk").status_code == 403


def test_an_expression_as_starter_groups_is_refused_at_deploy(api: Api) -> None:
    response = api.deploy_bytes("approval.bpmn", declared(groups="${starters}"))
    assert response.status_code == 422
    assert "candidateStarterGroups" in response.text


def test_the_engine_rest_start_follows_the_same_rule(api: Api) -> None:
    assert api.deploy_bytes("approval.bpmn", declared(groups="yk_specialist")).status_code == 201
    response = api.client.post(
        "/engine-rest/process-definition/key/approval/start",
        json={"businessKey": "E-1", "variables": {"amount": {"value": 1}}},
        headers={"Authorization": f"Bearer {TOKENS['clerk']}"},
    )
    assert response.status_code == 403, response.text
    response = api.client.post(
        "/engine-rest/process-definition/key/approval/start",
        json={"businessKey": "E-2", "variables": {"amount": {"value": 1}}},
        headers={"Authorization": f"Bearer {TOKENS['specialist']}"},
    )
    assert response.status_code == 200, response.text


def test_a_duplicate_business_key_names_the_case_only_to_who_may_see_it(api: Api) -> None:
    assert api.deploy(DATA / "approval.bpmn").status_code == 201
    first = api.start("approval", "DUP-1", {"amount": 1}, user="clerk")
    assert first.status_code == 201
    mine = api.start("approval", "DUP-1", {"amount": 1}, user="clerk")
    assert mine.status_code == 409
    assert mine.json()["details"]["instance_id"] == first.json()["id"]
    other = api.start("approval", "DUP-1", {"amount": 1}, user="portal")
    assert other.status_code == 409
    assert other.json()["details"]["instance_id"] is None
    assert first.json()["id"] not in other.text
