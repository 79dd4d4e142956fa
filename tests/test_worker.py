"""The reference registry worker completes construction_registry tasks over the REST API."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import uvicorn

from bpmn_service.main import create_app
from bpmn_service.registry import ConstructionUnitRegistry
from bpmn_service.worker import ApiClient, Handlers, recommend, serve
from conftest import ROOT, Api

REGISTRY = ConstructionUnitRegistry.load(ROOT / "config" / "construction-units.toml")


def test_recommendation_offers_three_licensed_units_and_rotates() -> None:
    first = recommend(REGISTRY, {"businessKey": "YK-1", "supplyVoltageRequested": "10kV"})
    units = first["recommendedConstructionUnits"]
    assert len(units) == 3 and len({u["licenseNo"] for u in units}) == 3
    keys = [f"YK-{i}" for i in range(30)]
    firsts = {
        recommend(REGISTRY, {"businessKey": k, "supplyVoltageRequested": "10kV"})[
            "recommendedConstructionUnits"
        ][0]["licenseNo"]
        for k in keys
    }
    assert len(firsts) > 2  # the rotation spreads recommendations over the registry


def test_worker_completes_tasks_through_the_api(api: Api, tmp_path: Path) -> None:
    outbox = tmp_path / "sms-outbox.jsonl"
    bpmn = (ROOT / "tests/data/sla_demo.bpmn").read_text(encoding="utf-8")
    bpmn = bpmn.replace('camunda:topic="sms"', 'camunda:topic="construction_registry"')
    assert api.deploy_bytes("registry_demo.bpmn", bpmn.encode()).status_code == 201
    started = api.start("sla_demo", "YK-W-1", {"category": "LV"}).json()
    [reply] = started["tasks"]
    api.claim(reply["id"], "clerk")
    api.complete(reply["id"], "clerk", {"replied": True})
    api.post(
        "/messages",
        "portal",
        json={
            "message_name": "docs_supplemented",
            "business_key": "YK-W-1",
            "variables": {"supplyVoltageRequested": "380V"},
        },
    )

    config = uvicorn.Config(create_app(ctx=api.ctx), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            thread.join(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        client = ApiClient(f"http://127.0.0.1:{port}", "demo-worker")
        handlers = Handlers.load(
            ROOT / "config" / "construction-units.toml",
            ROOT / "config" / "shared-registers.toml",
            outbox,
        )
        assert serve(client, handlers, worker_id="w", poll=0.1, once=True) == 1
    finally:
        server.should_exit = True
        thread.join(10)
    body = api.get(f"/process-instances/{started['id']}").json()
    assert body["status"] == "completed"
    assert len(body["variables"]["recommendedConstructionUnits"]) == 3


def test_reference_handlers_for_the_other_topics(tmp_path: Path) -> None:
    handlers = Handlers.load(
        ROOT / "config" / "construction-units.toml",
        ROOT / "config" / "shared-registers.toml",
        tmp_path / "outbox.jsonl",
    )
    task = {
        "id": "0123456789abcdef",
        "topic": "data_sharing",
        "business_key": "YK-9",
        "name": "证照共享核验",
        "element_id": "B-ST01",
        "variables": {"idNumber": "91420900MA4KYYYY2B"},
    }
    shared = handlers.handle(task)
    assert shared["licenceVerified"] and shared["propertyRegistered"]
    assert shared["smallMicroRegistered"] is False
    unknown = handlers.handle({**task, "variables": {"idNumber": "nobody"}})
    assert unknown["licenceVerified"] is False and unknown["sharedDataSource"] == "not found"
    sms = handlers.handle(
        {
            **task,
            "topic": "sms",
            "element_id": "B-ST14s",
            "variables": {"contactPhone": "13900002222"},
        }
    )
    assert set(sms) == {"powerOnSmsId", "powerOnSmsSentAt"}
    assert "13900002222" in (tmp_path / "outbox.jsonl").read_text(encoding="utf-8")
    signed = handlers.handle(
        {**task, "topic": "e_sign", "variables": {"eContractRef": "EC-1", "paymentMethod": "BANK"}}
    )
    assert signed["contractVerified"] and signed["contractRef"] == "EC-1"
    with pytest.raises(ValueError):
        handlers.handle({**task, "topic": "e_sign", "variables": {}})


def test_in_process_reference_workers_drive_the_streamlined_process(api: Api) -> None:
    from bpmn_service.reference_workers import ReferenceWorkers
    from process_paths import PROCESSES, load_paths

    assert api.deploy(PROCESSES / "yekuo_streamlined.bpmn").status_code == 201
    start = load_paths("yekuo_streamlined")["start"]["LV"]
    started = api.start("yekuo_streamlined", "YK-REF-1", start, user="manager").json()
    assert started["tasks"] == []  # waiting for the data_sharing service task
    assert ReferenceWorkers(api.ctx).run_once() == 1
    [task] = api.open_tasks(started["id"])
    assert task["element_id"] == "B-UT01"
    variables = api.get(f"/process-instances/{started['id']}").json()["variables"]
    assert variables["sharedDataSource"] in ("local shared registers", "not found")
