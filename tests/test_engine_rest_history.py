"""/engine-rest's history, incident and activity-instance reads over HTTP on SQLite and
PostgreSQL: Camunda's shapes, filters, sorting and paging, and /api/v1's visibility."""

from __future__ import annotations

import re
from typing import Any

import pytest

from conftest import ROOT, Api
from test_engine_rest import Rest, basic, fetch, sla_demo_waiting_for_sms, start_race

CAMUNDA_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")
INTAKE = ROOT / "tests" / "engine" / "bpmn"


@pytest.fixture
def rest(api: Api) -> Rest:
    return Rest(api.client)


def three_races(rest: Rest, api: Api) -> dict[str, tuple[str, str]]:
    """Three race cases started by the clerk: one completed by the clerk, one cancelled, one
    open; by state, (instance id, task id)."""
    cases = {state: start_race(rest, api, f"RACE-H-{state}") for state in ("done", "gone", "open")}
    instance_id, task_id = cases["done"]
    assert rest.post(f"/task/{task_id}/claim", "clerk", json={"userId": "clerk"}).status_code == 204
    assert rest.post(f"/task/{task_id}/complete", "clerk", json={}).status_code == 204
    gone = rest.client.delete(
        f"/engine-rest/process-instance/{cases['gone'][0]}", headers=basic("clerk")
    )
    assert gone.status_code == 204, gone.text
    return cases


def ids(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [row["id"] for row in answer.json()]


def refused(answer: Any, name: str) -> None:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["type"] == "InvalidRequestException" and name in body["message"], body


# -- historic process instances -------------------------------------------------------------------


def test_historic_process_instances_shapes_filters_and_sorting(rest: Rest, api: Api) -> None:
    cases = three_races(rest, api)
    done, gone, running = (cases[s][0] for s in ("done", "gone", "open"))
    listed = rest.get("/history/process-instance", params={"processDefinitionKey": "race"})
    by_id = {row["id"]: row for row in listed.json()}
    assert set(by_id) == {done, gone, running}
    assert [by_id[i]["state"] for i in (done, gone, running)] == [
        "COMPLETED",
        "EXTERNALLY_TERMINATED",
        "ACTIVE",
    ]
    row = by_id[done]
    assert row["businessKey"] == "RACE-H-done" and row["processDefinitionKey"] == "race"
    assert row["processDefinitionName"] == "Claim race" and row["processDefinitionVersion"] == 1
    assert row["processDefinitionId"] == by_id[running]["processDefinitionId"]
    assert row["startUserId"] == "clerk" and row["startActivityId"] == "start"
    assert CAMUNDA_DATE.match(row["startTime"]) and CAMUNDA_DATE.match(row["endTime"])
    assert isinstance(row["durationInMillis"], int) and row["durationInMillis"] >= 0
    assert row["deleteReason"] is None and row["rootProcessInstanceId"] == done
    assert row["tenantId"] is None and row["superProcessInstanceId"] is None
    assert by_id[gone]["deleteReason"] == "cancelled over /engine-rest"
    assert by_id[running]["endTime"] is None and by_id[running]["durationInMillis"] is None

    def query(user: str = "admin", **filters: Any) -> set[str]:
        return set(ids(rest.get("/history/process-instance", user, params=filters)))

    assert query(finished="true") == {done, gone}
    assert query(unfinished="true") == {running}
    assert query(finished="true", unfinished="true") == set()
    assert query(completed="true") == {done}
    assert query(externallyTerminated="true") == {gone}
    # One state at a time, as Camunda's query takes it (a second one is refused there too).
    two = rest.get(
        "/history/process-instance", "admin", params={"active": "true", "completed": "true"}
    )
    assert two.status_code == 400 and "completed" in two.json()["message"]
    assert query(internallyTerminated="true") == set()
    assert query(processInstanceBusinessKey="RACE-H-gone") == {gone}
    assert query(processInstanceBusinessKeyLike="RACE-H-%o%") == {done, gone, running}
    assert query(processInstanceIds=f"{done},{gone}") == {done, gone}
    assert query(processInstanceId=running) == {running}
    assert query(processDefinitionKeyIn="race,other") == {done, gone, running}
    assert query(processDefinitionId=row["processDefinitionId"]) == {done, gone, running}
    assert query(startedBy="clerk") == {done, gone, running}
    assert query(startedBy="clerk2") == set()
    assert query(startedBefore="2000-01-01T00:00:00.000+0000") == set()
    assert query(startedAfter="2000-01-01T08:00:00.000+0800") == {done, gone, running}
    assert query(finishedAfter="2000-01-01T00:00:00") == {done, gone}
    assert query(finishedBefore="2000-01-01T00:00:00") == set()
    assert query(tenantIdIn="t1") == set()

    newest_key_first = rest.get(
        "/history/process-instance",
        params={"sortBy": "businessKey", "sortOrder": "desc", "firstResult": 1, "maxResults": 1},
    )
    assert ids(newest_key_first) == [gone]  # RACE-H-open, RACE-H-gone, RACE-H-done
    for key in ("instanceId", "definitionKey", "startTime", "endTime", "duration"):
        for order in ("asc", "desc"):
            answer = rest.get(
                "/history/process-instance", params={"sortBy": key, "sortOrder": order}
            )
            assert len(ids(answer)) == 3, key
    by_end = ids(
        rest.get("/history/process-instance", params={"sortBy": "endTime", "sortOrder": "asc"})
    )
    assert by_end[-1] == running  # no end: last
    count = rest.get("/history/process-instance/count", params={"finished": "true"})
    assert count.json() == {"count": 2}

    one = rest.get(f"/history/process-instance/{gone}")
    assert one.status_code == 200 and one.json()["state"] == "EXTERNALLY_TERMINATED"
    missing = rest.get("/history/process-instance/no-such-instance")
    assert missing.status_code == 404 and missing.json()["type"] == "InvalidRequestException"


def test_historic_process_instances_are_those_api_v1_shows(rest: Rest, api: Api) -> None:
    cases = three_races(rest, api)
    done, running = cases["done"][0], cases["open"][0]
    # Another hall clerk sees the case with a task offered to the group, not the ended ones.
    assert set(ids(rest.get("/history/process-instance", "clerk2"))) == {running}
    native = api.get("/process-instances", "clerk2", params={"status": "completed"}).json()
    assert native["items"] == []
    assert rest.get(f"/history/process-instance/{done}", "clerk2").status_code == 404
    assert api.get(f"/process-instances/{done}", "clerk2").status_code == 404
    # The initiator sees all three; a customer none.
    assert len(ids(rest.get("/history/process-instance", "clerk"))) == 3
    assert ids(rest.get("/history/process-instance", "portal")) == []
    assert rest.get("/history/process-instance/count", "portal").json() == {"count": 0}


def test_historic_process_instance_parameters_are_checked(rest: Rest) -> None:
    refused(
        rest.get("/history/process-instance", params={"superProcessInstanceId": "x"}),
        "superProcessInstanceId",
    )
    refused(
        rest.get("/history/process-instance/count", params={"withIncidents": "true"}),
        "withIncidents",
    )
    refused(
        rest.get("/history/process-instance", params={"startedBefore": "yesterday"}),
        "startedBefore",
    )
    refused(
        rest.get(
            "/history/process-instance/count",
            params={"finishedAfter": "9999-12-31T23:59:59.000-0800"},
        ),
        "finishedAfter",
    )
    refused(rest.get("/history/process-instance", params={"sortBy": "startTime"}), "sortBy")
    refused(
        rest.get("/history/process-instance", params={"sortBy": "x", "sortOrder": "asc"}), "sortBy"
    )
    assert rest.get("/history/process-instance", params={"maxResults": 1001}).status_code == 400
    assert rest.client.get("/engine-rest/history/process-instance").status_code == 401


# -- historic tasks -------------------------------------------------------------------------------


def test_historic_tasks_open_and_ended(rest: Rest, api: Api) -> None:
    cases = three_races(rest, api)
    done_task, gone_task, open_task = (cases[s][1] for s in ("done", "gone", "open"))
    listed = rest.get("/history/task", params={"processDefinitionKey": "race"})
    by_id = {row["id"]: row for row in listed.json()}
    assert set(by_id) == {done_task, gone_task, open_task}
    done = by_id[done_task]
    assert done["deleteReason"] == "completed" and done["taskState"] == "Completed"
    assert done["assignee"] == "clerk" and done["taskDefinitionKey"] == "grab"
    assert done["name"] == "Grab me" and done["processInstanceId"] == cases["done"][0]
    assert done["executionId"] == cases["done"][0] and done["processDefinitionKey"] == "race"
    assert done["activityInstanceId"] == f"grab:{done_task}"
    assert CAMUNDA_DATE.match(done["startTime"]) and CAMUNDA_DATE.match(done["endTime"])
    assert isinstance(done["duration"], int) and done["duration"] >= 0
    assert by_id[gone_task]["deleteReason"] == "deleted"
    assert by_id[gone_task]["taskState"] == "Deleted"
    still = by_id[open_task]
    assert still["deleteReason"] is None and still["endTime"] is None and still["duration"] is None
    assert still["priority"] == 50 and still["taskState"] == "Created"
    assert still["processDefinitionId"] == done["processDefinitionId"]

    def query(user: str = "admin", **filters: Any) -> set[str]:
        return set(ids(rest.get("/history/task", user, params=filters)))

    assert query(finished="true") == {done_task, gone_task}
    assert query(unfinished="true") == {open_task}
    assert query(processFinished="true") == {done_task, gone_task}
    assert query(processUnfinished="true") == {open_task}
    assert query(taskAssignee="clerk") == {done_task}
    assert query(taskId=gone_task) == {gone_task}
    assert query(processInstanceId=cases["open"][0]) == {open_task}
    assert query(processInstanceBusinessKey="RACE-H-done") == {done_task}
    assert query(taskDefinitionKey="grab") == {done_task, gone_task, open_task}
    assert query(taskDefinitionKey="other") == set()
    assert query(taskDueDateBefore="2999-01-01T00:00:00.000+0000") == set()  # none has a due date
    assert query(taskDueDateAfter="2000-01-01T00:00:00.000+0000") == set()
    assert rest.get("/history/task/count", params={"finished": "true"}).json() == {"count": 2}

    # Sorted across open and ended tasks, paged.
    by_start = ids(rest.get("/history/task", params={"sortBy": "startTime", "sortOrder": "asc"}))
    assert by_start == [done_task, gone_task, open_task]
    page = rest.get(
        "/history/task",
        params={"sortBy": "startTime", "sortOrder": "desc", "firstResult": 1, "maxResults": 1},
    )
    assert ids(page) == [gone_task]
    by_end = ids(rest.get("/history/task", params={"sortBy": "endTime", "sortOrder": "desc"}))
    assert by_end[-1] == open_task
    for key in ("taskId", "duration", "assignee", "deleteReason", "priority", "dueDate"):
        answer = rest.get("/history/task", params={"sortBy": key, "sortOrder": "desc"})
        assert len(ids(answer)) == 3, key

    # Visibility: the tasks of the cases the caller sees.
    assert query("clerk2") == {open_task}
    assert query("clerk") == {done_task, gone_task, open_task}
    assert query("portal") == set()


def test_historic_task_parameters_are_checked(rest: Rest) -> None:
    refused(rest.get("/history/task", params={"taskOwner": "clerk"}), "taskOwner")
    refused(rest.get("/history/task", params={"taskDueDateBefore": "soon"}), "taskDueDateBefore")
    refused(
        rest.get("/history/task/count", params={"taskDueDateAfter": "tomorrow"}), "taskDueDateAfter"
    )
    refused(rest.get("/history/task", params={"sortOrder": "asc"}), "sortBy")
    assert rest.get("/history/task", params={"firstResult": -1}).status_code == 400


# -- incidents ------------------------------------------------------------------------------------


def failed_completion(api: Api) -> str:
    """A case whose completion failed at its gateway: an incident of the failed run."""
    fixed = (INTAKE / "intake_fixed.bpmn").read_bytes()
    v1 = fixed.replace(b'name="Intake"', b'name="Intake (first)"')
    assert api.deploy_bytes("intake.bpmn", v1).status_code == 201
    assert (
        api.deploy_bytes("intake.bpmn", (INTAKE / "intake_faulty.bpmn").read_bytes()).status_code
        == 201
    )
    case = api.start("intake", "IN-H-1", {}).json()
    [task] = case["tasks"]
    assert api.claim(task["id"], "clerk").status_code == 200
    assert api.complete(task["id"], "clerk", {"verdict": "yes"}).status_code == 422
    return str(case["id"])


def failed_external_task(rest: Rest, api: Api) -> tuple[str, str]:
    instance_id = sla_demo_waiting_for_sms(rest, api, "SMS-H-1")
    [task] = fetch(rest).json()
    failure = {"workerId": "w1", "errorMessage": "gateway down", "retries": 0, "retryTimeout": 0}
    assert (
        rest.post(f"/external-task/{task['id']}/failure", "worker", json=failure).status_code == 204
    )
    return instance_id, str(task["id"])


def test_incidents_of_external_tasks_and_failed_runs(rest: Rest, api: Api) -> None:
    external_instance, external_task = failed_external_task(rest, api)
    step_instance = failed_completion(api)
    native = api.get("/incidents", "leader").json()["items"]
    listed = rest.get("/incident", "leader")
    assert ids(listed) == [i["id"] for i in native]  # the same incidents, oldest first
    by_type = {row["incidentType"]: row for row in listed.json()}
    external = by_type["failedExternalTask"]
    assert external["id"] == external_task and external["configuration"] == external_task
    assert external["processInstanceId"] == external_instance
    assert external["activityId"] == "notify" and external["incidentMessage"] == "gateway down"
    assert external["causeIncidentId"] == external["rootCauseIncidentId"] == external["id"]
    assert external["executionId"] is None and external["tenantId"] is None
    assert CAMUNDA_DATE.match(external["incidentTimestamp"])
    assert external["processDefinitionId"].startswith("sla_demo:")
    job = by_type["failedJob"]
    assert job["processInstanceId"] == step_instance and job["activityId"] == "decide"
    assert job["configuration"] is None and "decision" in job["incidentMessage"]
    assert job["processDefinitionId"].startswith("intake:")

    def query(user: str = "leader", **filters: Any) -> list[str]:
        return ids(rest.get("/incident", user, params=filters))

    assert query(incidentType="failedExternalTask") == [external_task]
    assert query(incidentType="failedJob") == [job["id"]]
    assert query(incidentType="customType") == []
    assert query(processInstanceId=step_instance) == [job["id"]]
    assert query(activityId="notify") == [external_task]
    assert query(configuration=external_task) == [external_task]
    assert query(incidentId=job["id"]) == [job["id"]]
    assert query(processDefinitionId=job["processDefinitionId"]) == [job["id"]]
    newest = query(sortBy="incidentTimestamp", sortOrder="desc", maxResults=1)
    assert newest == [job["id"]]
    assert query(firstResult=1) == [job["id"]]
    assert query(sortBy="incidentType", sortOrder="asc") == [external_task, job["id"]]
    assert rest.get("/incident/count", "worker").json() == {"count": 2}
    assert rest.get("/incident/count", params={"incidentType": "failedJob"}).json() == {"count": 1}

    one = rest.get(f"/incident/{job['id']}", "analyst")
    assert one.status_code == 200 and one.json() == job
    assert rest.get("/incident/nope").status_code == 404
    # The same permission as /api/v1/incidents: clerks are refused there and here.
    forbidden = rest.get("/incident", "clerk")
    assert forbidden.status_code == 403 and forbidden.json()["type"] == "AuthorizationException"
    assert api.get("/incidents", "clerk").status_code == 403
    refused(rest.get("/incident", params={"jobDefinitionIdIn": "x"}), "jobDefinitionIdIn")
    refused(rest.get("/incident", params={"sortBy": "tenantId", "sortOrder": "asc"}), "sortBy")

    # Retries resolve the external task's incident.
    revive = rest.client.put(
        f"/engine-rest/external-task/{external_task}/retries",
        headers=basic("admin"),
        json={"retries": 1},
    )
    assert revive.status_code == 204
    assert query() == [job["id"]]


# -- activity instance tree -----------------------------------------------------------------------


def test_the_activity_instance_tree_of_a_running_case(rest: Rest, api: Api) -> None:
    instance_id, task_id = start_race(rest, api, "RACE-T-1")
    tree = rest.get(f"/process-instance/{instance_id}/activity-instances", "clerk")
    assert tree.status_code == 200, tree.text
    root = tree.json()
    assert root["id"] == instance_id and root["parentActivityInstanceId"] is None
    assert root["activityType"] == "processDefinition"
    assert (
        root["activityId"] == root["processDefinitionId"] and root["activityName"] == "Claim race"
    )
    assert root["childTransitionInstances"] == [] and root["executionIds"] == [instance_id]
    [grab] = root["childActivityInstances"]
    assert grab == {
        "id": f"grab:{task_id}",
        "parentActivityInstanceId": instance_id,
        "activityId": "grab",
        "activityType": "userTask",
        "activityName": "Grab me",
        "name": "Grab me",
        "processInstanceId": instance_id,
        "processDefinitionId": root["processDefinitionId"],
        "childActivityInstances": [],
        "childTransitionInstances": [],
        "executionIds": [instance_id],
        "incidentIds": [],
        "incidents": [],
    }
    # The id is the one the task history names.
    [historic] = rest.get("/history/task", params={"taskId": task_id}).json()
    assert historic["activityInstanceId"] == grab["id"]
    # Visibility as /api/v1's activities: a customer does not see the case; unknown is 404.
    assert (
        rest.get(f"/process-instance/{instance_id}/activity-instances", "portal").status_code == 404
    )
    assert rest.get("/process-instance/nope/activity-instances").status_code == 404
    # An ended case has no activity instances: 404, as in Camunda.
    assert rest.post(f"/task/{task_id}/claim", "clerk", json={"userId": "clerk"}).status_code == 204
    assert rest.post(f"/task/{task_id}/complete", "clerk", json={}).status_code == 204
    ended = rest.get(f"/process-instance/{instance_id}/activity-instances")
    assert ended.status_code == 404 and ended.json()["type"] == "InvalidRequestException"


def test_the_activity_instance_tree_carries_incidents(rest: Rest, api: Api) -> None:
    external_instance, external_task = failed_external_task(rest, api)
    root = rest.get(f"/process-instance/{external_instance}/activity-instances").json()
    notify = [a for a in root["childActivityInstances"] if a["activityId"] == "notify"]
    assert [a["activityType"] for a in notify] == ["serviceTask"]
    assert notify[0]["incidentIds"] == [external_task]
    assert notify[0]["incidents"] == [
        {"id": external_task, "parentActivityInstanceId": notify[0]["id"]}
    ]
    step_instance = failed_completion(api)
    [incident] = rest.get("/incident", params={"processInstanceId": step_instance}).json()
    root = rest.get(f"/process-instance/{step_instance}/activity-instances").json()
    # The failed run is no activity instance; its incident is noted where it failed, or on the
    # instance when that element is not active (the gateway here: the task stays open).
    noted = root["incidentIds"] + [
        i for a in root["childActivityInstances"] for i in a["incidentIds"]
    ]
    assert noted == [incident["id"]]
    assert "failed" not in {a["activityType"] for a in root["childActivityInstances"]}


def test_unknown_paths_stay_not_found(rest: Rest) -> None:
    for path in ("/history/activity-instance", "/history/variable-instance", "/job"):
        answer = rest.get(path)
        assert answer.status_code == 404 and answer.json()["type"] == "NotFoundException", path


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/history/process-instance", "startedAfter"),
        ("/history/process-instance/count", "finishedBefore"),
        ("/history/task", "taskDueDateAfter"),
    ],
)
def test_history_dates_beyond_utc_are_400_naming_them(rest: Rest, path: str, name: str) -> None:
    refused(rest.get(path, params={name: "9999-12-31T23:59:59.000-0800"}), name)
    assert rest.get(path, params={name: "9999-12-31T23:59:59.999+0000"}).status_code == 200
