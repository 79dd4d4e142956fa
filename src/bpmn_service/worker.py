"""Reference external-task worker for the construction-unit registry (construction_registry).

It talks to the service only over the public REST API, exactly as any other system's worker would:
fetch and lock tasks of its topic, compute the answer, complete them (or report a failure, which
the service retries and finally turns into an incident). Run it beside the service:

    BPMN_WORKER_TOKEN=demo-worker bpmn-service worker --url http://127.0.0.1:8000

The recommendation honours 三不指定: it rotates through every licensed unit able to build at the
requested voltage, seeded by the application number, and is a recommendation only.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any

from bpmn_service.registry import ConstructionUnitRegistry

log = logging.getLogger("bpmn_service.worker")
TOPIC = "construction_registry"


class ApiClient:
    def __init__(self, base_url: str, token: str) -> None:
        self.base = base_url.rstrip("/") + "/api/v1"
        self.token = token

    def post(self, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
        return json.loads(payload) if payload else None


def recommend(registry: ConstructionUnitRegistry, variables: dict[str, Any]) -> dict[str, Any]:
    key = str(variables.get("businessKey") or variables.get("applicationId") or "")
    voltage = str(variables.get("supplyVoltageRequested") or variables.get("supplyVoltage") or "")
    units = registry.recommend(key, voltage, 3)
    if len(units) < 3:
        raise ValueError(f"the registry has only {len(units)} licensed units for {voltage!r}")
    return {"recommendedConstructionUnits": units, "recommendationMethod": "rotation"}


def serve(
    client: ApiClient,
    registry: ConstructionUnitRegistry,
    *,
    worker_id: str,
    poll: float,
    once: bool = False,
) -> int:
    """Work until interrupted (or one round with once=True); return the tasks completed."""
    done = 0
    while True:
        try:
            tasks = client.post(
                "/external-tasks/fetch-and-lock",
                {"worker_id": worker_id, "topics": [TOPIC], "lock_seconds": 60, "max_tasks": 10},
            )
        except (urllib.error.URLError, TimeoutError) as exc:
            log.warning("cannot reach the service: %s", exc)
            tasks = []
        for task in tasks:
            try:
                variables = recommend(registry, task["variables"])
            except ValueError as exc:
                client.post(
                    f"/external-tasks/{task['id']}/failure",
                    {"worker_id": worker_id, "error_message": str(exc), "retries": 0},
                )
                continue
            client.post(
                f"/external-tasks/{task['id']}/complete",
                {"worker_id": worker_id, "variables": variables},
            )
            done += 1
        if once:
            return done
        if not tasks:
            time.sleep(poll)
