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


def test_a_json_body_in_utf16_or_gzip_is_400_not_json_in_utf8(api: Api) -> None:
    """Such bodies were answered 422 "NUL characters are not allowed in values" (their bytes
    hold NULs) after the handler had run on the body Python decodes from UTF-16: the start was
    kept although the answer was an error."""
    import gzip

    assert api.deploy(DATA / "approval.bpmn").status_code == 201
    text = '{"business_key": "U16", "variables": {"amount": 3, "purpose": "p"}}'
    for content, extra in (
        (text.encode("utf-16"), {}),
        (text.encode("utf-16-le"), {}),
        (text.encode("utf-32"), {}),
        (gzip.compress(text.encode()), {"Content-Encoding": "gzip"}),
        (gzip.compress(text.encode()), {}),
    ):
        response = api.client.post(
            "/api/v1/process-definitions/approval/instances",
            headers=api.headers("clerk") | {"Content-Type": "application/json"} | extra,
            content=content,
        )
        assert response.status_code == 400, (content[:8], response.text)
        assert response.json()["code"] == "invalid_request"
        assert "not JSON in UTF-8" in response.json()["message"]
    assert api.get("/process-instances").json()["total"] == 0
    camunda = api.client.post(
        "/engine-rest/message",
        headers=api.headers("portal") | {"Content-Type": "application/json"},
        content='{"messageName": "x"}'.encode("utf-16"),
    )
    assert camunda.status_code == 400
    assert camunda.json()["type"] == "InvalidRequestException"


def test_a_broken_multipart_deploy_body_is_400(api: Api) -> None:
    """docs/api.md: 400 for a body that cannot be read; it was 422 "files: Field required"."""
    cut_off = b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.bpmn"\r\n\r\n<x/>'
    for content in (
        cut_off,  # the attacker's: 422 "files: Field required"
        b"",
        b"garbage without any boundary",
        b"--wrong\r\nContent-Disposition: form-data\r\n\r\nx\r\n--wrong--\r\n",
        b"--b\r\nno headers end here",
    ):
        response = api.client.post(
            "/api/v1/deployments",
            headers=api.headers("analyst") | {"Content-Type": "multipart/form-data; boundary=b"},
            content=content,
        )
        assert response.status_code == 400, (content, response.text)
        assert response.json()["code"] == "invalid_request"
        assert "multipart" in response.json()["message"]
    # A well-formed body without a files part is a missing field.
    response = api.client.post(
        "/api/v1/deployments",
        headers=api.headers("analyst") | {"Content-Type": "multipart/form-data; boundary=b"},
        content=b"--b--\r\n",
    )
    assert response.status_code == 422
    assert response.json()["details"] == [{"field": "files", "message": "Field required"}]
