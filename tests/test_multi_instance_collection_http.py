"""A multi-instance collection that is not a list fails the step with 422 naming the element and
the variable, and no case is kept (it made one task per character of a text)."""

from __future__ import annotations

from pathlib import Path

from conftest import Api

MODEL = Path(__file__).resolve().parent / "engine" / "bpmn" / "signers.bpmn"


def test_a_text_collection_is_refused_with_422(api: Api) -> None:
    assert api.deploy(MODEL).status_code == 201
    refused = api.start("signers", "MI-1", {"signer_list": "om_dept"})
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert "sign" in body["message"] and "'signer_list' holds text" in body["message"]
    started = api.start("signers", "MI-2", {"signer_list": ["om_dept"]})
    assert started.status_code == 201, started.text
    assert [t["element_id"] for t in started.json()["tasks"]] == ["sign"]
