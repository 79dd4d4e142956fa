"""An analyst's edit of the shipped process deploys as a new version without code changes, and
instances started on the old version finish on it. Also access and form checks on the model."""

from __future__ import annotations

import copy

import pytest
from lxml import etree

from conftest import Api
from process_paths import PROCESSES, load_paths, run_steps, start

KEY = "yekuo_current"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
}
HV_PATH = "HV_S_happy_concealed_works"


def one(root: etree._Element, xpath: str) -> etree._Element:
    [found] = root.xpath(xpath, namespaces=NS)
    return found


def edited_model() -> bytes:
    """The shipped model with three analyst edits: A-UT08 moved to the 业扩专责 lane, the dispatch
    plan review A-UT05c removed, and a field added to the A-UT01 acceptance form."""
    root = etree.fromstring((PROCESSES / f"{KEY}.bpmn").read_bytes())
    ref = one(root, "//bpmn:flowNodeRef[text()='A-UT08']")
    ref.getparent().remove(ref)
    one(root, "//bpmn:lane[@name='业扩专责']").append(ref)

    removed = {"A-UT05c", "A-GW03c"}
    flows = root.xpath("//bpmn:sequenceFlow", namespaces=NS)
    incoming = [f for f in flows if f.get("targetRef") == "A-UT05c"]
    after = one(root, "//bpmn:sequenceFlow[@sourceRef='A-GW03c' and not(bpmn:conditionExpression)]")
    target = after.get("targetRef")
    dropped = {f.get("id") for f in flows if {f.get("sourceRef"), f.get("targetRef")} & removed}
    for flow in incoming:
        flow.set("targetRef", target)
        dropped.discard(flow.get("id"))
        node = one(root, f"//*[@id='{target}']")
        new_ref = etree.Element(f"{{{NS['bpmn']}}}incoming")
        new_ref.text = flow.get("id")
        node.insert(node.index(node.xpath("./bpmn:incoming", namespaces=NS)[0]), new_ref)
    for el in root.xpath("//*[@id]", namespaces=NS):
        if el.get("id") in removed | dropped:
            el.getparent().remove(el)
    for el in root.xpath("//bpmn:incoming|//bpmn:outgoing|//bpmn:flowNodeRef", namespaces=NS):
        if el.text in removed | dropped:
            el.getparent().remove(el)
    for el in root.xpath("//bpmndi:BPMNShape|//bpmndi:BPMNEdge", namespaces=NS):
        if el.get("bpmnElement") in removed | dropped:
            el.getparent().remove(el)

    form = one(root, "//bpmn:userTask[@id='A-UT01']/bpmn:extensionElements/camunda:formData")
    field = etree.SubElement(
        form, f"{{{NS['camunda']}}}formField", id="wechatId", label="微信号", type="string"
    )
    validation = etree.SubElement(field, f"{{{NS['camunda']}}}validation")
    etree.SubElement(validation, f"{{{NS['camunda']}}}constraint", name="maxlength", config="40")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def test_edited_copy_is_a_new_version_and_old_instances_finish_on_the_old(api: Api) -> None:
    assert api.deploy(PROCESSES / f"{KEY}.bpmn").status_code == 201
    steps = load_paths(KEY)["paths"][HV_PATH]
    old = start(api, KEY, HV_PATH, "YK-OLD-1")
    first_review = [s[0] for s in steps].index("A-UT05b")
    run_steps(api, old, steps[:first_review])

    response = api.deploy_bytes(f"{KEY}.bpmn", edited_model())
    assert response.status_code == 201, response.text
    [deployed] = response.json()["definitions"]
    assert deployed["version"] == 2 and deployed["created"] is True

    new = start(api, KEY, HV_PATH, "YK-NEW-1")
    new_steps = copy.deepcopy([s for s in steps if s[0] != "A-UT05c"])
    new_steps[0][1]["wechatId"] = "wx_chutian"
    done = run_steps(api, new, new_steps)
    a_ut08 = next(t for t in done if t["element_id"] == "A-UT08")
    assert a_ut08["lane"] == "业扩专责" and a_ut08["candidate_groups"] == ["yk_specialist"]
    final_new = api.get(f"/process-instances/{new}").json()
    assert final_new["version"] == 2 and final_new["status"] == "completed"
    assert final_new["variables"]["wechatId"] == "wx_chutian"

    done_old = run_steps(api, old, steps[first_review:])
    assert "A-UT05c" in [t["element_id"] for t in done_old]
    a_ut08_old = next(t for t in done_old if t["element_id"] == "A-UT08")
    assert a_ut08_old["candidate_groups"] == ["hall_clerk"]
    final_old = api.get(f"/process-instances/{old}").json()
    assert final_old["version"] == 1 and final_old["status"] == "completed"


@pytest.fixture
def first_task(api: Api) -> dict[str, object]:
    api.deploy(PROCESSES / f"{KEY}.bpmn")
    instance = start(api, KEY, "LV_happy_no_concealed_works", "YK-ACL-1")
    [task] = api.open_tasks(instance)
    assert task["element_id"] == "A-UT01" and task["candidate_groups"] == ["hall_clerk"]
    return task


def test_outsiders_can_neither_see_claim_nor_complete(
    api: Api, first_task: dict[str, object]
) -> None:
    task_id = first_task["id"]
    for outsider in ("om", "meterman", "portal", "contractor", "manager"):
        assert api.get(f"/tasks/{task_id}", outsider).status_code == 404
        assert api.tasks(outsider).json()["total"] == 0
        assert api.claim(str(task_id), outsider).status_code == 404
        assert api.complete(str(task_id), outsider, {}).status_code == 404
    assert api.tasks("clerk").json()["total"] == 1
    assert api.tasks("clerk2", candidate_group="hall_clerk").json()["total"] == 1


def test_invalid_form_is_422_and_changes_nothing(api: Api, first_task: dict[str, object]) -> None:
    task_id = str(first_task["id"])
    instance_id = str(first_task["process_instance_id"])
    assert api.claim(task_id, "clerk").status_code == 200
    before = api.get(f"/process-instances/{instance_id}").json()
    values = dict(load_paths(KEY)["paths"]["LV_happy_no_concealed_works"][0][1])
    for broken in (
        {**values, "docsComplete": "yes"},
        {k: v for k, v in values.items() if k != "docsComplete"},
    ):
        response = api.complete(task_id, "clerk", broken)
        assert response.status_code == 422
        assert any(d["field"] == "docsComplete" for d in response.json()["details"])
    after = api.get(f"/process-instances/{instance_id}").json()
    assert after["variables"] == before["variables"]
    assert after["history"] == before["history"]
    assert [t["id"] for t in after["tasks"]] == [task_id]
