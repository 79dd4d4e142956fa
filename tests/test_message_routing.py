"""Messages between processes: a message start event, a throw routed by its businessKey property,
and a non-interrupting event subprocess catching it while the case keeps running; which messages
and variables an API caller may send."""

from __future__ import annotations

from typing import Any

from bpmn_service.engine import message_contracts
from conftest import DATA, ROOT, Api


def test_complaint_started_by_message_links_to_the_waiting_case(api: Api) -> None:
    assert api.deploy(DATA / "linked_case.bpmn", DATA / "linked_complaint.bpmn").status_code == 201
    case = api.start("linked_case", "YK-CASE-1", {}).json()
    filed = api.post(
        "/messages",
        "portal",
        json={
            "message_name": "demo_complaint_filed",
            "business_key": "TS-0001",
            "variables": {"applicationId": "YK-CASE-1", "description": "方案答复超期"},
        },
    )
    assert filed.status_code == 201, filed.text
    assert filed.json()["status"] == "started"
    complaint = api.get(f"/process-instances/{filed.json()['process_instance_id']}").json()
    assert complaint["business_key"] == "TS-0001"
    assert [t["element_id"] for t in complaint["tasks"]] == ["handle"]
    thrown = [e for e in complaint["history"] if e["type"] == "message_thrown"]
    assert thrown[0]["details"] == {"message": "demo_complaint_linked", "business_key": "YK-CASE-1"}

    linked = api.get(f"/process-instances/{case['id']}").json()
    assert linked["variables"]["linkedComplaint"] == "TS-0001"
    assert linked["variables"]["description"] == "方案答复超期"
    assert [t["element_id"] for t in linked["tasks"]] == ["work"]  # the case kept running
    assert linked["status"] == "active"
    [work] = linked["tasks"]
    api.claim(work["id"], "clerk")
    done = api.complete(work["id"], "clerk", {})
    assert done.json()["instance_status"] == "completed"


def test_a_complaint_without_a_waiting_case_still_runs(api: Api) -> None:
    assert api.deploy(DATA / "linked_complaint.bpmn").status_code == 201
    started = api.start(
        "linked_complaint",
        "TS-0002",
        {"applicationId": "YK-NONE", "description": "no case"},
        user="portal",
    )
    assert started.status_code == 201, started.text
    body = api.get(f"/process-instances/{started.json()['id']}").json()
    assert [t["element_id"] for t in body["tasks"]] == ["handle"]
    [undeliverable] = [e for e in body["history"] if e["type"] == "message_undeliverable"]
    assert "YK-NONE" in undeliverable["details"]["reason"]
    assert api.get(f"/process-instances/{started.json()['id']}", "portal").status_code == 200


def test_rest_start_of_a_message_start_process_validates_its_form(api: Api) -> None:
    assert api.deploy(DATA / "linked_complaint.bpmn").status_code == 201
    response = api.start("linked_complaint", "TS-0003", {"applicationId": "X"})
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "description"


def test_messages_a_process_throws_itself_are_refused_to_api_callers(api: Api) -> None:
    assert api.deploy(DATA / "linked_case.bpmn", DATA / "linked_complaint.bpmn").status_code == 201
    api.start("linked_case", "YK-CASE-9", {})
    link = {
        "message_name": "demo_complaint_linked",
        "business_key": "YK-CASE-9",
        "variables": {"complaintId": "TS-FORGED", "description": "forged"},
    }
    refused = api.post("/messages", "portal", json=link)
    assert refused.status_code == 403, refused.text
    assert refused.json()["details"] == {
        "message_name": "demo_complaint_linked",
        "process_key": "linked_complaint",
    }
    case = api.get("/process-instances", params={"business_key": "YK-CASE-9"}).json()["items"][0]
    assert "linkedComplaint" not in api.get(f"/process-instances/{case['id']}").json()["variables"]
    assert api.get(f"/process-instances/{case['id']}").json()["status"] == "active"
    # An administrator may still deliver it, to repair a case by hand.
    repaired = api.post("/messages", "admin", json=link)
    assert repaired.status_code == 200, repaired.text
    assert repaired.json()["status"] == "delivered"
    repaired_case = api.get(f"/process-instances/{case['id']}").json()
    assert repaired_case["variables"]["linkedComplaint"] == "TS-FORGED"


def test_a_message_carries_only_the_variables_its_catch_event_declares(api: Api) -> None:
    assert api.deploy(DATA / "message_contract.bpmn").status_code == 201
    forged = {"reportNo": "R-1", "approved": True, "inspectionPassed": True}

    def send(key: str, variables: dict[str, object]) -> Any:
        return api.post(
            "/messages",
            "portal",
            json={"message_name": "demo_report_filed", "business_key": key, "variables": variables},
        )

    def case(key: str) -> dict[str, Any]:
        found = api.get("/process-instances", params={"business_key": key}).json()["items"][0]
        return api.get(f"/process-instances/{found['id']}").json()

    def finish_prepare(key: str) -> None:
        [task] = case(key)["tasks"]
        api.claim(task["id"], "clerk")
        assert api.complete(task["id"], "clerk", {}).status_code == 200

    # Waiting at the receive task: refused with every undeclared variable named, nothing changes.
    api.start("contract_case", "RPT-1", {})
    finish_prepare("RPT-1")
    refused = send("RPT-1", forged)
    assert refused.status_code == 422, refused.text
    assert [d["field"] for d in refused.json()["details"]] == ["approved", "inspectionPassed"]
    assert "filedAt, reportNo" in refused.json()["details"][0]["message"]
    waiting = case("RPT-1")
    assert waiting["status"] == "active" and "reportNo" not in waiting["variables"]
    delivered = send("RPT-1", {"reportNo": "R-1", "filedAt": "2026-12-01"})
    assert delivered.status_code == 200, delivered.text
    assert case("RPT-1")["status"] == "completed"

    # Not waiting yet: the same check before the message is kept for later.
    api.start("contract_case", "RPT-2", {})
    assert send("RPT-2", forged).status_code == 422
    kept = send("RPT-2", {"reportNo": "R-2"})
    assert kept.status_code == 202, kept.text
    finish_prepare("RPT-2")
    done = case("RPT-2")
    assert done["status"] == "completed"
    assert done["variables"]["reportNo"] == "R-2" and "approved" not in done["variables"]


def test_the_shipped_processes_declare_what_their_portal_messages_carry() -> None:
    contracts = {
        path.stem: message_contracts(path.read_text(encoding="utf-8"))
        for path in (ROOT / "processes").glob("*.bpmn")
    }
    assert contracts["yekuo_current"]["construction_finished"] == {"constructionFinishedAt"}
    assert contracts["yekuo_streamlined"]["completion_report_submitted"] == {
        "completionRequestAt",
        "internalWiringReady",
        "documentsConfirmed",
    }
    assert contracts["complaint_fast_track"]["complaint_confirmed"] == {
        "customerSatisfied",
        "customerComment",
    }
    # Messages the processes send each other stay open: their throw events choose the variables.
    assert contracts["yekuo_streamlined"]["complaint_linked"] is None


def test_a_variables_property_that_is_not_a_list_of_names_is_refused_at_deploy(api: Api) -> None:
    xml = (
        (DATA / "message_contract.bpmn")
        .read_bytes()
        .replace(b"reportNo, filedAt", b"reportNo; 1st")
    )
    refused = api.deploy_bytes("contract_case.bpmn", xml)
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["details"]
    assert problem["element"] == "wait_report"
    assert "'reportNo; 1st'" in problem["message"]


def test_a_triggered_event_subprocess_does_not_leak_into_later_cases(api: Api) -> None:
    """Starting an event subprocess once must not make every later case of the process start it
    too (and then wait for its message forever): the engine shares the process spec."""
    assert api.deploy(DATA / "linked_case.bpmn").status_code == 201
    first = api.start("linked_case", "YK-LEAK-1", {}).json()
    linked = api.post(
        "/messages",
        "admin",
        json={
            "message_name": "demo_complaint_linked",
            "business_key": "YK-LEAK-1",
            "variables": {"complaintId": "TS-L1", "description": "x"},
        },
    )
    assert linked.status_code == 200, linked.text
    for key in ("YK-LEAK-2", "YK-LEAK-1"):
        if key == "YK-LEAK-2":
            instance = api.start("linked_case", key, {}).json()
        else:
            instance = first
        [work] = api.open_tasks(instance["id"])
        api.claim(work["id"], "clerk")
        done = api.complete(work["id"], "clerk", {})
        assert done.json()["instance_status"] == "completed", (key, done.json())
