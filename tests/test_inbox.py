"""The task inbox: who sees what, filters, sorting, paging, claim/unclaim rules, group routing."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import DATA, Api

INBOX = DATA / "inbox.bpmn"
APPROVAL = DATA / "approval.bpmn"
COUNTERSIGN = DATA / "countersign.bpmn"
ALL_ELEMENTS = {"clerk_task", "specialist_task", "dynamic_task", "own_task", "customer_task"}


def start_inbox(
    api: Api, business_key: str, review_group: Any = "plan_engineer", user: str = "pm"
) -> dict[str, Any]:
    response = api.start("inbox", business_key, {"reviewGroup": review_group}, user=user)
    assert response.status_code == 201, response.text
    return dict(response.json())


def task_of(instance: dict[str, Any], element_id: str) -> dict[str, Any]:
    [task] = [t for t in instance["tasks"] if t["element_id"] == element_id]
    return dict(task)


def inbox(api: Api, user: str, **params: Any) -> list[dict[str, Any]]:
    response = api.tasks(user, **params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def elements(api: Api, user: str, **params: Any) -> set[str]:
    return {t["element_id"] for t in inbox(api, user, **params)}


@pytest.fixture
def deployed(api: Api) -> Api:
    assert api.deploy(INBOX, APPROVAL, COUNTERSIGN).status_code == 201
    return api


def test_each_user_sees_only_tasks_of_their_groups_or_assigned_to_them(deployed: Api) -> None:
    api = deployed
    instance = start_inbox(api, "B-1", "plan_engineer", user="pm")
    tasks = {t["element_id"]: t for t in instance["tasks"]}
    assert set(tasks) == ALL_ELEMENTS
    assert tasks["clerk_task"]["candidate_groups"] == ["hall_clerk"]
    assert tasks["specialist_task"]["candidate_groups"] == ["yk_specialist"]
    assert tasks["specialist_task"]["candidate_users"] == ["archivist"]
    assert tasks["own_task"]["assignee"] == "pm" and tasks["own_task"]["candidate_groups"] == []
    assert tasks["own_task"]["claimed_at"] is not None

    assert elements(api, "clerk") == {"clerk_task"}
    assert elements(api, "clerk2") == {"clerk_task"}
    assert elements(api, "specialist") == {"specialist_task"}
    assert elements(api, "archivist") == {"specialist_task"}  # a candidate user
    assert elements(api, "planner") == {"dynamic_task"}  # candidateGroups="${reviewGroup}"
    assert elements(api, "pm") == {"own_task"}  # camunda:assignee="${initiator}"
    assert elements(api, "portal") == {"customer_task"}  # lane 客户 -> customer
    assert elements(api, "om") == set()
    assert elements(api, "leader") == set()  # supervisors see instances, not every inbox
    assert elements(api, "admin") == ALL_ELEMENTS
    assert api.tasks("om").json()["total"] == 0

    # Invisible tasks are 404 for reading, claiming and completing, for every outsider.
    for element, outsiders in {
        "specialist_task": ["clerk", "planner", "portal", "pm"],
        "own_task": ["clerk", "specialist", "archivist", "om"],
        "customer_task": ["clerk", "om"],
    }.items():
        task_id = tasks[element]["id"]
        for user in outsiders:
            assert api.get(f"/tasks/{task_id}", user).status_code == 404, (element, user)
            assert api.claim(task_id, user).status_code == 404, (element, user)
            assert api.complete(task_id, user, {}).status_code == 404, (element, user)
            assert api.post(f"/tasks/{task_id}/unclaim", user).status_code == 404
    # A supervisor outside the task's groups may look at it (oversight) but not claim or complete.
    customer_task = tasks["customer_task"]["id"]
    assert api.get(f"/tasks/{customer_task}", "leader").status_code == 200
    claimed = api.claim(customer_task, "leader")
    assert claimed.status_code == 403 and "not offered" in claimed.json()["message"]
    assert api.complete(customer_task, "leader", {}).status_code == 404
    # Nothing above changed any task.
    after = {t["id"]: t["assignee"] for t in inbox(api, "admin")}
    assert after == {t["id"]: t["assignee"] for t in tasks.values()}

    # The pre-assigned task is completed by its assignee without a claim.
    own = api.complete(tasks["own_task"]["id"], "pm", {"note": "done"})
    assert own.status_code == 200, own.text
    assert elements(api, "pm") == set()


def test_lane_fallback_routes_the_task_to_the_lane_group(deployed: Api) -> None:
    api = deployed
    customer = task_of(start_inbox(api, "L-1"), "customer_task")
    assert customer["lane"] == "客户"
    assert customer["candidate_groups"] == ["customer"]
    detail = api.get(f"/tasks/{customer['id']}", "portal").json()
    assert detail["candidate_groups"] == ["customer"]
    assert api.claim(customer["id"], "portal").status_code == 200
    done = api.complete(customer["id"], "portal", {"note": "signed"})
    assert done.status_code == 200, done.text


def test_candidate_groups_expression_is_evaluated_per_instance(deployed: Api) -> None:
    api = deployed
    first = task_of(start_inbox(api, "E-1", "plan_engineer"), "dynamic_task")
    second = task_of(start_inbox(api, "E-2", "om_dept"), "dynamic_task")
    both = task_of(start_inbox(api, "E-3", ["dispatch", "metering"]), "dynamic_task")
    assert first["candidate_groups"] == ["plan_engineer"]
    assert second["candidate_groups"] == ["om_dept"]
    assert both["candidate_groups"] == ["dispatch", "metering"]
    dynamic = {"element_id": "dynamic_task"}
    assert [t["id"] for t in inbox(api, "planner", **dynamic)] == [first["id"]]
    assert [t["id"] for t in inbox(api, "om", **dynamic)] == [second["id"]]
    assert [t["id"] for t in inbox(api, "dispatcher", **dynamic)] == [both["id"]]
    assert [t["id"] for t in inbox(api, "meterman", **dynamic)] == [both["id"]]


def test_filters(deployed: Api) -> None:
    api = deployed
    one = start_inbox(api, "F-1", "plan_engineer", user="pm")
    two = start_inbox(api, "F-2", "hall_clerk", user="planner")
    approval = api.start("approval", "F-2", {"amount": 3}, user="clerk")
    assert approval.status_code == 201
    assert api.claim(task_of(one, "clerk_task")["id"], "clerk").status_code == 200

    def ids(user: str = "admin", **params: Any) -> set[str]:
        return {t["id"] for t in inbox(api, user, **params)}

    every = ids()
    assert len(every) == 11

    by_group = inbox(api, "admin", candidate_group="hall_clerk")
    assert sorted((t["business_key"], t["element_id"]) for t in by_group) == [
        ("F-1", "clerk_task"),
        ("F-2", "clerk_task"),
        ("F-2", "dynamic_task"),
    ]
    assert ids(candidate_group="customer") == {
        task_of(one, "customer_task")["id"],
        task_of(two, "customer_task")["id"],
    }
    assert ids(candidate_group="nobody") == set()

    assert ids(assignee="clerk") == {task_of(one, "clerk_task")["id"]}
    assert ids(assignee="clerk2") == set()
    own_tasks = {task_of(one, "own_task")["id"], task_of(two, "own_task")["id"]}
    assert ids(unassigned="false") == own_tasks | {task_of(one, "clerk_task")["id"]}
    assert ids(unassigned="true") == every - ids(unassigned="false")
    assert ids("clerk", unassigned="true") == {
        task_of(two, "clerk_task")["id"],
        task_of(two, "dynamic_task")["id"],
    }
    assert ids("clerk", unassigned="false") == {task_of(one, "clerk_task")["id"]}

    [review] = approval.json()["tasks"]
    assert ids(process_definition_key="approval") == {review["id"]}
    assert len(ids(process_definition_key="inbox")) == 10
    assert ids(process_instance_id=one["id"]) == {t["id"] for t in one["tasks"]}
    assert ids(business_key="F-2") == {t["id"] for t in two["tasks"]} | {review["id"]}
    assert ids(business_key="F-2", process_definition_key="inbox") == {
        t["id"] for t in two["tasks"]
    }
    assert ids(element_id="specialist_task") == {
        task_of(one, "specialist_task")["id"],
        task_of(two, "specialist_task")["id"],
    }
    assert ids(element_id="review", business_key="F-1") == set()

    # Filters narrow the caller's inbox; they never widen it.
    assert ids("clerk", candidate_group="yk_specialist") == set()
    assert ids("clerk", element_id="specialist_task") == set()
    assert ids("clerk", process_instance_id=one["id"]) == {task_of(one, "clerk_task")["id"]}
    assert ids("clerk", assignee="pm") == set()

    # Total counts what the filter matched, not the page.
    page = api.tasks("admin", process_definition_key="inbox", limit=3).json()
    assert page["total"] == 10 and len(page["items"]) == 3


def test_sorting(deployed: Api) -> None:
    api = deployed
    keys = []
    for n in range(3):
        keys.append(start_inbox(api, f"S-{n}")["business_key"])

    def order(user: str, **params: Any) -> list[str]:
        return [t["business_key"] for t in inbox(api, user, **params)]

    assert order("clerk") == keys  # default: created
    assert order("clerk", sort="created") == keys
    assert order("clerk", sort="-created") == keys[::-1]
    assert order("clerk", sort="due") == keys
    assert order("clerk", sort="-due") == keys[::-1]

    # Within one instance the due dates differ by task (P1D, P2D, P3D, none).
    def due_order(sort: str) -> list[str]:
        return [t["element_id"] for t in inbox(api, "admin", business_key="S-0", sort=sort)]

    assert due_order("due")[:3] == ["clerk_task", "dynamic_task", "specialist_task"]
    assert due_order("-due")[:3] == ["specialist_task", "dynamic_task", "clerk_task"]
    for sort in ("due", "-due"):  # tasks without a due date come last either way
        assert set(due_order(sort)[3:]) == {"own_task", "customer_task"}
    assert due_order("priority,due")[0] == "clerk_task"  # priority 10 before 50

    items = inbox(api, "admin", sort="-created,due")
    assert [t["business_key"] for t in items[:5]] == ["S-2"] * 5
    assert [t["element_id"] for t in items[:3]] == ["clerk_task", "dynamic_task", "specialist_task"]

    for bad in ("bogus", "created,bogus", "-assignee", "due;drop table task"):
        response = api.tasks("clerk", sort=bad)
        assert response.status_code == 422, bad
        body = response.json()
        assert body["details"][0]["field"] == "sort"
        assert "created" in body["message"]


def test_limit_offset_and_total(deployed: Api) -> None:
    api = deployed
    for n in range(5):
        start_inbox(api, f"P-{n}")
    pages = []
    for offset in (0, 2, 4, 6):
        response = api.tasks("clerk", limit=2, offset=offset)
        assert response.status_code == 200
        body = response.json()
        assert body["total"] == 5
        assert body["limit"] == 2 and body["offset"] == offset
        pages.append([t["business_key"] for t in body["items"]])
    assert pages == [["P-0", "P-1"], ["P-2", "P-3"], ["P-4"], []]
    everything = inbox(api, "clerk", limit=200)
    assert [t["business_key"] for t in everything] == [f"P-{n}" for n in range(5)]
    for params in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"limit": "x"}):
        assert api.tasks("clerk", **params).status_code == 422, params


def test_claim_conflict_names_the_holder(deployed: Api) -> None:
    api = deployed
    task_id = task_of(start_inbox(api, "C-1"), "clerk_task")["id"]
    claimed = api.claim(task_id, "clerk")
    assert claimed.status_code == 200
    assert claimed.json()["assignee"] == "clerk" and claimed.json()["claimed_at"]
    conflict = api.claim(task_id, "clerk2")
    assert conflict.status_code == 409
    body = conflict.json()
    assert body["code"] == "task_already_claimed"
    assert "clerk" in body["message"]
    assert body["details"] == {"assignee": "clerk"}
    # Claiming one's own task again is harmless.
    assert api.claim(task_id, "clerk").status_code == 200
    # Someone who may not see the task learns nothing about it.
    assert api.claim(task_id, "specialist").status_code == 404
    # The holder's colleague still sees it (assigned to someone else) but cannot complete it.
    assert task_id in {t["id"] for t in inbox(api, "clerk2")}
    refused = api.complete(task_id, "clerk2", {})
    assert refused.status_code == 403
    assert refused.json()["details"] == {"assignee": "clerk"}  # as a refused claim names the holder


def test_unclaim_rules(deployed: Api) -> None:
    api = deployed
    instance = start_inbox(api, "U-1", ["hall_clerk", "leadership"])
    clerk_task = task_of(instance, "clerk_task")["id"]
    shared_task = task_of(instance, "dynamic_task")["id"]  # hall_clerk and leadership

    # Unclaiming an unclaimed task is a conflict.
    response = api.post(f"/tasks/{clerk_task}/unclaim", "clerk")
    assert response.status_code == 409
    assert response.json()["code"] == "task_not_claimed"

    # The assignee may give the task back.
    api.claim(clerk_task, "clerk")
    response = api.post(f"/tasks/{clerk_task}/unclaim", "clerk")
    assert response.status_code == 200, response.text
    assert response.json()["assignee"] is None and response.json()["claimed_at"] is None
    assert clerk_task in {t["id"] for t in inbox(api, "clerk2", unassigned="true")}

    # Another candidate may not take it away from the assignee.
    api.claim(clerk_task, "clerk")
    response = api.post(f"/tasks/{clerk_task}/unclaim", "clerk2")
    assert response.status_code == 403
    assert "clerk" in response.json()["message"]
    assert response.json()["details"] == {"assignee": "clerk"}
    assert api.get(f"/tasks/{clerk_task}", "clerk").json()["assignee"] == "clerk"

    # A supervisor may: leader is in the supervisor group (and a candidate of this task).
    assert api.claim(shared_task, "clerk").status_code == 200
    response = api.post(f"/tasks/{shared_task}/unclaim", "leader")
    assert response.status_code == 200, response.text
    assert response.json()["assignee"] is None
    assert api.claim(shared_task, "clerk2").status_code == 200

    history = api.get(f"/process-instances/{instance['id']}").json()["history"]
    unclaims = [e for e in history if e["type"] == "task_unclaimed"]
    assert [(e["actor"], e["details"]["previous_assignee"]) for e in unclaims] == [
        ("clerk", "clerk"),
        ("leader", "clerk"),
    ]


def test_supervisor_may_unclaim_a_task_held_by_someone_else(deployed: Api) -> None:
    """README: "`supervisor` may unclaim others' tasks" (config/users.toml: "supervisor" may
    unclaim tasks held by others). leader is a supervisor outside the task's group hall_clerk."""
    api = deployed
    task_id = task_of(start_inbox(api, "SV-1"), "clerk_task")["id"]
    assert api.claim(task_id, "clerk").status_code == 200
    response = api.post(f"/tasks/{task_id}/unclaim", "leader")
    assert response.status_code == 200, response.text
    assert response.json()["assignee"] is None
    # An admin may too.
    api.claim(task_id, "clerk2")
    assert api.post(f"/tasks/{task_id}/unclaim", "admin").status_code == 200


def test_multi_instance_tasks_go_to_their_own_group_and_collect_the_forms(deployed: Api) -> None:
    api = deployed
    signers = {"om_dept": "om", "dispatch": "dispatcher", "metering": "meterman"}
    started = api.start("countersign", "MI-1", {"signers": list(signers)}, user="clerk")
    assert started.status_code == 201, started.text
    instance = started.json()
    tasks = instance["tasks"]
    assert [t["element_id"] for t in tasks] == ["sign"] * 3
    assert sorted(g for t in tasks for g in t["candidate_groups"]) == sorted(signers)
    by_group = {t["candidate_groups"][0]: t for t in tasks}
    assert all(len(t["candidate_groups"]) == 1 for t in tasks)

    # Each signer sees exactly their own instance, with their item as `signer`.
    for group, user in signers.items():
        [mine] = inbox(api, user)
        assert mine["id"] == by_group[group]["id"]
        detail = api.get(f"/tasks/{mine['id']}", user).json()
        assert detail["variables"] == {"signer": group}
        assert detail["form"]["required"] == ["decision"]
    assert api.get(f"/tasks/{by_group['dispatch']['id']}", "om").status_code == 404
    assert api.claim(by_group["dispatch"]["id"], "om").status_code == 404

    submissions = [
        ("metering", {"decision": "APPROVE", "comment": "meter ok"}),
        ("om_dept", {"decision": "REJECT", "comment": "clearance too small"}),
        ("dispatch", {"decision": "APPROVE"}),
    ]
    for n, (group, values) in enumerate(submissions):
        user = signers[group]
        assert api.claim(by_group[group]["id"], user).status_code == 200
        done = api.complete(by_group[group]["id"], user, values)
        assert done.status_code == 200, done.text
        if n < len(submissions) - 1:
            assert done.json()["next_tasks"] == []
    [review] = done.json()["next_tasks"]
    assert review["element_id"] == "review" and review["candidate_groups"] == ["leadership"]

    variables = api.get(f"/process-instances/{instance['id']}").json()["variables"]
    signatures = variables["signatures"]
    assert [s["signer"] for s in signatures] == ["metering", "om_dept", "dispatch"]
    assert [s["completedBy"] for s in signatures] == ["meterman", "om", "dispatcher"]
    assert [s["decision"] for s in signatures] == ["APPROVE", "REJECT", "APPROVE"]
    assert [s["comment"] for s in signatures] == ["meter ok", "clearance too small", None]
    assert all(s["completedAt"] for s in signatures)
    assert variables["signatureCount"] == 3
    assert variables["allApproved"] is False
    assert [t["id"] for t in inbox(api, "leader")] == [review["id"]]


def test_a_countersign_without_an_output_collection_runs(api: Api) -> None:
    """The co-sign as Camunda Modeler writes it (camunda:collection, camunda:elementVariable), but
    without the outputCollection property: each signer's form values are process variables, the
    last signer's winning."""
    xml = COUNTERSIGN.read_bytes()
    start = xml.index(b"<camunda:properties>")
    end = xml.index(b"</camunda:properties>") + len(b"</camunda:properties>")
    modeler = xml[:start] + xml[end:]
    assert b"camunda:elementVariable" in modeler and b"outputCollection" not in modeler
    assert api.deploy_bytes("countersign.bpmn", modeler).status_code == 201
    signers = {"om_dept": "om", "metering": "meterman"}
    started = api.start("countersign", "MI-MODELER", {"signers": list(signers)}, user="clerk")
    assert started.status_code == 201, started.text
    tasks = started.json()["tasks"]
    assert sorted(g for t in tasks for g in t["candidate_groups"]) == sorted(signers)
    for task in tasks:
        user = signers[task["candidate_groups"][0]]
        assert api.get(f"/tasks/{task['id']}", user).json()["variables"]["signer"] in signers
        api.claim(task["id"], user)
        done = api.complete(task["id"], user, {"decision": "APPROVE", "comment": user})
        assert done.status_code == 200, done.text
    instance = api.get(f"/process-instances/{started.json()['id']}").json()
    assert [t["element_id"] for t in instance["tasks"]] == ["review"]
    assert instance["variables"]["decision"] == "APPROVE"
    assert instance["variables"]["comment"] == signers[tasks[-1]["candidate_groups"][0]]
    # The stored file is what the analyst wrote.
    stored = api.get("/process-definitions/countersign/xml")
    assert stored.status_code == 200 and b"camunda:collection" in stored.content


def _pages_by_cursor(api: Api, user: str, **params: Any) -> list[str]:
    ids: list[str] = []
    after = None
    while True:
        query = {**params, "limit": 3, **({"after": after} if after else {})}
        response = api.tasks(user, **query)
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [t["id"] for t in page["items"]]
        after = page["next_after"]
        if after is None:
            assert len(page["items"]) < 3
            return ids
        assert len(page["items"]) == 3


@pytest.mark.parametrize("sort", ["due", "-due", "priority,-created", "name,due", "created"])
def test_cursor_pages_follow_the_sort_like_offset_pages(deployed: Api, sort: str) -> None:
    api = deployed
    for n in range(4):  # 20 tasks: ties in name, priority and due, and tasks without a due date
        start_inbox(api, f"CUR-{n}")
    whole = [t["id"] for t in inbox(api, "admin", sort=sort, limit=200)]
    assert len(whole) == 20
    assert _pages_by_cursor(api, "admin", sort=sort) == whole
    # a cursor keeps the filters' meaning too
    group = [t["id"] for t in inbox(api, "clerk", sort=sort, limit=200, unassigned=True)]
    assert _pages_by_cursor(api, "clerk", sort=sort, unassigned=True) == group


def test_a_cursor_is_checked(deployed: Api) -> None:
    api = deployed
    start_inbox(api, "CUR-A")
    first = api.tasks("admin", sort="due", limit=1).json()
    cursor = first["next_after"]
    assert cursor
    empty = api.tasks("admin", sort="due", limit=1, after="").json()
    assert empty["items"] == first["items"]  # no cursor to pass on: the first page
    for params, message in (
        ({"after": cursor, "offset": 1, "sort": "due"}, "either offset or after"),
        ({"after": cursor, "sort": "created"}, "made for sort 'due'"),
        ({"after": "not-a-cursor", "sort": "due"}, "not a cursor"),
    ):
        response = api.tasks("admin", **params)
        assert response.status_code == 422, response.text
        assert message in response.text
        assert "after" in response.text


def test_a_big_inbox_says_its_total_is_a_lower_bound(
    deployed: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bpmn_service.services import tasks

    api = deployed
    for n in range(3):
        start_inbox(api, f"BIG-{n}")  # 15 tasks
    exact = api.tasks("admin", limit=2).json()
    assert (exact["total"], exact["total_is_lower_bound"]) == (15, False)
    monkeypatch.setattr(tasks, "INBOX_COUNT_BOUND", 4)
    page = api.tasks("admin", limit=2).json()
    assert (page["total"], page["total_is_lower_bound"]) == (4, True)
    page = api.tasks("admin", limit=2, offset=10).json()  # counted up to offset + bound
    assert (page["total"], page["total_is_lower_bound"]) == (14, True)
    page = api.tasks("admin", limit=2, offset=12).json()
    assert (page["total"], page["total_is_lower_bound"]) == (15, False)


def test_a_supervisor_oversees_every_open_task_when_asking_for_it(api: Api) -> None:
    """A supervisor chasing overdue work sees every lane's tasks with `oversee`, not only those
    offered to their own groups; their inbox stays their own without it."""
    assert api.deploy(APPROVAL).status_code == 201
    started = api.start("approval", "OVERSEE-1", {"amount": 5, "purpose": "x"}).json()
    [review] = started["tasks"]
    assert review["id"] not in [t["id"] for t in inbox(api, "leader")]
    overseen = api.get("/tasks", "leader", params={"oversee": "true", "sort": "due"})
    assert overseen.status_code == 200, overseen.text
    assert [t["id"] for t in overseen.json()["items"]] == [review["id"]]
    assert overseen.json()["total"] == 1
    # Seeing is not being offered: the claim is refused, saying so (not "no such task").
    refused_claim = api.claim(review["id"], "leader")
    assert refused_claim.status_code == 403 and "not offered" in refused_claim.json()["message"]
    refused = api.get("/tasks", "clerk", params={"oversee": "true"})
    assert refused.status_code == 403 and "oversee" in refused.json()["message"]
    assert api.get("/tasks", "admin", params={"oversee": "true"}).json()["total"] == 1


def test_a_malformed_inbox_query_is_an_invalid_request_naming_the_parameter(api: Api) -> None:
    """Not "the submitted variables are invalid": no variables were submitted."""
    for params, field in (({"sort": "bogus"}, "sort"), ({"after": "not-a-cursor"}, "after")):
        answer = api.get("/tasks", "clerk", params=params)
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "invalid_request"
        assert [d["field"] for d in answer.json()["details"]] == [field]
