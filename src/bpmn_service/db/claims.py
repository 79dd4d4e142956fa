"""A claim's statements, as few as the database allows.

PostgreSQL: one statement reads the task as the caller sees it with its candidates, takes it if it
is free and offered to the caller (the conditional UPDATE: of concurrent claimers exactly one
matches the row), and writes the history row of a won claim, in writing CTEs. SQLite has no
writing CTEs: one read (the task joined to its candidates), then the UPDATE and the INSERT.

Being one statement, the PostgreSQL claim is atomic on its own: run `alone` (autocommit), it costs
one round trip instead of three (BEGIN, the statement, COMMIT). A claim that may stop a time
limit's clock (`timeLimit.stopAtClaim`) needs more work in the same transaction, under the
instance's lock (services/clocks.py); run alone, the statement does not take such a task and says
so (`Attempt.needs_transaction`), and the caller claims it again in a transaction.

Both answer the same `Attempt`; the service decides the error of a claim that was not won. Core
statements, built once per caller and reused, since building one costs more than running it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Executable,
    Row,
    Text,
    Update,
    bindparam,
    cast,
    false,
    func,
    insert,
    literal,
    not_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from bpmn_service.identity import Principal

from .models import HistoryEvent, Task, TaskCandidate
from .queries import offered_to, task_visible

TASK = Task.metadata.tables[Task.__tablename__]
CANDIDATE = TaskCandidate.metadata.tables[TaskCandidate.__tablename__]
HISTORY = HistoryEvent.metadata.tables[HistoryEvent.__tablename__]


@dataclass(frozen=True, slots=True)
class OpenTaskRow:
    """An open task as its row holds it (the columns of `Task`, no ORM object)."""

    id: str
    instance_id: str
    definition_id: str
    definition_key: str
    business_key: str
    element_id: str
    spec_name: str
    name: str
    lane: str | None
    assignee: str | None
    priority: int
    due_at: datetime | None
    follow_up_at: datetime | None
    created_at: datetime
    claimed_at: datetime | None
    form_values: dict[str, Any]
    properties: dict[str, Any]
    row_version: int


_COLUMNS = tuple(OpenTaskRow.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class Attempt:
    """The task as the caller saw it, or as their claim left it when they won it."""

    task: OpenTaskRow
    candidates: dict[str, list[str]]  # "group" and "user", each sorted
    won: bool
    # Run alone, the claim left the task as it was: claiming it may stop a clock.
    needs_transaction: bool = False


def in_one_statement(bind: Connection | Engine) -> bool:
    """Whether a claim is one statement on this database, which may then run alone."""
    return bind.dialect.name == "postgresql"


def attempt(
    conn: Connection, principal: Principal, task_id: str, now: datetime, *, alone: bool = False
) -> Attempt | None:
    """Claim the task for the caller if they see it, it is free and it is offered to them (or
    they are an admin); None when they do not see it. Nothing is written unless `won`.

    `alone`: the connection commits each statement (PostgreSQL only); a task whose claim may stop
    a clock is then not taken (`needs_transaction`)."""
    params = {"task_id": task_id, "now": now}
    if in_one_statement(conn):
        row = conn.execute(_claim_in_one(principal, alone), params).first()
        if row is None:
            return None
        seen = _task(row)
        candidates = {"group": row.candidate_groups or [], "user": row.candidate_users or []}
        if row.claimed_version is None:
            return Attempt(seen, candidates, won=False, needs_transaction=bool(row.stops_a_clock))
        return Attempt(_claimed(seen, principal, now, row.claimed_version), candidates, won=True)
    if alone:
        raise ValueError(f"a claim on {conn.dialect.name} takes three statements: not alone")
    return _attempt_in_three(conn, principal, params)


def _attempt_in_three(
    conn: Connection, principal: Principal, params: dict[str, Any]
) -> Attempt | None:
    now = params["now"]
    rows = conn.execute(_visible_with_candidates(principal), params).all()
    if not rows:
        return None
    seen = _task(rows[0])
    candidates: dict[str, list[str]] = {"group": [], "user": []}
    for row in rows:
        if row.candidate_kind is not None:
            candidates[row.candidate_kind].append(row.candidate_ref)
    if seen.assignee is not None or not may_take(candidates, principal):
        return Attempt(seen, candidates, won=False)
    version = conn.execute(_take(principal), params).scalar()
    if version is None:
        return Attempt(seen, candidates, won=False)
    at = {"instance_id": seen.instance_id, "element_id": seen.element_id}
    conn.execute(_history(principal), {**at, **params})
    return Attempt(_claimed(seen, principal, now, version), candidates, won=True)


def may_take(candidates: dict[str, list[str]], principal: Principal) -> bool:
    """Whether the task (its candidates as read) is offered to the caller, or they are an admin:
    the rule the UPDATE's condition applies in the database."""
    return (
        principal.is_admin
        or principal.user_id in candidates["user"]
        or any(group in principal.groups for group in candidates["group"])
    )


def _task(row: Row[Any]) -> OpenTaskRow:
    mapping = row._mapping
    return OpenTaskRow(*(mapping[name] for name in _COLUMNS))


def _claimed(seen: OpenTaskRow, principal: Principal, now: datetime, version: int) -> OpenTaskRow:
    return replace(seen, assignee=principal.user_id, claimed_at=now, row_version=version)


def _now() -> Any:
    return bindparam("now", type_=TASK.c.claimed_at.type)


def _stops_a_clock(properties: ColumnElement[Any]) -> ColumnElement[bool]:
    """Whether claiming the task may stop a time limit's clock: `timeLimit.stopAtClaim` among the
    element's extension properties, which the task row copies. Matched loosely, on the
    properties' text in any case, so that no spelling the declarations read slips through; a
    false match only costs the claim its transaction."""
    return func.lower(cast(properties, Text)).contains("stopatclaim")


def _update(principal: Principal, alone: bool = False, *, array: bool = False) -> Update:
    """Take the task if it is free and offered to the caller (admins: any free task); alone,
    only if claiming it stops no clock. `array`: PostgreSQL's form of the groups (offered_to)."""
    offered = true() if principal.is_admin else offered_to(principal, array=array)
    conditions = [TASK.c.id == bindparam("task_id"), TASK.c.assignee.is_(None), offered]
    if alone:
        conditions.append(not_(_stops_a_clock(TASK.c.properties)))
    return (
        update(TASK)
        .where(*conditions)
        .values(assignee=principal.user_id, claimed_at=_now(), row_version=TASK.c.row_version + 1)
    )


def _history_values(principal: Principal) -> dict[str, ColumnElement[Any]]:
    return {
        "type": literal("task_claimed", HISTORY.c.type.type),
        "actor": literal(principal.user_id, HISTORY.c.actor.type),
        "occurred_at": _now(),
        "details": literal({}, HISTORY.c.details.type),
    }


@functools.lru_cache(maxsize=512)
def _claim_in_one(principal: Principal, alone: bool) -> Executable:
    # PostgreSQL only: the caller's groups as one array parameter (queries.offered_to).
    visible = task_visible(principal, array=True)
    seen = select(TASK).where(TASK.c.id == bindparam("task_id"), visible)
    seen_cte = seen.cte("seen")
    won = (
        _update(principal, alone, array=True)
        .returning(TASK.c.instance_id, TASK.c.element_id, TASK.c.row_version)
        .cte("won")
    )
    history = _history_values(principal)
    logged = insert(HISTORY).from_select(
        ["instance_id", "task_id", "element_id", *history],
        select(
            won.c.instance_id,
            bindparam("task_id", type_=HISTORY.c.task_id.type),
            won.c.element_id,
            *history.values(),
        ),
    )

    def refs(kind: str) -> Any:
        return (
            select(func.array_agg(aggregate_order_by(CANDIDATE.c.ref, CANDIDATE.c.ref)))
            .where(CANDIDATE.c.task_id == seen_cte.c.id, CANDIDATE.c.kind == kind)
            .scalar_subquery()
        )

    statement: Executable = (
        select(
            seen_cte,
            refs("group").label("candidate_groups"),
            refs("user").label("candidate_users"),
            won.c.row_version.label("claimed_version"),
            (_stops_a_clock(seen_cte.c.properties) if alone else false()).label("stops_a_clock"),
        )
        .select_from(seen_cte.outerjoin(won, true()))
        .add_cte(logged.cte("logged"))
    )
    return statement


@functools.lru_cache(maxsize=512)
def _visible_with_candidates(principal: Principal) -> Executable:
    listed = CANDIDATE.alias("listed")  # not the table the visibility check reads
    return (
        select(TASK, listed.c.kind.label("candidate_kind"), listed.c.ref.label("candidate_ref"))
        .select_from(TASK.outerjoin(listed, listed.c.task_id == TASK.c.id))
        .where(TASK.c.id == bindparam("task_id"), task_visible(principal))
        .order_by(listed.c.ref)
    )


@functools.lru_cache(maxsize=512)
def _take(principal: Principal) -> Executable:
    return _update(principal).returning(TASK.c.row_version)


@functools.lru_cache(maxsize=512)
def _history(principal: Principal) -> Executable:
    return insert(HISTORY).values(
        instance_id=bindparam("instance_id"),
        task_id=bindparam("task_id"),
        element_id=bindparam("element_id"),
        **_history_values(principal),
    )


__all__ = ["Attempt", "OpenTaskRow", "attempt", "may_take"]
