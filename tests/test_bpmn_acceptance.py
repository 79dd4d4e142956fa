"""What BPMN allows is accepted: any xs:ID as process id (URL-encoded on every path, also
/engine-rest), long sequential chains; a declared foreign expression language is refused by name."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from bpmn_service.engine import compile_bpmn
from conftest import DATA, TOKENS, Api

APPROVAL = (DATA / "approval.bpmn").read_text()


def with_key(key: str) -> bytes:
    return (
        APPROVAL.replace('id="approval"', f'id="{key}"')
        .replace('bpmnElement="approval"', f'bpmnElement="{key}"')
        .encode()
    )


@pytest.mark.parametrize("key", ["_6-150", "Process_1.v2", "业扩.报装_1", "a-b.c_d"])
def test_any_xml_id_is_a_process_key_on_every_path(api: Api, key: str) -> None:
    assert api.deploy_bytes("p.bpmn", with_key(key)).status_code == 201
    path = quote(key, safe="")
    started = api.start(path, "K-1", {"amount": 1, "purpose": "x"})
    assert started.status_code == 201, started.text
    assert started.json()["definition_key"] == key
    listed = api.get("/process-instances", params={"key": key}).json()
    assert [i["business_key"] for i in listed["items"]] == ["K-1"]
    assert api.get(f"/process-definitions/{path}").status_code == 200
    rest = api.client.post(
        f"/engine-rest/process-definition/key/{path}/start",
        json={"businessKey": "K-2", "variables": {"amount": {"value": 1}}},
        headers={"Authorization": f"Bearer {TOKENS['clerk']}"},
    )
    assert rest.status_code == 200, rest.text
    camunda = api.client.get(
        f"/engine-rest/process-definition/key/{path}",
        headers={"Authorization": f"Bearer {TOKENS['clerk']}"},
    )
    assert camunda.status_code == 200, camunda.text
    assert camunda.json()["key"] == key


@pytest.mark.parametrize("key", ["1abc", "a:b", "a b", "a/b"])
def test_what_is_not_an_xml_id_is_refused(api: Api, key: str) -> None:
    response = api.deploy_bytes("p.bpmn", with_key(key))
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("where", "language"),
    [
        ("definitions", "https://www.omg.org/spec/DMN/20191111/FEEL/"),
        ("condition", "http://www.w3.org/1999/XPath"),
        ("condition", "feel"),
        ("condition", "javascript"),
    ],
)
def test_a_foreign_expression_language_is_named_as_not_supported(
    api: Api, where: str, language: str
) -> None:
    if where == "definitions":
        text = APPROVAL.replace(
            "<bpmn:definitions ", f'<bpmn:definitions expressionLanguage="{language}" ', 1
        )
    else:
        text = APPROVAL.replace(
            "<bpmn:conditionExpression ", f'<bpmn:conditionExpression language="{language}" ', 1
        )
    assert text != APPROVAL
    response = api.deploy_bytes("approval.bpmn", text.encode())
    assert response.status_code == 422
    assert f"language '{language}' is not supported" in response.text
    assert "docs/authoring.md" in response.text


@pytest.mark.parametrize("language", ["http://www.w3.org/1999/XPath", "http://www.w3.org/TR/XPath"])
def test_bpmns_default_expression_language_on_the_file_is_read_past(
    api: Api, language: str
) -> None:
    """Flowable and Bizagi export expressionLanguage="http://www.w3.org/1999/XPath" (the BPMN
    default), Signavio "http://www.w3.org/TR/XPath", whatever their conditions are written in:
    the conditions still run here."""
    text = APPROVAL.replace(
        "<bpmn:definitions ", f'<bpmn:definitions expressionLanguage="{language}" ', 1
    )
    assert text != APPROVAL
    response = api.deploy_bytes("approval.bpmn", text.encode())
    assert response.status_code == 201, response.text


def chain(tasks: int) -> bytes:
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
        'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
        'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
        'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="defs" targetNamespace="x">'
    )
    nodes = ["start", *(f"t{i}" for i in range(tasks)), "end"]
    body = ['<bpmn:process id="chain" isExecutable="true"><bpmn:startEvent id="start"/>']
    body += [
        f'<bpmn:userTask id="t{i}" name="Step {i}" camunda:candidateGroups="hall_clerk"/>'
        for i in range(tasks)
    ]
    body.append('<bpmn:endEvent id="end"/>')
    body += [
        f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
        for i, (a, b) in enumerate(zip(nodes, nodes[1:], strict=False))
    ]
    body.append(
        '</bpmn:process><bpmndi:BPMNDiagram id="d"><bpmndi:BPMNPlane id="p" bpmnElement="chain">'
    )
    body += [
        f'<bpmndi:BPMNShape id="{n}_di" bpmnElement="{n}"><dc:Bounds x="{k * 150}" y="100" '
        f'width="100" height="80"/></bpmndi:BPMNShape>'
        for k, n in enumerate(nodes)
    ]
    body += [
        f'<bpmndi:BPMNEdge id="f{k}_di" bpmnElement="f{k}"><di:waypoint x="{k * 150 + 100}" '
        f'y="140"/><di:waypoint x="{k * 150 + 150}" y="140"/></bpmndi:BPMNEdge>'
        for k in range(len(nodes) - 1)
    ]
    body.append("</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>")
    return (head + "\n".join(body)).encode()


def test_a_chain_of_2000_tasks_compiles() -> None:
    compiled = compile_bpmn(chain(2000), "chain.bpmn", lambda _key, _lane: True)
    assert compiled.key == "chain" and '"t1999"' in compiled.spec_json


def test_a_chain_of_2000_tasks_deploys_and_starts(api: Api) -> None:
    assert api.deploy_bytes("chain.bpmn", chain(2000)).status_code == 201
    started = api.start("chain", "CH-1", {})
    assert started.status_code == 201, started.text
    assert [t["element_id"] for t in started.json()["tasks"]] == ["t0"]


def test_a_throw_events_business_key_expression_is_checked_at_deploy(api: Api) -> None:
    source = (DATA / "linked_complaint.bpmn").read_text()
    [line] = [x for x in source.splitlines() if 'name="businessKey"' in x]
    broken = line.replace('value="${', "value=\"${__import__('os') or ")
    assert broken != line
    response = api.deploy_bytes("linked_complaint.bpmn", source.replace(line, broken).encode())
    assert response.status_code == 422, response.text
    assert "businessKey:" in response.text
    assert api.deploy(DATA / "linked_complaint.bpmn").status_code == 201
