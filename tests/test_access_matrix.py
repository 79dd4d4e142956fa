"""A generated access matrix: every demo user x every task x every action, checked against the
documented rules (README "Users and groups", docs/api.md "Tasks" and "Process instances").

The expected status of each cell is computed from a small model of the rules, never copied from
the service: a user sees a task assigned to them, offered to them by name or to one of their
groups (admin: all); a supervisor may read and unclaim any open task but claims and completes only
as an ordinary user; only the assignee completes; deploying needs analyst or admin; cancelling
needs the initiator or admin; an instance is visible to its initiator, to users with an open task
they see or who completed one of its tasks, and to admin, analyst and supervisor.

Actions that change state are played on fresh copies of a scenario (one copy per successful
actor), the others on one shared snapshot that must be left unchanged by every refused request.
"""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from conftest import DATA, ROOT, TOKENS, Api

MODEL = DATA / "access_matrix.bpmn"
KEY = "access_matrix"

with (ROOT / "config" / "users.toml").open("rb") as _users_file:
    GROUPS: dict[str, frozenset[str]] = {
        user: frozenset(entry["groups"])
        for user, entry in tomllib.load(_users_file)["users"].items()
    }
# Every demo user, and None for a request without a token.
USERS: list[str | None] = [*sorted(GROUPS), None]
SUPERVISOR_GROUPS = frozenset({"admin", "supervisor"})
OVERSIGHT_GROUPS = frozenset({"admin", "analyst", "supervisor"})
DEPLOYER_GROUPS = frozenset({"admin", "analyst"})
ELEMENTS = [
    "group_task",
    "users_task",
    "mixed_task",
    "own_task",
    "fixed_task",
    "dynamic_task",
    "lane_task",
]


def test_the_matrix_covers_every_demo_user() -> None:
    assert set(GROUPS) == set(TOKENS)
    assert len(USERS) == len(TOKENS) + 1


# ---------------------------------------------------------------- the model of the rules


@dataclass
class TaskModel:
    id: str
    element: str
    groups: frozenset[str]
    users: frozenset[str]
    assignee: str | None
    completed_by: str | None = None  # set once the task ended by completion

    @property
    def ended(self) -> bool:
        return self.completed_by is not None


@dataclass
class InstanceModel:
    id: str
    business_key: str
    initiator: str
    status: str = "active"
    tasks: dict[str, TaskModel] = field(default_factory=dict)

    @property
    def open_tasks(self) -> list[TaskModel]:
        return [t for t in self.tasks.values() if not t.ended and self.status == "active"]

    @property
    def workers(self) -> set[str]:
        return {t.completed_by for t in self.tasks.values() if t.completed_by}


def offers(
    element: str, initiator: str, review_group: str
) -> tuple[set[str], set[str], str | None]:
    """Candidate groups, candidate users and assignee of each task, as the BPMN defines them."""
    return {
        "group_task": ({"hall_clerk", "yk_specialist"}, set(), None),
        "users_task": (set(), {"planner", "om"}, None),
        "mixed_task": ({"metering"}, {"archivist"}, None),
        "own_task": (set(), set(), initiator),  # camunda:assignee="${initiator}"
        "fixed_task": ({"archive"}, set(), "inspector"),
        "dynamic_task": ({review_group}, set(), None),  # camunda:candidateGroups="${reviewGroup}"
        "lane_task": ({"contractor"}, set(), None),  # lane 施工单位 -> contractor (lane-groups "*")
    }[element]


def groups(user: str) -> frozenset[str]:
    return GROUPS[user]


def is_admin(user: str) -> bool:
    return "admin" in groups(user)


def is_supervisor(user: str) -> bool:
    return bool(groups(user) & SUPERVISOR_GROUPS)


def sees_task(user: str, task: TaskModel) -> bool:
    """The inbox rule: assigned to me, offered to me or to one of my groups; admin sees all."""
    if task.ended:
        return False
    return (
        is_admin(user)
        or task.assignee == user
        or user in task.users
        or bool(groups(user) & task.groups)
    )


def ended_answer(user: str, task: TaskModel, *, oversee: bool = False) -> int:
    # An ended task is "already ended" (409) for everyone who saw it while it was open (its
    # assignee, who completed it, its candidate users, the members of its candidate groups), for
    # admin, and where supervisors may look at every task (read, unclaim) for supervisors; for
    # everybody else it does not exist.
    saw_it = (
        user in (task.completed_by, task.assignee)
        or user in task.users
        or bool(groups(user) & task.groups)
        or (oversee and is_supervisor(user))
    )
    return 409 if saw_it or is_admin(user) else 404


def expect_read(user: str | None, task: TaskModel) -> int:
    if user is None:
        return 401
    if task.ended:
        return ended_answer(user, task, oversee=True)
    return 200 if sees_task(user, task) or is_supervisor(user) else 404


def expect_claim(user: str | None, task: TaskModel) -> int:
    if user is None:
        return 401
    if task.ended:
        return ended_answer(user, task)
    if not sees_task(user, task):
        # Tasks of other groups are 404; a supervisor, who may look at every task, is told that
        # it is not offered to them.
        return 403 if is_supervisor(user) else 404
    if task.assignee == user:
        return 200  # claiming your own task again changes nothing
    if task.assignee is not None:
        return 409  # someone else holds it (admin cannot take it either)
    return 200


def expect_unclaim(user: str | None, task: TaskModel) -> int:
    if user is None:
        return 401
    if task.ended:
        return ended_answer(user, task, oversee=True)
    if not (sees_task(user, task) or is_supervisor(user)):
        return 404
    if task.assignee is None:
        return 409
    if task.assignee != user and not is_supervisor(user):
        return 403
    return 200


def expect_complete(user: str | None, task: TaskModel) -> int:
    if user is None:
        return 401
    if task.ended:
        return ended_answer(user, task)
    if not sees_task(user, task):
        return 404
    if task.assignee is None:
        return 409
    if task.assignee != user:
        return 403  # only the assignee completes, admin and supervisors included
    return 200


def sees_instance(user: str, instance: InstanceModel) -> bool:
    return (
        bool(groups(user) & OVERSIGHT_GROUPS)
        or instance.initiator == user
        or any(sees_task(user, t) for t in instance.open_tasks)
        or user in instance.workers
    )


def expect_instance_read(user: str | None, instance: InstanceModel) -> int:
    if user is None:
        return 401
    return 200 if sees_instance(user, instance) else 404


def expect_cancel(user: str | None, instance: InstanceModel) -> int:
    if user is None:
        return 401
    if not sees_instance(user, instance):
        return 404
    if not (is_admin(user) or instance.initiator == user):
        return 403
    if instance.status != "active":
        return 409
    return 200


def expect_deploy(user: str | None) -> int:
    if user is None:
        return 401
    return 201 if groups(user) & DEPLOYER_GROUPS else 403


# ---------------------------------------------------------------- driving the service


def start(api: Api, business_key: str, initiator: str, review_group: str) -> InstanceModel:
    response = api.start(KEY, business_key, {"reviewGroup": review_group}, user=initiator)
    assert response.status_code == 201, response.text
    body = response.json()
    instance = InstanceModel(body["id"], business_key, initiator)
    for task in body["tasks"]:
        want_groups, want_users, want_assignee = offers(task["element_id"], initiator, review_group)
        # The offers as the service derived them must be the ones the BPMN defines.
        assert set(task["candidate_groups"]) == want_groups, task
        assert set(task["candidate_users"]) == want_users, task
        assert task["assignee"] == want_assignee, task
        instance.tasks[task["element_id"]] = TaskModel(
            task["id"],
            task["element_id"],
            frozenset(want_groups),
            frozenset(want_users),
            want_assignee,
        )
    assert sorted(instance.tasks) == sorted(ELEMENTS)
    return instance


def do_claim(api: Api, task: TaskModel, user: str) -> None:
    response = api.claim(task.id, user)
    assert response.status_code == 200, response.text
    assert response.json()["assignee"] == user
    task.assignee = user


def do_unclaim(api: Api, task: TaskModel, user: str) -> None:
    response = api.post(f"/tasks/{task.id}/unclaim", user)
    assert response.status_code == 200, response.text
    assert response.json()["assignee"] is None
    task.assignee = None


def do_complete(api: Api, task: TaskModel, user: str) -> None:
    if task.assignee != user:
        do_claim(api, task, user)
    response = api.complete(task.id, user, {"note": f"done by {user}"})
    assert response.status_code == 200, response.text
    task.completed_by = user


def do_cancel(api: Api, instance: InstanceModel, user: str) -> None:
    response = api.post(f"/process-instances/{instance.id}/cancel", user, json={"reason": "test"})
    assert response.status_code == 200, response.text
    instance.status = "cancelled"


def scenario_open(api: Api, business_key: str) -> InstanceModel:
    """Started by the project manager; nothing done yet."""
    return start(api, business_key, "pm", "dispatch")


def scenario_worked(api: Api, business_key: str) -> InstanceModel:
    """Started by the service centre; tasks claimed by candidates and by admin, one completed,
    one pre-assigned task handed back by a supervisor."""
    instance = start(api, business_key, "service", "dev_planning")
    tasks = instance.tasks
    do_claim(api, tasks["group_task"], "clerk")
    do_claim(api, tasks["users_task"], "planner")
    do_claim(api, tasks["lane_task"], "admin")  # admin may take a task of any group
    do_claim(api, tasks["dynamic_task"], "devplan")
    do_complete(api, tasks["mixed_task"], "meterman")
    do_unclaim(api, tasks["fixed_task"], "leader")  # a supervisor gives inspector's task back
    return instance


def scenario_cancelled(api: Api, business_key: str) -> InstanceModel:
    """Started by the customer portal; the inspector completes the task pre-assigned to them,
    then the portal cancels the instance (its other tasks had not been claimed)."""
    instance = start(api, business_key, "portal", "leadership")
    do_complete(api, instance.tasks["fixed_task"], "inspector")
    do_cancel(api, instance, "portal")
    return instance


def scenario_completed(api: Api, business_key: str) -> InstanceModel:
    """Started by development planning; every task completed by a different user."""
    instance = start(api, business_key, "devplan", "dispatch")
    workers = {
        "group_task": "specialist",
        "users_task": "om",
        "mixed_task": "archivist",
        "own_task": "devplan",
        "fixed_task": "inspector",
        "dynamic_task": "dispatcher",
        "lane_task": "contractor",
    }
    for element, user in workers.items():
        do_complete(api, instance.tasks[element], user)
    instance.status = "completed"
    detail = api.get(f"/process-instances/{instance.id}").json()
    assert detail["status"] == "completed" and detail["tasks"] == []
    return instance


Scenario = Callable[[Api, str], InstanceModel]
TASK_SCENARIOS: dict[str, Scenario] = {"open": scenario_open, "worked": scenario_worked}
INSTANCE_SCENARIOS: dict[str, Scenario] = {
    "open": scenario_open,
    "worked": scenario_worked,
    "cancelled": scenario_cancelled,
    "completed": scenario_completed,
}


@dataclass(frozen=True)
class Action:
    name: str
    expect: Callable[[str | None, TaskModel], int]
    call: Callable[[Api, TaskModel, str | None], Any]
    apply: Callable[[TaskModel, str], None] | None  # what a 200 changes; None: read-only


def _claimed_by(task: TaskModel, user: str) -> None:
    task.assignee = user


def _unclaimed(task: TaskModel, _user: str) -> None:
    task.assignee = None


def _completed(task: TaskModel, user: str) -> None:
    task.completed_by = user


TASK_ACTIONS = [
    Action("read", expect_read, lambda api, t, u: api.get(f"/tasks/{t.id}", u), None),
    Action("claim", expect_claim, lambda api, t, u: api.claim(t.id, u), _claimed_by),
    Action(
        "unclaim",
        expect_unclaim,
        lambda api, t, u: api.post(f"/tasks/{t.id}/unclaim", u),
        _unclaimed,
    ),
    Action(
        "complete",
        expect_complete,
        lambda api, t, u: api.post(f"/tasks/{t.id}/complete", u, json={"variables": {}}),
        _completed,
    ),
]


def changes_state(action: Action, user: str | None, task: TaskModel) -> bool:
    if action.apply is None or user is None or action.expect(user, task) != 200:
        return False
    return not (action.name == "claim" and task.assignee == user)


def check_cell(
    mismatches: list[str], what: str, user: str | None, expected: int, response: Any
) -> None:
    if response.status_code != expected:
        mismatches.append(
            f"{what} as {user}: expected {expected}, got {response.status_code} "
            f"{response.text[:160]}"
        )


def assert_no_mismatches(mismatches: list[str], checked: int) -> None:
    assert checked > 0
    assert not mismatches, f"{len(mismatches)} of {checked} cells differ:\n" + "\n".join(mismatches)


def assert_snapshot_unchanged(api: Api, instances: Iterable[InstanceModel]) -> None:
    """Refused requests must have changed nothing: the open tasks and their assignees."""
    for instance in instances:
        body = api.get(f"/process-instances/{instance.id}").json()
        assert body["status"] == instance.status, instance.business_key
        actual = {t["element_id"]: (t["id"], t["assignee"]) for t in body["tasks"]}
        expected = {t.element: (t.id, t.assignee) for t in instance.open_tasks}
        assert actual == expected, instance.business_key


class DirectApi(Api):
    """The conftest client interface, calling the ASGI app in-process through httpx without the
    TestClient's thread hop per request: a matrix of a thousand requests runs several times
    faster. The app and its middleware are the same; its lifespan already ran in `api`."""

    def __init__(self, api: Api) -> None:
        super().__init__(api.client, api.ctx)
        self._loop = asyncio.new_event_loop()
        self._direct = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api.client.app), base_url="http://testserver"
        )

    def _request(self, method: str, path: str, user: str | None, **kw: Any) -> httpx.Response:
        request = self._direct.request(method, f"/api/v1{path}", headers=self.headers(user), **kw)
        return self._loop.run_until_complete(request)

    def get(self, path: str, user: str | None = "admin", **kw: Any) -> httpx.Response:
        return self._request("GET", path, user, **kw)

    def post(self, path: str, user: str | None = "admin", **kw: Any) -> httpx.Response:
        return self._request("POST", path, user, **kw)

    def close(self) -> None:
        self._loop.run_until_complete(self._direct.aclose())
        self._loop.close()


@pytest.fixture
def direct(api: Api) -> Iterator[DirectApi]:
    client = DirectApi(api)
    yield client
    client.close()


@pytest.fixture
def deployed(direct: DirectApi) -> Api:
    response = direct.deploy(MODEL)
    assert response.status_code == 201, response.text
    return direct


# ---------------------------------------------------------------- tasks


def test_task_actions_matrix(deployed: Api) -> None:
    api = deployed
    snapshot = {name: build(api, f"T-{name}") for name, build in TASK_SCENARIOS.items()}
    mismatches: list[str] = []
    checked = 0
    # 1. Every request that changes nothing, on the shared snapshot. (Without a token the
    #    answer is 401 before anything is looked up: one task per scenario is enough.)
    for scenario, instance in snapshot.items():
        for element, task in instance.tasks.items():
            if scenario == "worked" and element in ("own_task", "dynamic_task"):
                continue  # the same states as open/own_task and worked/group_task
            users = USERS if element == "group_task" else USERS[:-1]
            for action in TASK_ACTIONS:
                for user in users:
                    if changes_state(action, user, task):
                        continue
                    response = action.call(api, task, user)
                    checked += 1
                    what = f"{action.name} {scenario}/{element}"
                    check_cell(mismatches, what, user, action.expect(user, task), response)
    assert_no_mismatches(mismatches, checked)
    assert_snapshot_unchanged(api, snapshot.values())

    # 2. Every request that succeeds and changes the task, each on a fresh copy of the scenario:
    #    round n gives every task with more than n successful actors to its n-th actor.
    for scenario, build in TASK_SCENARIOS.items():
        for action in TASK_ACTIONS:
            actors = {
                element: [u for u in USERS if changes_state(action, u, task)]
                for element, task in snapshot[scenario].tasks.items()
            }
            for round_no in range(max(len(users) for users in actors.values())):
                fresh = build(api, f"T-{scenario}-{action.name}-{round_no}")
                for element, users in actors.items():
                    if round_no >= len(users):
                        continue
                    user = users[round_no]
                    task = fresh.tasks[element]
                    expected = action.expect(user, task)
                    response = action.call(api, task, user)
                    checked += 1
                    what = f"{action.name} {scenario}/{element} (fresh)"
                    check_cell(mismatches, what, user, expected, response)
                    if response.status_code == 200 and action.apply is not None:
                        assert user is not None
                        action.apply(task, user)
                assert_snapshot_unchanged(api, [fresh])
    assert_no_mismatches(mismatches, checked)


def test_successful_task_actions_show_their_effect(deployed: Api) -> None:
    """Mutating cells of the matrix, looked at from the other users' side."""
    api = deployed
    instance = scenario_open(api, "E-1")
    group_task = instance.tasks["group_task"]
    do_claim(api, group_task, "clerk2")
    # clerk2 now holds it: the other candidates still see it, but cannot take or finish it.
    for user in ("clerk", "specialist"):
        assert api.get(f"/tasks/{group_task.id}", user).json()["assignee"] == "clerk2"
        claim = api.claim(group_task.id, user)
        assert claim.status_code == 409 and claim.json()["details"] == {"assignee": "clerk2"}
        assert api.complete(group_task.id, user, {}).status_code == 403
    # The supervisor hands it back; the specialist takes it and completes it.
    do_unclaim(api, group_task, "leader")
    do_complete(api, group_task, "specialist")
    for user in USERS:
        response = api.get(f"/tasks/{group_task.id}", user)
        assert response.status_code == expect_read(user, group_task), user
    history = api.get(f"/process-instances/{instance.id}").json()["history"]
    events = [(e["type"], e["actor"]) for e in history if e["task_id"] == group_task.id]
    assert events == [
        ("task_created", None),
        ("task_claimed", "clerk2"),
        ("task_unclaimed", "leader"),
        ("task_claimed", "specialist"),
        ("task_completed", "specialist"),
    ]


# ---------------------------------------------------------------- task lists


def task_filters(instances: list[InstanceModel]) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = [{}]
    # Groups with tasks (several each, one task for two groups), and one without.
    offered = ["hall_clerk", "yk_specialist", "metering", "archive", "contractor", "dispatch"]
    assert set(offered) <= {g for i in instances for t in i.tasks.values() for g in t.groups}
    filters += [{"candidate_group": g} for g in [*offered, "worker"]]
    filters += [{"assignee": u} for u in ("pm", "inspector")]
    filters += [{"unassigned": "true"}, {"unassigned": "false"}]
    filters += [{"process_definition_key": KEY}]
    filters += [{"process_instance_id": instances[-1].id}]
    filters += [{"business_key": instances[0].business_key}]
    filters += [{"element_id": e} for e in ("own_task", "lane_task")]
    filters += [{"candidate_group": "hall_clerk", "unassigned": "true"}]
    return filters


def matches(task: TaskModel, instance: InstanceModel, flt: dict[str, Any]) -> bool:
    checks: dict[str, Callable[[Any], bool]] = {
        "candidate_group": lambda v: v in task.groups,
        "assignee": lambda v: task.assignee == v,
        "unassigned": lambda v: (task.assignee is None) == (v == "true"),
        "process_definition_key": lambda v: v == KEY,
        "process_instance_id": lambda v: v == instance.id,
        "business_key": lambda v: v == instance.business_key,
        "element_id": lambda v: v == task.element,
    }
    return all(checks[name](value) for name, value in flt.items())


def test_task_list_filters_matrix(deployed: Api) -> None:
    api = deployed
    instances = [build(api, f"L-{name}") for name, build in TASK_SCENARIOS.items()]
    everything = [(t, i) for i in instances for t in i.open_tasks]
    names = {t.id: f"{i.business_key}/{t.element}" for t, i in everything}
    mismatches: list[str] = []
    leaks: list[str] = []
    checked = 0
    for user in USERS:
        for flt in task_filters(instances) if user else [{}, {"candidate_group": "hall_clerk"}]:
            response = api.get("/tasks", user, params={**flt, "limit": 200})
            checked += 1
            if user is None or response.status_code != 200:
                check_cell(
                    mismatches, f"GET /tasks {flt}", user, 401 if user is None else 200, response
                )
                continue
            body = response.json()
            got = {t["id"] for t in body["items"]}
            expected = {t.id for t, i in everything if sees_task(user, t) and matches(t, i, flt)}
            if got != expected or body["total"] != len(expected):
                mismatches.append(
                    f"GET /tasks {flt} as {user}: extra "
                    f"{sorted(names.get(x, x) for x in got - expected)}, missing "
                    f"{sorted(names[x] for x in expected - got)}, total {body['total']}"
                )
            # Whatever the filter, a list never shows a task its caller may not see.
            leaks += [
                f"{flt} as {user}: {names.get(x, x)}"
                for x in got
                if x not in names
                or not sees_task(user, next(t for t, _ in everything if t.id == x))
            ]
            group = flt.get("candidate_group")
            if group and not is_admin(user) and group not in groups(user):
                # A group I am not in: only tasks offered to me as well may show up.
                mine = [t for t, _ in everything if group in t.groups and sees_task(user, t)]
                if not mine and got:
                    leaks.append(f"{flt} as {user}: {sorted(names[x] for x in got)}")
    assert not leaks, leaks
    assert_no_mismatches(mismatches, checked)


def test_candidate_group_filter_of_a_foreign_group_returns_nothing(deployed: Api) -> None:
    api = deployed
    scenario_open(api, "G-1")
    for user, group in [
        ("clerk", "contractor"),
        ("clerk", "metering"),
        ("portal", "hall_clerk"),
        ("contractor", "yk_specialist"),
        ("leader", "yk_specialist"),  # a supervisor's inbox is their own groups' work
        ("analyst", "metering"),  # so is an analyst's
        ("archivist", "dispatch"),
        ("worker", "archive"),
    ]:
        body = api.tasks(user, candidate_group=group).json()
        assert (body["total"], body["items"]) == (0, []), (user, group)
    assert api.tasks("admin", candidate_group="contractor").json()["total"] == 1


# ---------------------------------------------------------------- instances


INSTANCE_READS = {
    "read instance": lambda api, i, u: api.get(f"/process-instances/{i.id}", u),
    "read metrics": lambda api, i, u: api.get(f"/process-instances/{i.id}/metrics", u),
}


def instance_filters(instances: list[InstanceModel]) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = [{}, {"key": "approval"}]
    filters += [{"status": s} for s in ("active", "completed", "cancelled")]
    filters += [{"key": KEY, "business_key": i.business_key} for i in instances[:2]]
    return filters


def instance_matches(instance: InstanceModel, flt: dict[str, Any]) -> bool:
    checks: dict[str, Callable[[Any], bool]] = {
        "key": lambda v: v == KEY,
        "status": lambda v: v == instance.status,
        "business_key": lambda v: v == instance.business_key,
    }
    return all(checks[name](value) for name, value in flt.items())


def test_instance_actions_matrix(deployed: Api) -> None:
    api = deployed
    snapshot = {name: build(api, f"I-{name}") for name, build in INSTANCE_SCENARIOS.items()}
    instances = list(snapshot.values())
    names = {i.id: i.business_key for i in instances}
    mismatches: list[str] = []
    checked = 0
    # 1. Reading each instance (and its metrics) and refused cancels, on the snapshot.
    for scenario, instance in snapshot.items():
        for user in USERS:
            for name, call in INSTANCE_READS.items():
                if name == "read metrics" and scenario not in ("open", "completed"):
                    continue
                response = call(api, instance, user)
                checked += 1
                expected = expect_instance_read(user, instance)
                check_cell(mismatches, f"{name} {scenario}", user, expected, response)
                if response.status_code == 404:
                    # An invisible instance gives nothing away.
                    assert instance.business_key not in response.text
            expected = expect_cancel(user, instance)
            if expected == 200:
                continue
            response = api.post(
                f"/process-instances/{instance.id}/cancel", user, json={"reason": "matrix"}
            )
            checked += 1
            check_cell(mismatches, f"cancel {scenario}", user, expected, response)
    # 2. The instance list with each filter.
    for user in USERS:
        for flt in instance_filters(instances) if user else [{}]:
            response = api.get("/process-instances", user, params={**flt, "limit": 200})
            checked += 1
            if user is None or response.status_code != 200:
                expected_status = 401 if user is None else 200
                check_cell(
                    mismatches, f"GET /process-instances {flt}", user, expected_status, response
                )
                continue
            body = response.json()
            got = {i["id"] for i in body["items"]}
            expected_ids = {
                i.id for i in instances if sees_instance(user, i) and instance_matches(i, flt)
            }
            if got != expected_ids or body["total"] != len(expected_ids):
                mismatches.append(
                    f"GET /process-instances {flt} as {user}: extra "
                    f"{sorted(names.get(x, x) for x in got - expected_ids)}, missing "
                    f"{sorted(names[x] for x in expected_ids - got)}"
                )
    assert_no_mismatches(mismatches, checked)
    assert_snapshot_unchanged(api, instances)

    # 3. Successful cancels, each on a fresh copy. (Who sees a cancelled instance is checked on
    #    the "cancelled" scenario above.)
    for scenario, build in INSTANCE_SCENARIOS.items():
        cancellers = [u for u in USERS if expect_cancel(u, snapshot[scenario]) == 200]
        for round_no, user in enumerate(cancellers):
            fresh = build(api, f"I-{scenario}-cancel-{round_no}")
            response = api.post(f"/process-instances/{fresh.id}/cancel", user, json={})
            checked += 1
            check_cell(mismatches, f"cancel {scenario} (fresh)", user, 200, response)
            fresh.status = "cancelled"
            assert_snapshot_unchanged(api, [fresh])
    assert_no_mismatches(mismatches, checked)


def test_instance_visibility_follows_the_work(deployed: Api) -> None:
    """A candidate sees an instance while a task is offered to them, loses it when someone else
    completes that task, and keeps it for good once they completed one themselves."""
    api = deployed
    instance = scenario_open(api, "V-1")
    assert api.get(f"/process-instances/{instance.id}", "om").status_code == 200
    assert api.get(f"/process-instances/{instance.id}", "planner").status_code == 200
    do_complete(api, instance.tasks["users_task"], "planner")
    assert api.get(f"/process-instances/{instance.id}", "om").status_code == 404
    assert api.get(f"/process-instances/{instance.id}", "planner").status_code == 200
    listed = api.get("/process-instances", "om").json()
    assert listed["total"] == 0 and listed["items"] == []
    # Outsiders are never told the instance exists, through any instance endpoint.
    for path in ("", "/metrics"):
        response = api.get(f"/process-instances/{instance.id}{path}", "portal")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    cancel = api.post(f"/process-instances/{instance.id}/cancel", "portal", json={})
    assert cancel.status_code == 404


def test_cancelled_instance_is_hidden_from_users_who_only_held_one_of_its_tasks(
    deployed: Api,
) -> None:
    """docs/api.md: "You see an instance you started, one in which you have an open task or
    completed one". The inspector is pre-assigned fixed_task (camunda:assignee="inspector") and
    never acts on it; the clerk claimed group_task but did not complete it. Once the initiator
    cancels the instance neither has an open task nor a completed one, so the instance must be
    404 for them, as it is for the archive group and the specialist that the same tasks were
    offered to."""
    api = deployed
    instance = scenario_open(api, "H-1")
    do_claim(api, instance.tasks["group_task"], "clerk")
    do_cancel(api, instance, "pm")
    path = f"/process-instances/{instance.id}"
    holders = ("inspector", "clerk")
    statuses = {user: api.get(path, user).status_code for user in ("archivist", "specialist")}
    statuses |= {user: api.get(path, user).status_code for user in holders}
    statuses |= {f"{u} list": api.get("/process-instances", u).json()["total"] for u in holders}
    assert statuses == {
        "archivist": 404,
        "specialist": 404,
        "inspector": 404,
        "clerk": 404,
        "inspector list": 0,
        "clerk list": 0,
    }


def test_a_colleague_with_a_stale_inbox_learns_the_task_was_done(deployed: Api) -> None:
    """Two hall clerks see the same group task; one completes it. The other, clicking 认领 in an
    inbox loaded before, was told 404 ("does not exist or is not visible") while the one who
    completed it got 409: the task was done, and saying so leaks nothing they had not seen."""
    api = deployed
    instance = scenario_open(api, "STALE-1")
    task = instance.tasks["group_task"]  # offered to hall_clerk and yk_specialist
    do_complete(api, task, "clerk")
    for call in (
        lambda: api.claim(task.id, "clerk2"),
        lambda: api.post(f"/tasks/{task.id}/complete", "clerk2", json={"variables": {}}),
        lambda: api.get(f"/tasks/{task.id}", "clerk2"),
        lambda: api.claim(task.id, "specialist"),  # the other candidate group
    ):
        answer = call()
        assert answer.status_code == 409, answer.text
        assert f"task {task.id} already ended (completed at " in answer.json()["message"]
        # The details say which case it belongs to and who ended it when (the workspace links
        # the case from the ended task's page).
        details = answer.json()["details"]
        assert details["task_id"] == task.id
        assert details["process_instance_id"] == instance.id
        assert details["end_reason"] == "completed" and details["completed_by"] == "clerk"
        assert details["ended_at"] in answer.json()["message"]
    # Someone the task was never offered to still cannot tell it from a task that never was.
    never = api.claim(task.id, "planner")
    assert never.status_code == 404
    nothing = api.claim("no-such-task", "planner").json()["message"]
    assert never.json()["message"] == nothing.replace("no-such-task", task.id)
    # Offered by name (camunda:candidateUsers) counts as offered.
    by_name = instance.tasks["users_task"]  # planner and om
    do_complete(api, by_name, "planner")
    assert api.claim(by_name.id, "om").status_code == 409
    assert api.claim(by_name.id, "clerk").status_code == 404


# ---------------------------------------------------------------- deploy


def test_deploy_matrix(direct: DirectApi) -> None:
    api = direct
    original = MODEL.read_bytes()
    allowed: list[str] = []
    for user in USERS:
        # Each user uploads a changed file: a refused upload must not create a version.
        content = original.replace(
            b'name="Access matrix" isExecutable', f'name="By {user}" isExecutable'.encode()
        )
        assert content != original
        response = api.post(
            "/deployments",
            user,
            files=[("files", ("access_matrix.bpmn", content, "application/xml"))],
        )
        assert response.status_code == expect_deploy(user), (user, response.text)
        if response.status_code == 201:
            assert user is not None
            allowed.append(user)
            [definition] = response.json()["definitions"]
            assert definition["created"] is True and definition["version"] == len(allowed)
    assert sorted(allowed) == sorted(u for u in GROUPS if GROUPS[u] & DEPLOYER_GROUPS)
    versions = api.get(f"/process-definitions/{KEY}", "clerk").json()["versions"]
    assert len(versions) == len(allowed)
