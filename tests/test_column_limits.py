"""Deploy refuses, before storing anything, what the database columns cannot hold."""

from __future__ import annotations

import pytest

from bpmn_service.db.models import ExternalTask, Message, ProcessDefinition, Task, TaskCandidate
from bpmn_service.engine import column_limits
from conftest import DATA, Api

APPROVAL = (DATA / "approval.bpmn").read_text()


def test_the_limits_are_the_columns() -> None:
    assert ProcessDefinition.__table__.c.key.type.length == column_limits.PROCESS_KEY
    for column in (
        ProcessDefinition.__table__.c.name,
        ProcessDefinition.__table__.c.resource_name,
        Task.__table__.c.element_id,
        Task.__table__.c.name,
        Task.__table__.c.lane,
        ExternalTask.__table__.c.topic,
        Message.__table__.c.message_name,
    ):
        assert column.type.length == column_limits.TEXT, column
    assert TaskCandidate.__table__.c.ref.type.length == column_limits.GROUP_OR_USER


@pytest.mark.parametrize(
    ("old", "new", "what"),
    [
        ('name="Review request"', f'name="{"审" * 256}"', "the name is 256 characters"),
        ('name="Simple approval"', f'name="{"x" * 300}"', "the process name is 300"),
        ('candidateGroups="', f'candidateGroups="{"g" * 129},', "the candidateGroups entry"),
    ],
)
def test_over_long_values_are_refused_and_nothing_is_stored(
    api: Api, old: str, new: str, what: str
) -> None:
    assert old in APPROVAL, old
    content = APPROVAL.replace(old, new, 1).encode()
    response = api.deploy_bytes("approval.bpmn", content)
    assert response.status_code == 422, response.text
    assert what in response.text
    assert api.get("/process-definitions").json() == []


def test_an_over_long_process_id_is_refused(api: Api) -> None:
    key = "p" * 129
    content = APPROVAL.replace('id="approval"', f'id="{key}"').replace(
        'bpmnElement="approval"', f'bpmnElement="{key}"'
    )
    response = api.deploy_bytes("approval.bpmn", content.encode())
    assert response.status_code == 422, response.text
    assert "at most 128" in response.text


def test_an_over_long_file_name_is_refused(api: Api) -> None:
    response = api.deploy_bytes("a" * 300 + ".bpmn", APPROVAL.encode())
    assert response.status_code == 422, response.text
    assert "the file name is 305 characters" in response.text
    assert api.get("/process-definitions").json() == []


def test_a_database_error_carries_no_parameters(api: Api) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    with api.ctx.sessions() as session, pytest.raises(DBAPIError) as raised:
        session.execute(text("SELECT x FROM no_such_table WHERE y = :v"), {"v": "身份证 110101"})
    assert "110101" not in str(raised.value)
    assert "hidden" in str(raised.value)
