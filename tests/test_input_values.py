"""Values no database stores faithfully are refused at the API boundary with 422 naming the field,
and nothing is written: lone surrogates, NaN, Infinity and numbers beyond a double."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bpmn_service.api.json_values import bad_values
from bpmn_service.db.models import ProcessInstance
from conftest import DATA, TOKENS, Api

BAD_BODIES = [
    (
        b'{"business_key": "A-1", "variables": {"comment": "\\ud800"}}',
        "variables.comment",
        "surrogate",
    ),
    (
        b'{"business_key": "A-1", "variables": {"items": ["ok", "x\\udfff"]}}',
        "variables.items[1]",
        "surrogate",
    ),
    (b'{"business_key": "\\udc80", "variables": {}}', "business_key", "surrogate"),
    (b'{"business_key": "A-1", "variables": {"capacity": NaN}}', "variables.capacity", "NaN"),
    (
        b'{"business_key": "A-1", "variables": {"capacity": Infinity}}',
        "variables.capacity",
        "Infinity",
    ),
    (
        b'{"business_key": "A-1", "variables": {"capacity": -Infinity}}',
        "variables.capacity",
        "-Infinity",
    ),
    (
        b'{"business_key": "A-1", "variables": {"capacity": 1e400}}',
        "variables.capacity",
        "too large",
    ),
    (
        b'{"business_key": "A-1", "variables": {"m": {"deep": [1, {"x": -1e999}]}}}',
        "variables.m.deep[1].x",
        "too large",
    ),
]


@pytest.mark.parametrize(("body", "field", "problem"), BAD_BODIES)
def test_bad_values_name_the_field(body: bytes, field: str, problem: str) -> None:
    [(found_field, found_problem)] = bad_values(body)
    assert found_field == field and problem in found_problem


def test_good_bodies_and_non_json_pass() -> None:
    assert bad_values(b'{"a": "\\u00e9\\ud83d\\ude00", "b": [1.5, -2e300, null]}') == []
    assert bad_values(b"not json") == []
    assert bad_values(b"") == []


@pytest.mark.parametrize(("body", "field", "problem"), BAD_BODIES)
def test_a_start_with_such_a_value_is_422_and_stores_nothing(
    api: Api, body: bytes, field: str, problem: str
) -> None:
    assert api.deploy(DATA / "timer_once.bpmn").status_code == 201
    response = api.client.post(
        "/api/v1/process-definitions/timer_once/instances",
        content=body,
        headers={**api.headers("clerk"), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["code"] == "invalid_request"
    assert answer["details"][0]["field"] == field
    assert problem in answer["details"][0]["message"]
    with api.ctx.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
    # The service keeps answering, and the same start with a proper value works.
    assert api.start("timer_once", "A-1", {"comment": "fine"}).status_code == 201


def test_engine_rest_answers_such_a_value_in_camundas_shape(api: Api) -> None:
    response = api.client.post(
        "/engine-rest/message",
        content=b'{"messageName": "x", "processVariables": {"v": {"value": "\\ud800"}}}',
        headers={
            "Authorization": f"Bearer {TOKENS['admin']}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "InvalidRequestException"
    assert "processVariables.v.value" in body["message"]
