"""NUL characters are refused at the edge (PostgreSQL cannot store them in text) with 422."""

from __future__ import annotations

from conftest import DATA, Api


def test_nul_in_url_or_body_is_422(api: Api) -> None:
    assert api.deploy(DATA / "approval.bpmn").status_code == 201
    for path in (
        "/tasks?candidate_group=%00",
        "/process-instances?business_key=a%00b",
        "/process-definitions/a%00",
    ):
        response = api.get(path)
        assert response.status_code == 422, path
        assert response.json()["code"] == "invalid_request"
    response = api.client.post(
        "/api/v1/process-definitions/approval/instances",
        headers=api.headers("clerk") | {"Content-Type": "application/json"},
        content=b'{"business_key": "NUL-1", "variables": {"amount": 3, "purpose": "a\\u0000b"}}',
    )
    assert response.status_code == 422
    # The field that holds it is named (the answer said only "not allowed in values").
    assert response.json()["details"] == [
        {
            "field": "variables.purpose",
            "message": "contains a NUL character, which no database stores in text",
        }
    ]
    assert api.get("/process-instances").json()["total"] == 0
    message = api.post("/messages", "portal", json={"message_name": "x", "business_key": "\u0000"})
    assert message.status_code == 422
    assert message.json()["details"][0]["field"] == "business_key"


def test_unreadable_json_is_400_in_the_error_shape(api: Api) -> None:
    response = api.client.post(
        "/api/v1/messages",
        headers=api.headers("portal") | {"Content-Type": "application/json"},
        content=b"\x80",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert response.json()["message"] == "the request body cannot be read: it is not JSON in UTF-8"


def test_malformed_json_names_the_body_and_where_it_breaks(api: Api) -> None:
    """Its field was the character offset ("16"), which names no field of the request."""
    assert api.deploy(DATA / "approval.bpmn").status_code == 201
    response = api.client.post(
        "/api/v1/process-definitions/approval/instances",
        headers=api.headers("clerk") | {"Content-Type": "application/json"},
        content=b'{"business_key": , "variables": {}}',
    )
    assert response.status_code == 422
    [detail] = response.json()["details"]
    assert detail["field"] == "body"
    assert detail["message"].startswith("is not valid JSON at character 17: ")
    assert response.json()["message"].startswith("the request is invalid: body: is not valid JSON")
    assert api.get("/process-instances").json()["total"] == 0
