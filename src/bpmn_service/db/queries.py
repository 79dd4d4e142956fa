"""Read side: visibility predicates and list queries over the projection tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Select,
    String,
    and_,
    any_,
    distinct,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    text,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from bpmn_service.identity import Principal

from .models import HistoricTask, ProcessInstance, Task, TaskCandidate

# The inbox's sort keys on /api/v1; /engine-rest sorts by Camunda's further keys too.
TASK_SORTS = {
    "created": Task.created_at,
    "due": Task.due_at,
    "priority": Task.priority,
    "name": Task.name,
}
ALL_TASK_SORTS = {
    **TASK_SORTS,
    "follow_up": Task.follow_up_at,
    "assignee": Task.assignee,
    "instance": Task.instance_id,
    "id": Task.id,
}
INSTANCE_SORTS = {
    "started": ProcessInstance.started_at,
    "ended": ProcessInstance.ended_at,
    "id": ProcessInstance.id,
    "business_key": ProcessInstance.business_key,
    "definition_key": ProcessInstance.definition_key,
    "definition_id": ProcessInstance.definition_id,
}
SEES_ALL_INSTANCES = frozenset({"admin", "analyst", "supervisor"})


def task_visible(principal: Principal, *, array: bool = False) -> ColumnElement[bool]:
    """Tasks assigned to the user, or offered to them or to one of their groups (admins: all).
    `array`: for PostgreSQL only (see offered_to)."""
    if principal.is_admin:
        return Task.id.is_not(None)
    return or_(Task.assignee == principal.user_id, offered_to(principal, array=array))


def offered_to(principal: Principal, *, array: bool = False) -> ColumnElement[bool]:
    """Tasks with a candidate row naming the user or one of their groups.

    `array` (PostgreSQL only): the groups as one array parameter (`ref = ANY(...)`) instead of
    an IN list, whose parameters SQLAlchemy renders into the statement's text at every execution:
    0.1 M instructions of a claim, whose statement has the condition twice (for one, as in a
    task's read, the array's own binding costs as much). PostgreSQL plans both alike."""
    groups = sorted(principal.groups)
    in_groups = (
        TaskCandidate.ref == any_(literal(groups, ARRAY(String)))
        if array
        else TaskCandidate.ref.in_(groups)
    )
    return exists().where(
        TaskCandidate.task_id == Task.id,
        or_(
            and_(TaskCandidate.kind == "user", TaskCandidate.ref == principal.user_id),
            and_(TaskCandidate.kind == "group", in_groups),
        ),
    )


def instance_visible(principal: Principal) -> ColumnElement[bool]:
    """Instances the user started, has an open task in or worked on; all for oversight roles."""
    if principal.groups & SEES_ALL_INSTANCES:
        return ProcessInstance.id.is_not(None)
    open_task = exists(
        select(Task.id).where(Task.instance_id == ProcessInstance.id, task_visible(principal))
    )
    worked = exists().where(
        HistoricTask.instance_id == ProcessInstance.id,
        HistoricTask.completed_by == principal.user_id,
    )
    return or_(ProcessInstance.started_by == principal.user_id, open_task, worked)


def candidates_of(session: Session, task_ids: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    result: dict[str, dict[str, list[str]]] = {t: {"group": [], "user": []} for t in task_ids}
    if not task_ids:
        return result
    for task_id, kind, ref in session.execute(
        select(TaskCandidate.task_id, TaskCandidate.kind, TaskCandidate.ref)
        .where(TaskCandidate.task_id.in_(list(task_ids)))
        .order_by(TaskCandidate.ref)
    ):
        result[task_id][kind].append(ref)
    return result


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """Conditions on open tasks, all of which must hold; `*_like` values are SQL LIKE patterns
    and list values mean "any of". A candidate filter matches unassigned tasks only unless
    include_assigned is set (Camunda's rule)."""

    candidate_group: str | None = None
    assignee: str | None = None
    unassigned: bool | None = None
    process_definition_key: str | None = None
    process_instance_id: str | None = None
    business_key: str | None = None
    element_id: str | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    candidate_groups: Sequence[str] | None = None
    candidate_user: str | None = None
    candidate_user_groups: Sequence[str] = ()
    include_assigned: bool = True
    assignees: Sequence[str] | None = None
    process_definition_keys: Sequence[str] | None = None
    process_definition_id: str | None = None
    business_keys: Sequence[str] | None = None
    business_key_like: str | None = None
    element_ids: Sequence[str] | None = None
    name: str | None = None
    name_like: str | None = None
    without_due: bool = False
    follow_up_before: datetime | None = None
    follow_up_after: datetime | None = None
    created_before: datetime | None = None
    created_after: datetime | None = None
    priority: int | None = None
    min_priority: int | None = None
    max_priority: int | None = None
    # A supervisor's oversight: every open task, whoever it is offered to (the service decides
    # who may ask for it).
    oversee: bool = False


def _sort_keys(sort: str, columns: dict[str, Any]) -> list[tuple[Any, bool]]:
    """(column, descending) for each part of a sort string."""
    return [
        (columns[part.lstrip("-+")], part.startswith("-"))
        for part in (p.strip() for p in sort.split(","))
        if part
    ]


def nulls_last(column: Any, desc: bool) -> Any:
    """An ORDER BY term, nulls last either way (as Camunda sorts and both databases agree)."""
    return column.desc().nulls_last() if desc else column.asc().nulls_last()


def _order(stmt: Select[Any], sort: str, columns: dict[str, Any], tie: Any) -> Select[Any]:
    order = [nulls_last(column, desc) for column, desc in _sort_keys(sort, columns)]
    return stmt.order_by(*order, tie)


@dataclass(frozen=True, slots=True)
class TaskCount:
    """How many tasks match: exact up to the bound asked for; above it `total` is the bound and
    `is_lower_bound` is set (counting every match of a big inbox would read all of them)."""

    total: int
    is_lower_bound: bool


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ended (keyset pagination): the last row's values of the sort keys and its
    id; the next page is the rows after that one in the sort's order."""

    values: tuple[Any, ...]
    last_id: str


def sort_values(task: Task, sort: str) -> list[Any]:
    """The values of `task` for the keys of `sort`, for a keyset cursor."""
    return [getattr(task, column.key) for column, _ in _sort_keys(sort, ALL_TASK_SORTS)]


def list_tasks(
    session: Session,
    principal: Principal,
    flt: TaskFilter,
    *,
    sort: str,
    limit: int,
    offset: int,
    after: Cursor | None = None,
    count_bound: int | None = None,
) -> tuple[list[Task], TaskCount]:
    """A page of the visible tasks matching `flt`: `offset` rows skipped, or only the rows
    `after` a cursor; counted exactly, or up to `count_bound` rows.

    So that a page costs the same at a million open tasks as at ten thousand, the query is cut
    into parts each of which the database can read from an index in the sort's order, stopping
    after the page (see _reach and _stretches); the page is the first rows of their union."""
    keys = _sort_keys(sort, ALL_TASK_SORTS)
    if after is not None and len(after.values) != len(keys):
        raise ValueError("the cursor was made for another sort")
    where, offers = _task_conditions(flt)
    parts = [
        _Part((*where, *reach_where), (*offers, *reach_offers))
        for reach_where, reach_offers in _reach(principal, flt)
    ]
    if count_bound is not None:
        _serial(session)
    count = _count(session, parts, count_bound)
    if limit == 0:
        return [], count
    _serial(session)
    pieces = [
        (and_(part.condition(), *stretch), order)
        for part in parts
        for stretch, order in _stretches(keys, after)
    ]
    # Each piece's ids are read from an index in order (its first rows hold the union's first
    # rows); only the page's rows are then fetched whole.
    window = offset + limit
    ids = union_all(
        *(
            select(piece.c.id)
            for piece in (
                select(Task.id).where(condition).order_by(*order).limit(window).subquery()
                for condition, order in pieces
            )
        )
    ).subquery()
    stmt = (
        select(Task)
        .join(ids, ids.c.id == Task.id)
        .order_by(*(_ordered(column, desc) for column, desc in keys), Task.id)
    )
    return list(session.scalars(stmt.limit(limit).offset(offset))), count


def _serial(session: Session) -> None:
    """No parallel workers for the rest of the transaction (PostgreSQL): a page or a bounded count
    reads a few hundred index entries, which workers would split at the price of starting
    them, and PostgreSQL plans a deep page that way (Gather Merge) when it thinks it cheaper."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


@dataclass(frozen=True, slots=True)
class _Offer:
    """Tasks offered to any of `refs` ((kind, ref) pairs: "user" or "group"): one of their
    candidate rows names one of them. A task has at most `fanout` such rows."""

    refs: tuple[tuple[str, str], ...]

    @classmethod
    def to(cls, users: Sequence[str] = (), groups: Sequence[str] = ()) -> _Offer:
        refs = {("user", u) for u in users} | {("group", g) for g in groups}
        return cls(tuple(sorted(refs)))

    @property
    def fanout(self) -> int:
        return len(self.refs)

    def rows(self, candidate: Any = TaskCandidate) -> ColumnElement[bool]:
        """The condition on a candidate row."""
        alternatives = []
        for kind in ("user", "group"):
            refs = [ref for k, ref in self.refs if k == kind]
            if refs:
                alternatives.append(and_(candidate.kind == kind, candidate.ref.in_(refs)))
        return or_(*alternatives) if alternatives else false()

    def exists(self) -> ColumnElement[bool]:
        return exists().where(TaskCandidate.task_id == Task.id, self.rows())


@dataclass(frozen=True, slots=True)
class _Part:
    """Tasks matching every condition of `where` and offered as each of `offers` says."""

    where: tuple[ColumnElement[bool], ...]
    offers: tuple[_Offer, ...]

    def condition(self) -> ColumnElement[bool]:
        return and_(true(), *self.where, *(offer.exists() for offer in self.offers))


def _reach(
    principal: Principal, flt: TaskFilter
) -> list[tuple[tuple[ColumnElement[bool], ...], tuple[_Offer, ...]]]:
    """The caller's visibility (task_visible) as disjoint parts, each plain conditions and
    offers: an OR of "assigned to me" and "offered to me" cannot be read from one index in order
    (PostgreSQL reads every candidate row of the user's groups for it), so it becomes two parts;
    a part the filter already implies or excludes is left out."""
    everything: list[tuple[tuple[ColumnElement[bool], ...], tuple[_Offer, ...]]] = [((), ())]
    if principal.is_admin or flt.oversee or _candidates_imply_visible(principal, flt):
        return everything
    if flt.assignee == principal.user_id or (
        flt.assignees is not None and set(flt.assignees) == {principal.user_id}
    ):
        return everything  # only tasks assigned to the caller match
    offered = _Offer.to([principal.user_id], sorted(principal.groups))
    if (
        flt.unassigned is True
        or (flt.assignee is not None)
        or (flt.assignees is not None and principal.user_id not in flt.assignees)
        or (not flt.include_assigned and _has_candidate_filter(flt))
    ):
        return [((), (offered,))]  # no task assigned to the caller matches
    not_mine = or_(Task.assignee.is_(None), Task.assignee != principal.user_id)
    return [((Task.assignee == principal.user_id,), ()), ((not_mine,), (offered,))]


def _has_candidate_filter(flt: TaskFilter) -> bool:
    return (
        flt.candidate_group is not None
        or flt.candidate_groups is not None
        or flt.candidate_user is not None
    )


def _candidates_imply_visible(principal: Principal, flt: TaskFilter) -> bool:
    """True when every task the candidate filters match is offered to the caller."""
    groups = [flt.candidate_group] if flt.candidate_group is not None else []
    groups += list(flt.candidate_groups or [])
    if groups:
        return set(groups) <= principal.groups
    if flt.candidate_user is not None:
        own_groups = set(flt.candidate_user_groups) <= principal.groups
        return flt.candidate_user == principal.user_id and own_groups
    return False


def _nullable(column: Any) -> bool:
    return bool(column.property.columns[0].nullable)


def _ordered(column: Any, desc: bool, may_be_null: bool | None = None) -> Any:
    """ORDER BY term with nulls last; the NULLS clause is left out where no null can occur, so
    that PostgreSQL may read an ascending index backwards for a descending sort."""
    term = column.desc() if desc else column.asc()
    if may_be_null if may_be_null is not None else _nullable(column):
        term = term.nulls_last()
    return term


def _stretches(
    keys: list[tuple[Any, bool]], after: Cursor | None
) -> list[tuple[list[ColumnElement[bool]], list[Any]]]:
    """The sort's order as stretches of rows, each a condition and its ORDER BY, that follow
    each other: one stretch when an index on the sort keys is read in that order as it is; for
    a first key that may be null, the rows with a value and then those without, where the
    order or the cursor would otherwise be an OR that no index range serves (a cursor's rows
    after (v, id) are the range (key, id) > (v, id) and then the rows without a value)."""
    (first, desc), rest_keys = keys[0], keys[1:]
    rest = [*(_ordered(column, d) for column, d in rest_keys), Task.id]
    full = [_ordered(first, desc), *rest]
    if not _nullable(first):
        return [([_after(keys, after)] if after else [], full)]
    with_value = [_ordered(first, desc, may_be_null=False), *rest]
    # all null: ordered as an ascending index on (key, id) holds them, to be read from it
    without_value = [_ordered(first, False), *rest]
    if after is None:
        if not desc:
            return [([], full)]  # ascending, nulls last: the index's own order
        return [([first.is_not(None)], with_value), ([first.is_(None)], without_value)]
    if after.values[0] is None:
        later = _after(rest_keys, Cursor(after.values[1:], after.last_id), first_has_value=False)
        return [([first.is_(None), later], without_value)]
    return [([_after(keys, after)], with_value), ([first.is_(None)], without_value)]


def _after(
    keys: list[tuple[Any, bool]], cursor: Cursor, *, first_has_value: bool = True
) -> ColumnElement[bool]:
    """Rows after the cursor's row in the order of `keys` (each ascending or descending, nulls
    last, then the id); `first_has_value`: only rows with a value of the first key are asked
    about (those without are another stretch)."""
    if not keys:
        return Task.id > cursor.last_id
    values = cursor.values
    nullable = [_nullable(column) for column, _ in keys]
    if first_has_value:
        nullable[0] = False
    if (
        all(not desc for _, desc in keys)
        and all(v is not None for v in values)
        and not any(nullable)
    ):
        # one range of an index on (keys…, id)
        columns = [column for column, _ in keys]
        bound = [literal(v, column.type) for column, v in zip(columns, values, strict=True)]
        return tuple_(*columns, Task.id) > tuple_(*bound, literal(cursor.last_id, Task.id.type))
    condition: ColumnElement[bool] = Task.id > cursor.last_id
    for index in range(len(keys) - 1, -1, -1):
        column, desc = keys[index]
        value = values[index]
        if value is None:
            # nulls come last: no value follows a null, only equal (null) rows
            condition = and_(column.is_(None), condition)
            continue
        beyond = column < value if desc else column > value
        if nullable[index]:
            beyond = or_(beyond, column.is_(None))
        condition = or_(beyond, and_(column == value, condition))
        if index == 0 and not nullable[0]:
            # the leading bound is an index range; the rest only sorts out ties
            condition = and_(column <= value if desc else column >= value, condition)
    return condition


def _count(session: Session, parts: Sequence[_Part], bound: int | None) -> TaskCount:
    """The matches of the disjoint `parts`, counted exactly or up to `bound`."""
    if bound is None:
        total = sum(
            session.scalar(select(func.count()).select_from(Task).where(part.condition())) or 0
            for part in parts
        )
        return TaskCount(total, False)
    found = 0
    for part in parts:
        found += _count_up_to(session, part, bound + 1 - found)
        if found > bound:
            break
    return TaskCount(min(found, bound), found > bound)


def _count_up_to(session: Session, part: _Part, most: int) -> int:
    """The matches of `part`, reading at most `most` of them (however many there are).

    A part offered to someone is counted from its candidate rows (an index on kind, ref), each
    task looked up by id: the database stops after `most` matches. (Joined the other way round,
    PostgreSQL reads the tasks in id order until it has them, several times as many.) The
    OFFSET 0 keeps the look-up a look-up."""
    if not part.offers:
        matches = select(literal(1)).select_from(Task).where(part.condition()).limit(most)
        return session.scalar(select(func.count()).select_from(matches.subquery())) or 0
    driver = min(part.offers, key=lambda offer: offer.fanout)
    others = [offer.exists() for offer in part.offers if offer is not driver]
    row = aliased(TaskCandidate)
    task = select(literal(1)).where(Task.id == row.task_id, *part.where, *others).offset(0)
    # a task offered to several of the driver's refs has that many rows: read enough rows
    ids = select(row.task_id).where(driver.rows(row), exists(task)).limit(most * driver.fanout)
    rows = ids.subquery()
    counted = func.count(distinct(rows.c.task_id)) if driver.fanout > 1 else func.count()
    return min(session.scalar(select(counted).select_from(rows)) or 0, most)


def _task_conditions(flt: TaskFilter) -> tuple[list[ColumnElement[bool]], list[_Offer]]:
    """The filter's conditions on the task row and on its candidates (visibility is _reach's)."""
    offers = _candidate_offers(flt)
    conditions: list[ColumnElement[bool]] = []
    if offers and not flt.include_assigned:
        conditions.append(Task.assignee.is_(None))
    if flt.assignee is not None:
        conditions.append(Task.assignee == flt.assignee)
    if flt.unassigned is True:
        conditions.append(Task.assignee.is_(None))
    elif flt.unassigned is False:
        conditions.append(Task.assignee.is_not(None))
    column: Any
    for column, value in (
        (Task.definition_key, flt.process_definition_key),
        (Task.instance_id, flt.process_instance_id),
        (Task.business_key, flt.business_key),
        (Task.element_id, flt.element_id),
    ):
        if value is not None:
            conditions.append(column == value)
    conditions += _range_conditions(flt)
    for column, values in (
        (Task.assignee, flt.assignees),
        (Task.definition_key, flt.process_definition_keys),
        (Task.business_key, flt.business_keys),
        (Task.element_id, flt.element_ids),
    ):
        if values is not None:
            conditions.append(column.in_(list(values)))
    for column, value in ((Task.definition_id, flt.process_definition_id), (Task.name, flt.name)):
        if value is not None:
            conditions.append(column == value)
    for column, pattern in ((Task.business_key, flt.business_key_like), (Task.name, flt.name_like)):
        if pattern is not None:
            conditions.append(column.like(pattern))
    return conditions, offers


def _candidate_offers(flt: TaskFilter) -> list[_Offer]:
    offers = []
    if flt.candidate_group is not None or flt.candidate_groups is not None:
        groups = [flt.candidate_group] if flt.candidate_group is not None else []
        offers.append(_Offer.to(groups=[*groups, *(flt.candidate_groups or [])]))
    if flt.candidate_user is not None:
        offers.append(_Offer.to([flt.candidate_user], list(flt.candidate_user_groups)))
    return offers


def _range_conditions(flt: TaskFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    for column, before, after in (
        (Task.due_at, flt.due_before, flt.due_after),
        (Task.follow_up_at, flt.follow_up_before, flt.follow_up_after),
        (Task.created_at, flt.created_before, flt.created_after),
    ):
        if before is not None:
            conditions.append(column < before)
        if after is not None:
            conditions.append(column > after)
    if flt.without_due:
        conditions.append(Task.due_at.is_(None))
    if flt.priority is not None:
        conditions.append(Task.priority == flt.priority)
    if flt.min_priority is not None:
        conditions.append(Task.priority >= flt.min_priority)
    if flt.max_priority is not None:
        conditions.append(Task.priority <= flt.max_priority)
    return conditions


def list_instances(
    session: Session,
    principal: Principal,
    *,
    definition_key: str | None,
    status: str | None,
    business_key: str | None,
    sort: str,
    limit: int,
    offset: int,
    ids: Sequence[str] | None = None,
    definition_id: str | None = None,
    definition_keys: Sequence[str] | None = None,
    business_key_like: str | None = None,
) -> tuple[list[ProcessInstance], int]:
    conditions: list[ColumnElement[bool]] = [instance_visible(principal)]
    if definition_key is not None:
        conditions.append(ProcessInstance.definition_key == definition_key)
    if status is not None:
        conditions.append(ProcessInstance.status == status)
    if business_key is not None:
        conditions.append(ProcessInstance.business_key == business_key)
    if ids is not None:
        conditions.append(ProcessInstance.id.in_(list(ids)))
    if definition_id is not None:
        conditions.append(ProcessInstance.definition_id == definition_id)
    if definition_keys is not None:
        conditions.append(ProcessInstance.definition_key.in_(list(definition_keys)))
    if business_key_like is not None:
        conditions.append(ProcessInstance.business_key.like(business_key_like))
    where = and_(*conditions)
    total = session.scalar(select(func.count()).select_from(ProcessInstance).where(where)) or 0
    if limit == 0:
        return [], total
    stmt = _order(select(ProcessInstance).where(where), sort, INSTANCE_SORTS, ProcessInstance.id)
    return list(session.scalars(stmt.limit(limit).offset(offset))), total
