"""Real Camunda 7 clients, unchanged, against /engine-rest of a real server (SQLite, PostgreSQL).

- camunda-external-task-client-python3 works every external topic of the streamlined 业扩报装
  process along a recorded path, reports a BPMN error and a failure;
- pycamunda deploys a file, starts an instance, lists, claims and completes tasks, and reads
  incidents and the activity instance tree;
- both read a variable the process declares a date as a Date and write it back unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pycamunda.base
import pycamunda.deployment
import pycamunda.incident
import pycamunda.message
import pycamunda.processdef
import pycamunda.processinst
import pycamunda.task
import pytest
import requests
from camunda.external_task.external_task import ExternalTask, TaskResult
from camunda.external_task.external_task_worker import ExternalTaskWorker

from conftest import DATA, TOKENS, Api
from process_paths import PROCESSES, load_paths, run_steps, start
from served import served
from test_engine_rest_dates import DATES_BPMN

STREAMLINED_TOPICS = {"construction_registry", "data_sharing", "sms", "e_sign"}


@pytest.fixture
def engine_rest(api: Api) -> Iterator[str]:
    with served(api.ctx) as base:
        yield f"{base}/engine-rest"


def worker(url: str, worker_id: str = "camunda-client") -> ExternalTaskWorker:
    config = {
        "auth_basic": {"username": "worker", "password": TOKENS["worker"]},
        "maxTasks": 1,
        "lockDuration": 30_000,
        "asyncResponseTimeout": 5_000,
        "sleepSeconds": 0,
    }
    return ExternalTaskWorker(worker_id=worker_id, base_url=url, config=config)


@pytest.fixture(autouse=True)
def quiet_client_logs() -> None:
    # The client logs every poll at INFO; keep failures readable.
    logging.getLogger("camunda").setLevel(logging.WARNING)


def test_the_external_task_client_works_every_topic_of_the_streamlined_process(
    api: Api, engine_rest: str
) -> None:
    assert api.deploy(PROCESSES / "yekuo_streamlined.bpmn").status_code == 201
    path = load_paths("yekuo_streamlined")["paths"]["HV_S_ordinary"]
    instance_id = start(api, "yekuo_streamlined", "HV_S_ordinary", "YK-CLIENT-1")
    client = worker(engine_rest)
    handled: list[tuple[str, str]] = []
    properties: dict[str, dict[str, str]] = {}
    for element, values in path:
        if "_external" not in values:
            run_steps(api, instance_id, [[element, values]])
            continue
        recorded = {k: v for k, v in values.items() if not k.startswith("_")}

        def action(task: ExternalTask, recorded: dict[str, Any] = recorded) -> TaskResult:
            handled.append((task.get_topic_name(), task.get_activity_id()))
            properties[task.get_activity_id()] = task.get_extension_properties()
            assert task.get_business_key() == "YK-CLIENT-1"
            assert task.get_variable("contactPhone") == "13800000003"
            return task.complete(recorded)

        client.fetch_and_execute(values["_external"], action)
        assert handled[-1] == (values["_external"], element)
    assert {topic for topic, _ in handled} == STREAMLINED_TOPICS
    # The client asks for the elements' camunda:properties (includeExtensionProperties) and a
    # worker reads its settings from them; a task without any has none.
    assert properties["B-ST01"] == {
        "variables": "licenceVerified,propertyRegistered,smallMicroRegistered,sharedDataSource,"
        "sharedDataCheckedAt"
    }
    assert all(isinstance(p, dict) for p in properties.values())
    final = api.get(f"/process-instances/{instance_id}").json()
    assert final["status"] == "completed", final["status"]
    units = final["variables"]["recommendedConstructionUnits"]
    assert isinstance(units, list) and len(units) == 3  # a list travelled as a plain JSON value


def test_the_external_task_client_reports_bpmn_errors_and_failures(
    api: Api, engine_rest: str
) -> None:
    assert api.deploy(DATA / "external_error.bpmn").status_code == 201
    first = api.start("registry_check", "YK-ERR-1", {}).json()
    client = worker(engine_rest)

    def unlicensed(task: ExternalTask) -> TaskResult:
        return task.bpmn_error(
            "UNLICENSED", "the unit's licence has expired", {"reason": "expired"}
        )

    client.fetch_and_execute("construction_registry", unlicensed)
    [fix] = api.open_tasks(first["id"])
    assert fix["element_id"] == "fix"

    second = api.start("registry_check", "YK-ERR-2", {}).json()

    def broken(task: ExternalTask) -> TaskResult:
        return task.failure("registry unreachable", "timeout after 30 s", 0, 1000)

    client.fetch_and_execute("construction_registry", broken)
    [incident] = api.get("/incidents", "admin").json()["items"]
    assert incident["instance_id"] == second["id"] and incident["kind"] == "external_task"
    assert incident["message"] == "registry unreachable"
    assert incident["retries"] == 0


def test_pycamunda_deploys_starts_lists_claims_and_completes(
    api: Api, engine_rest: str, tmp_path: Path
) -> None:
    analyst = requests.Session()
    analyst.auth = ("analyst", TOKENS["analyst"])
    clerk = requests.Session()
    clerk.auth = ("clerk", TOKENS["clerk"])
    bpmn = tmp_path / "race.bpmn"
    bpmn.write_bytes((DATA / "race.bpmn").read_bytes())

    create = pycamunda.deployment.Create(url=engine_rest, name="race", source="pycamunda")
    create.auth = analyst.auth
    with bpmn.open("rb") as file:
        create.add_resource(file)
        deployment = create()
    [definition] = deployment.deployed_process_definitions.values()
    assert definition.key == "race" and definition.version == 1

    start_instance = pycamunda.processdef.StartInstance(
        url=engine_rest, key="race", business_key="PYC-1"
    )
    start_instance.add_variable(name="note", value="started by pycamunda")
    start_instance.session = clerk
    instance = start_instance()
    assert instance.business_key == "PYC-1" and instance.definition_id == definition.id_

    listed = pycamunda.processinst.GetList(url=engine_rest, business_key="PYC-1")
    listed.session = clerk
    assert [i.id_ for i in listed()] == [instance.id_]

    tasks = pycamunda.task.GetList(
        url=engine_rest, process_instance_id=instance.id_, sort_by="created", ascending=True
    )
    tasks.session = clerk
    [task] = tasks()
    assert task.task_definition_key == "grab" and task.assignee is None

    claim = pycamunda.task.Claim(url=engine_rest, id_=task.id_, user_id="clerk")
    claim.session = clerk
    claim()
    links = pycamunda.task.IdentityLinksGetList(url=engine_rest, task_id=task.id_)
    links.session = clerk
    read = links()
    assert (read[0].type_, read[0].user_id) == ("assignee", "clerk")
    assert "hall_clerk" in {link.group_id for link in read if link.type_ == "candidate"}
    again = pycamunda.task.Claim(url=engine_rest, id_=task.id_, user_id="specialist")
    again.auth = ("specialist", TOKENS["specialist"])
    with pytest.raises(pycamunda.PyCamundaException, match="TaskAlreadyClaimedException"):
        again()

    complete = pycamunda.task.Complete(url=engine_rest, id_=task.id_)
    complete.add_variable(name="note", value="done by pycamunda", type_="String")
    complete.session = clerk
    complete()
    done = api.get(f"/process-instances/{instance.id_}").json()
    assert done["status"] == "completed"
    assert done["variables"]["note"] == "done by pycamunda"


def test_pycamunda_reads_incidents_and_the_activity_instance_tree(
    api: Api, engine_rest: str
) -> None:
    assert api.deploy(DATA / "external_error.bpmn").status_code == 201
    case = api.start("registry_check", "YK-INC-1", {}).json()

    def broken(task: ExternalTask) -> TaskResult:
        return task.failure("registry unreachable", "timeout after 30 s", 0, 1000)

    worker(engine_rest).fetch_and_execute("construction_registry", broken)
    leader = ("leader", TOKENS["leader"])

    incidents = pycamunda.incident.GetList(
        url=engine_rest,
        incident_type="failedExternalTask",
        process_instance_id=case["id"],
        sort_by="incident_timestamp",
        ascending=False,
    )
    incidents.auth = leader
    [incident] = incidents()
    assert incident.incident_type is pycamunda.incident.IncidentType.failed_external_task
    assert incident.process_instance_id == case["id"]
    assert incident.incident_message == "registry unreachable"
    assert (
        incident.configuration == incident.id_ and incident.root_cause_incident_id == incident.id_
    )
    assert incident.incident_timestamp is not None  # parsed from Camunda's date format

    tree = pycamunda.processinst.GetActivityInstance(url=engine_rest, id_=case["id"])
    tree.auth = leader
    root = tree()
    assert root.id_ == case["id"] and root.activity_type == "processDefinition"
    [service] = root.child_activity_instances
    assert service.activity_type == "serviceTask" and service.activity_id == incident.activity_id
    assert service.parent_activity_instance_id == root.id_
    assert service.incident_ids == (incident.id_,)


def test_the_external_task_client_reports_a_failure_with_a_long_stack_trace(
    api: Api, engine_rest: str
) -> None:
    """A failure over 4000 / 100,000 characters was 400: the task stayed locked, nothing kept."""
    assert api.deploy(DATA / "external_error.bpmn").status_code == 201
    api.start("registry_check", "YK-LONG-1", {})
    trace = "Traceback (most recent call last):\n" + '  File "worker.py", line 1\n' * 5000

    def broken(task: ExternalTask) -> TaskResult:
        return task.failure("registry unreachable " + "!" * 5000, trace, 0, 1000)

    worker(engine_rest).fetch_and_execute("construction_registry", broken)
    [incident] = api.get("/incidents", "admin").json()["items"]
    assert incident["message"] == ("registry unreachable " + "!" * 5000)[:4000]
    assert incident["retries"] == 0


def test_pycamunda_correlates_a_message_and_deletes_an_instance(api: Api, engine_rest: str) -> None:
    """CorrelateSingle read `execution: null` and crashed; Delete's flags were refused."""
    admin = ("admin", TOKENS["admin"])
    assert api.deploy(DATA / "sla_demo.bpmn").status_code == 201
    started = api.start("sla_demo", "PYC-MSG-1", {"category": "RES"}).json()
    [reply] = started["tasks"]
    api.claim(reply["id"], "clerk")
    assert api.complete(reply["id"], "clerk", {"replied": True}).status_code == 200

    correlate = pycamunda.message.CorrelateSingle(
        url=engine_rest,
        message_name="docs_supplemented",
        business_key="PYC-MSG-1",
        result_enabled=True,
    )
    correlate.auth = admin
    [result] = correlate()
    assert result.result_type is pycamunda.message.ResultType.execution
    assert result.execution.process_instance_id == started["id"]
    assert result.execution.ended is False

    delete = pycamunda.processinst.Delete(url=engine_rest, id_=started["id"])
    delete.auth = admin
    delete()
    assert api.get(f"/process-instances/{started['id']}").json()["status"] == "cancelled"
    with pytest.raises(pycamunda.PyCamundaException, match="has ended"):
        delete()  # ended: 404, as in Camunda
    quiet = pycamunda.processinst.Delete(
        url=engine_rest, id_=started["id"], fail_if_not_exists=False
    )
    quiet.auth = admin
    quiet()  # 204


def test_the_clients_read_a_declared_date_as_a_date_and_write_it_back_unchanged(
    api: Api, engine_rest: str
) -> None:
    """A date form field's variable was a String everywhere but in form-variables."""
    assert api.deploy_bytes("dated.bpmn", DATES_BPMN).status_code == 201
    started = api.start("dated", "CLIENT-DATE-1", {"visit": "2025-03-01", "note": "x"}).json()
    instance_id = started["id"]
    [enter] = started["tasks"]
    api.claim(enter["id"], "clerk")
    assert api.complete(enter["id"], "clerk", {"visit": "2025-03-01"}).status_code == 200

    seen: dict[str, Any] = {}

    def action(task: ExternalTask) -> TaskResult:
        seen["visit"] = task.get_variable("visit", with_meta=True)
        deadline = {"value": "2025-03-01T08:30:00.000+0800", "type": "Date"}
        return task.complete({"visit": seen["visit"], "deadline": deadline})  # visit as read

    worker(engine_rest).fetch_and_execute("dates", action)
    assert seen["visit"]["type"] == "Date"
    assert seen["visit"]["value"] == "2025-03-01T00:00:00.000+0800"
    variables = api.get(f"/process-instances/{instance_id}").json()["variables"]
    assert variables["visit"] == "2025-03-01"
    assert variables["deadline"] == "2025-03-01T08:30:00+08:00"

    read: dict[str, datetime] = {}
    for name in ("visit", "deadline"):
        get = pycamunda.processinst.VariablesGet(
            url=engine_rest, process_instance_id=instance_id, var_name=name
        )
        get.auth = ("admin", TOKENS["admin"])
        variable = get()
        assert variable.type_ == "Date"
        read[name] = pycamunda.base.from_isoformat(variable.value)
    beijing = timezone(timedelta(hours=8))
    assert read == {
        "visit": datetime(2025, 3, 1, tzinfo=beijing),
        "deadline": datetime(2025, 3, 1, 8, 30, tzinfo=beijing),
    }
    correlate = pycamunda.message.CorrelateSingle(
        url=engine_rest, message_name="ping", business_key="CLIENT-DATE-1", result_enabled=True
    )
    correlate.auth = ("admin", TOKENS["admin"])
    for name, moment in read.items():  # written back as read
        correlate.add_process_variable(name, pycamunda.base.isoformat(moment), type_="Date")
    correlate()
    after = api.get(f"/process-instances/{instance_id}").json()["variables"]
    assert after["visit"] == "2025-03-01"
    assert after["deadline"] == "2025-03-01T08:30:00+08:00"
