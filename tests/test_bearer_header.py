"""The API reads the caller from `Authorization: Bearer <token>` as HTTP's bearer scheme reads it:
the scheme's name in any case, spaces around the token ignored; any other scheme, or none, is an
anonymous caller (401 naming what to send). The OpenAPI document declares the scheme on every
operation that needs it, so Swagger UI's Authorize applies to them."""

from __future__ import annotations

import pytest

from conftest import Api


@pytest.mark.parametrize(
    "header",
    ["Bearer demo-clerk", "bearer demo-clerk", "BEARER demo-clerk", "Bearer   demo-clerk  "],
)
def test_a_bearer_token_is_read_whatever_the_scheme_case_and_spaces(api: Api, header: str) -> None:
    response = api.client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 200, response.text
    assert response.json()["user_id"] == "clerk"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "missing bearer token"),
        ("", "missing bearer token"),
        ("Bearer", "missing bearer token"),
        ("Bearer    ", "missing bearer token"),
        ("Basic ZGVtby1jbGVyazo=", "missing bearer token"),
        ("demo-clerk", "missing bearer token"),
        ("Bearer demo-nobody", "invalid bearer token"),
        ("Bearer demo clerk", "invalid bearer token"),
    ],
)
def test_no_bearer_token_or_an_unknown_one_is_401(
    api: Api, header: str | None, message: str
) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = api.client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert message in response.json()["message"]


def test_the_openapi_document_declares_the_bearer_scheme_on_the_operations(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from the users file",
    }
    operation = document["paths"]["/api/v1/tasks/{task_id}/claim"]["post"]
    assert operation["security"] == [{"HTTPBearer": []}]
    assert "security" not in document["paths"]["/api/v1/health/live"]["get"]
