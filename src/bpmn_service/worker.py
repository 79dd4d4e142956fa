"""Reference external-task workers for the shipped models' topics, over the public REST API.

They talk to the service only over the REST API, exactly as other systems' workers would: fetch
and lock tasks, compute the answer, complete them (or report a failure, which becomes an incident
an operator resolves). Run them beside the service:

    BPMN_WORKER_TOKEN=demo-worker bpmn-service worker --url http://127.0.0.1:8000

- construction_registry: recommends three licensed units from config/construction-units.toml,
  rotating by application number (三不指定: a recommendation, never a designation);
- data_sharing: looks the applicant up in config/shared-registers.toml, the local export of the
  shared government registers (licence, property, small/micro enterprise);
- sms: queues the text in an outbox file (var/sms-outbox.jsonl) for the SMS gateway;
- e_sign: verifies that the case carries an e-contract / e-signature reference.
Replace any of them by the real integration: the topic is the contract.
"""

from __future__ import annotations

import json
import logging
import time
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bpmn_service.registry import ConstructionUnitRegistry

log = logging.getLogger("bpmn_service.worker")


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
    return {
        "recommendedConstructionUnits": units,
        "selectionMethod": "rotation",
        "registryQueriedAt": _now(),
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Handlers:
    """What each reference topic does; every one is backed by an operator-maintained local file."""

    registry: ConstructionUnitRegistry
    shared_records: dict[str, dict[str, Any]]
    sms_outbox: Path

    @classmethod
    def load(cls, registry_file: Path, shared_file: Path, sms_outbox: Path) -> Handlers:
        records: dict[str, dict[str, Any]] = {}
        if shared_file.exists():
            for record in tomllib.loads(shared_file.read_text(encoding="utf-8")).get("records", []):
                records[str(record["id_number"])] = record
        return cls(ConstructionUnitRegistry.load(registry_file), records, sms_outbox)

    def handle(self, task: dict[str, Any]) -> dict[str, Any]:
        topic, variables = task["topic"], task["variables"]
        if topic == "construction_registry":
            return recommend(self.registry, variables)
        if topic == "data_sharing":
            record = self.shared_records.get(str(variables.get("idNumber", "")))
            return {
                "licenceVerified": bool(record and record.get("licence")),
                "propertyRegistered": bool(record and record.get("property_registered")),
                "smallMicroRegistered": bool(record and record.get("small_micro")),
                "sharedDataSource": "local shared registers" if record else "not found",
                "sharedDataCheckedAt": _now(),
            }
        if topic == "sms":
            return self._send_sms(task, variables)
        if topic == "e_sign":
            reference = variables.get("eContractRef") or variables.get("eSignatureRef")
            if not reference:
                raise ValueError("no e-contract or e-signature reference on the case")
            return {
                "contractVerified": True,
                "contractRef": reference,
                "paymentAgreementVerified": bool(variables.get("paymentMethod")),
                "eSignVerifiedAt": _now(),
            }
        raise ValueError(f"no handler for topic {topic!r}")

    def _send_sms(self, task: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
        """Queue the text in an outbox file an SMS gateway (or a person) picks up."""
        phone = variables.get("contactPhone")
        if not phone:
            raise ValueError("the case has no contactPhone")
        sms_id = f"SMS-{task['id'][:8]}"
        line = {
            "id": sms_id,
            "to": phone,
            "business_key": task["business_key"],
            "text": f"【业扩报装】{task['business_key']}: {task['name']}",
            "at": _now(),
        }
        self.sms_outbox.parent.mkdir(parents=True, exist_ok=True)
        with self.sms_outbox.open("a", encoding="utf-8") as outbox:
            outbox.write(json.dumps(line, ensure_ascii=False) + "\n")
        prefix = SMS_VARIABLES.get(task["element_id"], "sms")
        return {
            f"{prefix}SmsId" if prefix != "sms" else "smsId": sms_id,
            f"{prefix}SmsSentAt" if prefix != "sms" else "smsSentAt": line["at"],
        }


# Which variables the shipped streamlined model expects from each SMS step.
SMS_VARIABLES = {"B-ST07s": "reply", "B-ST14s": "powerOn"}
TOPICS = ("construction_registry", "data_sharing", "sms", "e_sign")


def serve(
    client: ApiClient,
    handlers: Handlers,
    *,
    worker_id: str,
    poll: float,
    topics: tuple[str, ...] = TOPICS,
    once: bool = False,
) -> int:
    """Work until interrupted (or one round with once=True); return the tasks completed."""
    done = 0
    while True:
        try:
            tasks = client.post(
                "/external-tasks/fetch-and-lock",
                {
                    "worker_id": worker_id,
                    "topics": list(topics),
                    "lock_seconds": 60,
                    "max_tasks": 10,
                },
            )
        except (urllib.error.URLError, TimeoutError) as exc:
            log.warning("cannot reach the service: %s", exc)
            tasks = []
        for task in tasks:
            try:
                variables = handlers.handle(task)
            except (ValueError, KeyError) as exc:
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
