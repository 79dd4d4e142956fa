"""The reference registry worker completes construction_registry tasks over the REST API."""

from __future__ import annotations

import threading

import uvicorn

from bpmn_service.main import create_app
from bpmn_service.registry import ConstructionUnitRegistry
from bpmn_service.worker import ApiClient, recommend, serve
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


def test_worker_completes_tasks_through_the_api(api: Api) -> None:
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
        assert serve(client, REGISTRY, worker_id="w", poll=0.1, once=True) == 1
    finally:
        server.should_exit = True
        thread.join(10)
    body = api.get(f"/process-instances/{started['id']}").json()
    assert body["status"] == "completed"
    assert len(body["variables"]["recommendedConstructionUnits"]) == 3
