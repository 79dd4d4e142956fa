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


DEEP = 300  # deeper than the service keeps (64) and than answers can be written (255)
BEYOND_THE_READER = 5000  # deeper than Python's JSON reader goes at all


def _nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


def test_deep_nesting_and_big_integers_name_the_field() -> None:
    [(field, problem)] = bad_values(b'{"variables": {"d": ' + _nested(DEEP).encode() + b"}}")
    assert field.startswith("variables.d.a.a") and "nested deeper than 64 levels" in problem
    [(field, problem)] = bad_values(b'{"variables": {"n": 18446744073709551616}}')
    assert (field, problem) == ("variables.n", "the integer is out of the 64-bit range")
    [(field, problem)] = bad_values(b'{"variables": {"n": -' + b"9" * 5000 + b"}}")
    assert (field, problem) == ("variables.n", "the integer is out of the 64-bit range")
    deepest = "[" * BEYOND_THE_READER + "]" * BEYOND_THE_READER
    [(field, problem)] = bad_values(b'{"variables": {"d": ' + deepest.encode() + b"}}")
    assert field == "body" and "nested deeper than 64 levels" in problem
    # What a real form holds passes: 64 levels, and the 64-bit bounds themselves.
    body = f'{{"a": {{"v": {_nested(62)}, "m": {2**63 - 1}, "n": {-(2**63)}}}}}'
    assert bad_values(body.encode()) == []


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (_nested(DEEP), "nested deeper than 64 levels"),
        ("[" * BEYOND_THE_READER + "]" * BEYOND_THE_READER, "nested deeper than 64 levels"),
        ("18446744073709551616", "out of the 64-bit range"),
    ],
    ids=["deep", "beyond-the-reader", "big-integer"],
)
def test_a_start_over_api_v1_is_422_and_the_service_stays_readable(
    api: Api, value: str, problem: str
) -> None:
    """Such a start used to be a 500 (deep nesting: the answer could not be written; a 5,000-level
    list or a 5,000-digit integer: a 400 that did not say what was wrong)."""
    assert api.deploy(DATA / "timer_once.bpmn").status_code == 201
    response = api.client.post(
        "/api/v1/process-definitions/timer_once/instances",
        content=b'{"business_key": "A-1", "variables": {"comment": ' + value.encode() + b"}}",
        headers={**api.headers("clerk"), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["details"][0]["field"].startswith(("variables.comment", "body"))
    assert problem in response.json()["details"][0]["message"]
    with api.ctx.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('["\\ud800"]', "lone surrogate"),
        ("[NaN]", "NaN is not a number JSON allows"),
        ('{"x": 1e400}', "too large for a double"),
        (_nested(DEEP), "nested deeper than 64 levels"),
        ("[18446744073709551616]", "out of the 64-bit range"),
    ],
    ids=["surrogate", "nan", "overflow", "deep", "big-integer"],
)
def test_a_camunda_json_value_is_checked_like_a_body(api: Api, text: str, problem: str) -> None:
    """A Json-typed variable is JSON text inside the body: the body's check cannot see into it,
    so the same check runs on the text. Such values used to answer 500 (a surrogate; NaN on
    PostgreSQL) or be stored and make every later read of the instance a 500 (deep nesting)."""
    assert api.deploy(DATA / "timer_once.bpmn").status_code == 201
    for kind in ("Json", "Object"):
        typed = {"value": text, "type": kind}
        if kind == "Object":
            typed["valueInfo"] = {"serializationDataFormat": "application/json"}
        response = api.client.post(
            "/engine-rest/process-definition/key/timer_once/start",
            json={"businessKey": "A-1", "variables": {"comment": typed}},
            headers=api.headers("clerk"),
        )
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["type"] == "InvalidRequestException"
        [detail] = body["details"]
        assert detail["field"] == "variables.comment" and problem in detail["message"], detail
    with api.ctx.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0


# Date-times a UTC date-time column cannot hold: their UTC time is after 9999-12-31 or before
# 0001-01-01. They used to be a 500 (OverflowError converting them to UTC).
BEYOND_UTC = ("9999-12-31T23:59:59-08:00", "0001-01-01T00:00:00+08:00")
UTC_EDGES = ("9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z")


@pytest.mark.parametrize("moment", BEYOND_UTC)
@pytest.mark.parametrize("name", ["due_before", "due_after"])
def test_a_task_date_filter_beyond_utc_is_422_naming_it(api: Api, name: str, moment: str) -> None:
    response = api.tasks("clerk", **{name: moment})
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["code"] == "invalid_request"
    [detail] = answer["details"]
    assert detail["field"] == f"query.{name}" and "UTC" in detail["message"], detail
    for edge in UTC_EDGES:  # the first and the last moment UTC holds are fine
        assert api.tasks("clerk", **{name: edge}).status_code == 200
