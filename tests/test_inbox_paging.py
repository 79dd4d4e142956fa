"""Inbox pages against a model of the inbox: the same rows in the same order by offset and by
cursor, for every sort, with ties, tasks without a due date, and tasks claimed or completed
between pages. The listing is cut into several index-ordered queries (db/queries.list_tasks);
these tests hold it to the plain meaning of the filters and the sort."""

from __future__ import annotations

import base64
import functools
import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, insert, select

from bpmn_service.context import AppContext
from bpmn_service.db.models import ProcessDefinition, ProcessInstance, Task, TaskCandidate
from bpmn_service.identity import Principal
from bpmn_service.services import tasks as task_service
from clock import Clock, local
from conftest import DATA, Api

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
GROUPS = ("hall_clerk", "yk_specialist", "plan_engineer")
USERS = {
    "clerk": Principal("clerk", frozenset({"hall_clerk"})),
    "specialist": Principal("specialist", frozenset({"yk_specialist"})),
    "admin": Principal("admin", frozenset({"admin"})),
}
SORTS = (
    "due",
    "-due",
    "created",
    "-created",
    "priority,due",
    "-priority,-due",
    "name,-due",
    "due,-created",
    "-due,name,-priority",
)
FILTERS: tuple[dict[str, Any], ...] = (
    {},
    {"candidate_group": "hall_clerk", "unassigned": True},
    {"candidate_group": "yk_specialist"},  # a group the clerk is not in: visibility still holds
    {"assignee": "clerk"},
    {"unassigned": False},
)
COLUMNS = {"created": "created_at", "due": "due_at", "priority": "priority", "name": "name"}


def make_rows(seed: int, count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Tasks with many ties in every sort key, a third without a due date, some claimed (by
    the clerk or others), offered to groups and to users; ids sort as the database sorts."""
    rng = random.Random(seed)
    rows, candidates = [], []
    for n in range(count):
        task_id = f"t{rng.randrange(16**6):06x}{n:04d}"
        rows.append(
            {
                "id": task_id,
                "due_at": None if rng.random() < 0.33 else T0 + timedelta(days=rng.randrange(4)),
                "created_at": T0 - timedelta(hours=rng.randrange(6)),
                "priority": rng.choice((10, 50, 50, 90)),
                "name": rng.choice(("accept", "review", "survey")),
                "assignee": rng.choice((None, None, None, "clerk", "clerk2", "specialist")),
            }
        )
        for group in rng.sample(GROUPS, rng.choice((0, 1, 1, 2))):
            candidates.append({"task_id": task_id, "kind": "group", "ref": group})
        if rng.random() < 0.15:
            candidates.append({"task_id": task_id, "kind": "user", "ref": "clerk"})
    return rows, candidates


@pytest.fixture
def seeded(app_ctx: AppContext, api: Api) -> Callable[[int, int], list[dict[str, Any]]]:
    """Writes `count` generated tasks into one instance (the deployed approval process)."""
    assert api.deploy(DATA / "approval.bpmn").status_code == 201

    def seed(seed: int, count: int) -> list[dict[str, Any]]:
        rows, candidates = make_rows(seed, count)
        with app_ctx.sessions() as session:
            definition = session.scalars(select(ProcessDefinition)).one()
            instance_id = f"instance-{seed}"
            session.execute(
                insert(ProcessInstance),
                [
                    {
                        "id": instance_id,
                        "definition_id": definition.id,
                        "definition_key": definition.key,
                        "version": 1,
                        "business_key": instance_id,
                        "status": "running",
                        "state": "{}",
                        "variables": {},
                        "started_at": T0,
                        "started_by": "clerk",
                    }
                ],
            )
            common = {
                "instance_id": instance_id,
                "definition_id": definition.id,
                "definition_key": definition.key,
                "business_key": instance_id,
                "element_id": "review",
                "spec_name": "review",
                "form_values": {},
                "properties": {},
            }
            session.execute(insert(Task), [{**common, **row} for row in rows])
            if candidates:
                session.execute(insert(TaskCandidate), candidates)
            session.commit()
        for row in rows:
            row["candidates"] = {
                (c["kind"], c["ref"]) for c in candidates if c["task_id"] == row["id"]
            }
        return rows

    return seed


def matches(row: dict[str, Any], principal: Principal, flt: dict[str, Any]) -> bool:
    offered = row["candidates"]
    visible = (
        principal.is_admin
        or row["assignee"] == principal.user_id
        or ("user", principal.user_id) in offered
        or any(("group", g) in offered for g in principal.groups)
    )
    if not visible:
        return False
    if "candidate_group" in flt and ("group", flt["candidate_group"]) not in offered:
        return False
    if "assignee" in flt and row["assignee"] != flt["assignee"]:
        return False
    if flt.get("unassigned") is True and row["assignee"] is not None:
        return False
    return not (flt.get("unassigned") is False and row["assignee"] is None)


def ordered(rows: list[dict[str, Any]], sort: str) -> list[str]:
    """The ids in the order of `sort`: each key ascending or descending, nulls last, then id."""
    keys = [(COLUMNS[p.lstrip("-+")], p.startswith("-")) for p in sort.split(",")]

    def compare(a: dict[str, Any], b: dict[str, Any]) -> int:
        for column, desc in keys:
            x, y = a[column], b[column]
            if x == y:
                continue
            if x is None or y is None:
                return 1 if x is None else -1
            return (1 if x > y else -1) * (-1 if desc else 1)
        return (a["id"] > b["id"]) - (a["id"] < b["id"])

    return [r["id"] for r in sorted(rows, key=functools.cmp_to_key(compare))]


def listing(ctx: AppContext, user: str, flt: dict[str, Any], sort: str, **page: Any) -> Any:
    return task_service.list_tasks(ctx, USERS[user], sort=sort, **flt, **page)


def by_cursor(
    ctx: AppContext, user: str, flt: dict[str, Any], sort: str, limit: int
) -> Iterator[list[str]]:
    after = None
    while True:
        page = listing(ctx, user, flt, sort, limit=limit, offset=0, after=after)
        yield [t.id for t in page.tasks]
        if page.next_after is None:
            return
        after = page.next_after


@pytest.mark.parametrize("sort", SORTS)
def test_pages_follow_the_model_for_every_sort_and_filter(
    app_ctx: AppContext, seeded: Callable[[int, int], list[dict[str, Any]]], sort: str
) -> None:
    rows = seeded(len(sort), 48)
    for user in USERS:
        for flt in FILTERS:
            expected = ordered([r for r in rows if matches(r, USERS[user], flt)], sort)
            whole = listing(app_ctx, user, flt, sort, limit=200, offset=0)
            assert [t.id for t in whole.tasks] == expected, (user, flt)
            assert (whole.total, whole.total_is_lower_bound) == (len(expected), False)
            paged = [t for page in by_cursor(app_ctx, user, flt, sort, 4) for t in page]
            assert paged == expected, (user, flt)
            for offset in (3, 10):
                page = listing(app_ctx, user, flt, sort, limit=4, offset=offset)
                assert [t.id for t in page.tasks] == expected[offset : offset + 4], (user, flt)


def test_the_bounded_total_adds_up_the_parts_of_the_inbox(
    app_ctx: AppContext,
    seeded: Callable[[int, int], list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = seeded(7, 48)
    # the clerk's whole inbox is read as tasks assigned to the clerk and tasks offered to them
    mine = [r for r in rows if matches(r, USERS["clerk"], {})]
    assigned = sum(r["assignee"] == "clerk" for r in mine)
    assert 0 < assigned < len(mine)
    for bound in (assigned - 1, assigned, assigned + 1, len(mine) - 1, len(mine)):
        monkeypatch.setattr(task_service, "INBOX_COUNT_BOUND", bound)
        page = listing(app_ctx, "clerk", {}, "due", limit=1, offset=0)
        expected_bound = max(bound, 1)
        assert (page.total, page.total_is_lower_bound) == (
            min(len(mine), expected_bound),
            len(mine) > expected_bound,
        ), bound


@pytest.mark.parametrize("sort", ["due", "-due", "-created"])
def test_tasks_claimed_or_gone_between_cursor_pages(
    app_ctx: AppContext, seeded: Callable[[int, int], list[dict[str, Any]]], sort: str
) -> None:
    """A cursor names the last row's values, not its position: rows claimed or removed before
    their page came are not shown, and no other row is repeated or skipped, even when the row
    the cursor names is itself gone."""
    rows = seeded(11, 60)
    flt = {"candidate_group": "hall_clerk", "unassigned": True}
    before = ordered([r for r in rows if matches(r, USERS["clerk"], flt)], sort)
    assert len(before) >= 12
    rng = random.Random(sort)
    seen: list[str] = []
    gone: set[str] = set()
    pages = by_cursor(app_ctx, "clerk", flt, sort, 3)
    for page in pages:
        seen += page
        ahead = [t for t in before if t not in seen and t not in gone]
        if not ahead:
            continue
        # claim one task further down, remove another (as completing it does), and remove
        # the row the cursor names
        claimed, removed = rng.sample(ahead, 2) if len(ahead) > 1 else (ahead[0], None)
        task_service.claim_task(app_ctx, claimed, USERS["clerk"])
        gone.add(claimed)
        with app_ctx.sessions() as session:
            for task_id in {removed, page[-1]} - {None}:
                session.execute(delete(TaskCandidate).where(TaskCandidate.task_id == task_id))
                session.execute(delete(Task).where(Task.id == task_id))
                if task_id != page[-1]:
                    gone.add(str(task_id))
            session.commit()
    assert len(seen) == len(set(seen))
    assert seen == [t for t in before if t not in gone]


def test_cursor_pages_with_ties_and_no_due_dates_through_the_api(api: Api) -> None:
    """Instances started at the same instant: every step's due date is shared by all of them,
    and some steps have none. Pages of two walk the clerk's whole inbox (tasks offered to them
    and tasks assigned to them) through the ties and on to the tasks without a due date, while a
    task further down is claimed (it moves from offered to assigned, and stays in its place) and
    another is completed (it leaves)."""
    api.ctx.clock = Clock(local("2026-03-02T09:00:00"))
    assert api.deploy(DATA / "inbox.bpmn").status_code == 201
    for n in range(3):
        response = api.start("inbox", f"TIE-{n}", {"reviewGroup": "hall_clerk"}, user="clerk")
        assert response.status_code == 201, response.text
    for sort in ("due", "-due"):
        whole = api.tasks("clerk", sort=sort, limit=200).json()["items"]
        dues = [t["due_at"] for t in whole]
        assert len(set(dues)) < len(dues)  # ties
        first_none = dues.index(None)
        assert first_none > 0 and set(dues[first_none:]) == {None}  # no due date: last
        assert {t["assignee"] for t in whole} >= {None, "clerk"}
        seen: list[str] = []
        after = None
        completed = None
        while True:
            query = {"sort": sort, "limit": 2, **({"after": after} if after else {})}
            page = api.tasks("clerk", **query).json()
            seen += [t["id"] for t in page["items"]]
            if page["next_after"] is None:
                break
            after = page["next_after"]
            ahead = [t for t in whole if t["id"] not in seen]
            if completed is None and len(ahead) > 2:
                claimed = next(t["id"] for t in reversed(ahead) if t["assignee"] is None)
                assert api.claim(claimed, "clerk").status_code == 200
                completed = next(t["id"] for t in ahead if t["id"] != claimed)
                assert api.claim(completed, "clerk").status_code in (200, 409)
                done = api.complete(completed, "clerk", {"note": "done"})
                assert done.status_code == 200, done.text
        assert completed is not None
        assert seen == [t["id"] for t in whole if t["id"] != completed], sort


def _forged(sort: str, values: list[Any], last_id: str = "x") -> str:
    """A cursor written by hand, as encode() writes one."""
    text = json.dumps({"sort": sort, "values": values, "id": last_id})
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("sort", "values", "last_id"),
    [
        ("due", ["9999-12-31T23:59:59-08:00"], "x"),
        ("due", ["0001-01-01T00:00:00+08:00"], "x"),
        ("-due", ["9999-12-31T23:59:59-08:00"], "x"),
        ("created", ["9999-12-31T23:59:59-08:00"], "x"),
        ("created", ["0001-01-01T00:00:00+08:00"], "x"),
        ("priority", [99999999999999999999999], "x"),
        ("priority", [-(2**63) - 1], "x"),
        ("priority", [2**63], "x"),
        ("priority", [2**31], "x"),  # beyond PostgreSQL's INTEGER
        ("priority", [-(2**31) - 1], "x"),
        ("name", ["accept"], "\ud800"),
        ("name", ["\udfff"], "x"),
        ("name", ["a\x00b"], "x"),
        ("name", ["accept"], "x\x00"),
        ("-due,name,-priority", [None, "review", 2**64], "x"),
    ],
    ids=repr,
)
def test_a_forged_cursor_value_the_column_cannot_hold_is_422_naming_after(
    api: Api, sort: str, values: list[Any], last_id: str
) -> None:
    """Such cursors used to be a 500: a date whose UTC time is beyond the years 1 to 9999, an
    integer beyond SQLite's 64 bits (or PostgreSQL's 32 of task.priority), a lone surrogate no
    database encodes, a NUL PostgreSQL's text refuses."""
    response = api.tasks("clerk", sort=sort, after=_forged(sort, values, last_id))
    assert response.status_code == 422, response.text
    [detail] = response.json()["details"]
    assert detail["field"] == "after" and "the cursor" in detail["message"], detail


def test_a_cursor_at_the_edges_of_its_columns_is_taken(api: Api) -> None:
    for sort, values in (
        ("due", ["9999-12-31T23:59:59+00:00"]),
        ("-created", ["0001-01-01T00:00:00+00:00"]),
        ("priority", [2**31 - 1]),
        ("-priority", [-(2**31)]),
        ("name", ["\u00e9\U0001f600"]),
        ("due,name", [None, None]),
    ):
        response = api.tasks("clerk", sort=sort, after=_forged(sort, values))
        assert response.status_code == 200, (sort, response.text)
