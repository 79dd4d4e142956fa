"""The Alembic chain: upgrading a database that already holds data, downgrading to nothing and
back, and the models agreeing with what the migrations create, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    bindparam,
    create_engine,
    inspect,
    select,
    text,
)
from sqlalchemy.orm import Session

from bpmn_service.config import Settings
from bpmn_service.context import AppContext
from bpmn_service.db import migrate as db_migrate
from bpmn_service.db.connect import make_engine
from bpmn_service.db.migrate import alembic_config, is_current
from bpmn_service.db.models import (
    Base,
    Deployment,
    ExternalTask,
    HistoricTask,
    HistoryEvent,
    MessageSubscription,
    ProcessDefinition,
    ProcessInstance,
    RunIncident,
    Task,
    TaskCandidate,
    UtcDateTime,
)
from bpmn_service.main import create_app
from conftest import BACKENDS, POSTGRES_URL, TOKENS, app_settings

FIRST = "0001"
SCRIPTS = ScriptDirectory.from_config(alembic_config())
MODEL_TABLES = set(Base.metadata.tables)


@pytest.fixture(params=BACKENDS)
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, Settings]]:
    """An empty database (a new SQLite file, or a new PostgreSQL schema) and settings for it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
        engine = make_engine(url)
        yield engine, app_settings(url, None)
        engine.dispose()
        return
    if not POSTGRES_URL:
        pytest.skip("BPMN_TEST_POSTGRES_URL is not set")
    schema = f"bpmn_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(POSTGRES_URL, schema=schema)
    try:
        yield engine, app_settings(POSTGRES_URL, schema)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def migrate(engine: Engine, direction: str, target: str) -> None:
    """Upgrade or downgrade through bpmn_service.db.migrate, as the service and CLI do."""
    if direction == "upgrade":
        db_migrate.upgrade(engine, target)
    else:
        db_migrate.downgrade(engine, target)


def revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def columns(engine: Engine) -> dict[str, set[str]]:
    inspector = inspect(engine)
    return {t: {c["name"] for c in inspector.get_columns(t)} for t in tables(engine)}


def test_the_chain_is_linear_and_starts_at_0001() -> None:
    assert len(SCRIPTS.get_heads()) == 1
    chain = [s.revision for s in SCRIPTS.walk_revisions("base", "heads")]
    assert chain[-1] == FIRST
    assert SCRIPTS.get_revision(FIRST).down_revision is None


# ---------------------------------------------------------------- data written at 0001

T0 = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
T1 = datetime(2026, 11, 3, 9, 15, 30, 250000, tzinfo=UTC)
DUE = datetime(2026, 11, 9, 16, 0, tzinfo=UTC)
IDS = {
    "deployment": "dep-legacy-1",
    "definition": "legacy:1:0001",
    "instance": "inst-legacy-1",
    "task": "task-legacy-1",
    "done": "task-legacy-0",
}
VARIABLES = {"customerName": "孝感市和顺餐饮有限公司", "amount": 80.5, "docs": [1, 2], "ok": True}


def insert_at_first_revision(connection: Connection) -> None:
    """One row per 0001 table, written with plain SQL as a 0001-era server would have."""
    postgres = connection.dialect.name == "postgresql"

    def js(name: str) -> str:
        return f"CAST(:{name} AS JSONB)" if postgres else f":{name}"

    def ts(value: datetime | None) -> Any:
        # SQLite stores what SQLAlchemy's DateTime writes: naive UTC text.
        if value is None or postgres:
            return value
        return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")

    connection.execute(
        text(
            "INSERT INTO deployment (id, name, source, deployed_at, deployed_by) "
            "VALUES (:id, :name, :source, :at, :by)"
        ),
        {"id": IDS["deployment"], "name": "legacy", "source": "api", "at": ts(T0), "by": "ana"},
    )
    connection.execute(
        text(
            "INSERT INTO process_definition (id, key, version, name, checksum, resource_name, "
            "bpmn_xml, spec_json, start_form, deployment_id, deployed_at) VALUES (:id, :key, 1, "
            f":name, :checksum, :resource, :xml, :spec, {js('form')}, :dep, :at)"
        ),
        {
            "id": IDS["definition"],
            "key": "legacy",
            "name": "旧流程",
            "checksum": "c" * 64,
            "resource": "legacy.bpmn",
            "xml": "<bpmn:definitions/>",
            "spec": "{}",
            "form": json.dumps([{"id": "amount", "type": "long"}]),
            "dep": IDS["deployment"],
            "at": ts(T0),
        },
    )
    connection.execute(
        text(
            "INSERT INTO process_instance (id, definition_id, definition_key, version, "
            "business_key, status, state, variables, started_at, started_by, ended_at, "
            f"row_version) VALUES (:id, :def, 'legacy', 1, 'YK-OLD-1', 'active', :state, "
            f"{js('vars')}, :at, 'clerk', NULL, 3)"
        ),
        {
            "id": IDS["instance"],
            "def": IDS["definition"],
            "state": '{"legacy": true}',
            "vars": json.dumps(VARIABLES, ensure_ascii=False),
            "at": ts(T0),
        },
    )
    connection.execute(
        text(
            "INSERT INTO task (id, instance_id, definition_id, definition_key, business_key, "
            "element_id, spec_name, name, lane, assignee, priority, due_at, follow_up_at, "
            "created_at, claimed_at, form_values, properties, row_version) VALUES (:id, :inst, "
            ":def, 'legacy', 'YK-OLD-1', 'A-UT02', 'A-UT02', '组织现场勘查', '营业厅受理员', "
            f"NULL, 60, :due, NULL, :at, NULL, {js('values')}, {js('props')}, 1)"
        ),
        {
            "id": IDS["task"],
            "inst": IDS["instance"],
            "def": IDS["definition"],
            "due": ts(DUE),
            "at": ts(T1),
            "values": json.dumps({"amount": 80.5}),
            "props": json.dumps({"hallVisit": "true"}),
        },
    )
    connection.execute(
        text("INSERT INTO task_candidate (task_id, kind, ref) VALUES (:t, 'group', 'hall_clerk')"),
        {"t": IDS["task"]},
    )
    connection.execute(
        text(
            "INSERT INTO historic_task (id, instance_id, definition_key, element_id, name, lane, "
            "candidate_groups, assignee, created_at, claimed_at, due_at, ended_at, end_reason, "
            "completed_by) VALUES (:id, :inst, 'legacy', 'A-UT01', '受理用电申请', NULL, "
            f"{js('groups')}, 'clerk', :t0, :t0, NULL, :t1, 'completed', 'clerk')"
        ),
        {
            "id": IDS["done"],
            "inst": IDS["instance"],
            "groups": json.dumps(["hall_clerk"]),
            "t0": ts(T0),
            "t1": ts(T1),
        },
    )
    for event_type, task_id, actor, at in (
        ("instance_started", None, "clerk", T0),
        ("task_completed", IDS["done"], "clerk", T1),
    ):
        connection.execute(
            text(
                "INSERT INTO history_event (instance_id, task_id, element_id, type, actor, "
                f"occurred_at, details) VALUES (:inst, :task, NULL, :type, :actor, :at, "
                f"{js('details')})"
            ),
            {
                "inst": IDS["instance"],
                "task": task_id,
                "type": event_type,
                "actor": actor,
                "at": ts(at),
                "details": json.dumps({"note": "legacy"}),
            },
        )


def model_default(column: Any) -> Any:
    """What the model gives a column when nothing is set: its default, else NULL."""
    default = column.default
    if default is None:
        return None
    return default.arg(None) if default.is_callable else default.arg


def test_upgrading_a_database_with_data_keeps_the_rows(fresh: tuple[Engine, Settings]) -> None:
    engine, settings = fresh
    migrate(engine, "upgrade", FIRST)
    assert revision(engine) == FIRST
    at_first = columns(engine)
    assert set(at_first) == {
        "deployment",
        "process_definition",
        "process_instance",
        "task",
        "task_candidate",
        "historic_task",
        "history_event",
    }
    with engine.begin() as connection:
        insert_at_first_revision(connection)

    migrate(engine, "upgrade", "head")
    assert is_current(engine)
    assert tables(engine) == MODEL_TABLES

    with Session(engine) as session:
        deployment = session.get(Deployment, IDS["deployment"])
        assert deployment is not None
        assert (deployment.name, deployment.deployed_at, deployment.deployed_by) == (
            "legacy",
            T0,
            "ana",
        )
        definition = session.get(ProcessDefinition, IDS["definition"])
        assert definition is not None
        assert (definition.key, definition.version, definition.name) == ("legacy", 1, "旧流程")
        assert definition.start_form == [{"id": "amount", "type": "long"}]
        assert definition.message_starts == []  # added by 0002 with server default '[]'
        instance = session.get(ProcessInstance, IDS["instance"])
        assert instance is not None
        assert instance.variables == VARIABLES
        assert (instance.business_key, instance.status, instance.started_by) == (
            "YK-OLD-1",
            "active",
            "clerk",
        )
        assert (instance.started_at, instance.ended_at, instance.row_version) == (T0, None, 3)
        assert instance.next_timer_at is None  # added by 0002, nullable
        task = session.get(Task, IDS["task"])
        assert task is not None
        assert (task.name, task.lane, task.priority, task.assignee) == (
            "组织现场勘查",
            "营业厅受理员",
            60,
            None,
        )
        assert (task.due_at, task.created_at, task.claimed_at) == (DUE, T1, None)
        assert task.form_values == {"amount": 80.5}
        assert task.properties == {"hallVisit": "true"}
        candidates = session.scalars(select(TaskCandidate)).all()
        assert [(c.task_id, c.kind, c.ref) for c in candidates] == [
            (IDS["task"], "group", "hall_clerk")
        ]
        done = session.get(HistoricTask, IDS["done"])
        assert done is not None
        assert (done.candidate_groups, done.completed_by, done.ended_at) == (
            ["hall_clerk"],
            "clerk",
            T1,
        )
        events = session.scalars(select(HistoryEvent).order_by(HistoryEvent.id)).all()
        assert [(e.type, e.occurred_at, e.details) for e in events] == [
            ("instance_started", T0, {"note": "legacy"}),
            ("task_completed", T1, {"note": "legacy"}),
        ]

        # Every column added after 0001 to a table that had rows holds the model's default.
        rows = {
            "deployment": deployment,
            "process_definition": definition,
            "process_instance": instance,
            "task": task,
            "historic_task": done,
            "history_event": events[0],
            "task_candidate": candidates[0],
        }
        added: list[str] = []
        for table_name, row in rows.items():
            for column in Base.metadata.tables[table_name].columns:
                if column.name in at_first[table_name]:
                    continue
                added.append(f"{table_name}.{column.name}")
                value = getattr(row, column.key)
                assert value == model_default(column), (table_name, column.name, value)
        assert "process_definition.message_starts" in added
        assert "process_instance.next_timer_at" in added

    # The service works on the migrated rows: inboxes, instance lists and details.
    ctx = AppContext.create(settings, engine=engine)
    with TestClient(create_app(ctx=ctx)) as client:

        def get(path: str, user: str) -> Any:
            auth = {"Authorization": f"Bearer {TOKENS[user]}"}
            response = client.get(f"/api/v1{path}", headers=auth)
            assert response.status_code == 200, response.text
            return response.json()

        inbox = get("/tasks?candidate_group=hall_clerk", "clerk2")
        assert [t["id"] for t in inbox["items"]] == [IDS["task"]]
        assert get("/tasks?sort=due", "specialist")["total"] == 0
        listed = get("/process-instances?status=active", "clerk")
        assert [i["business_key"] for i in listed["items"]] == ["YK-OLD-1"]
        detail = get(f"/process-instances/{IDS['instance']}", "admin")
        assert detail["variables"] == VARIABLES
        assert [t["id"] for t in detail["tasks"]] == [IDS["task"]]
        assert [e["type"] for e in detail["history"]] == ["instance_started", "task_completed"]
        # The stub spec cannot be restored: the detail answers without the values' labels.
        assert detail["value_labels"] == {}


def test_downgrade_to_base_and_up_again_on_an_empty_database(
    fresh: tuple[Engine, Settings],
) -> None:
    engine, _settings = fresh
    migrate(engine, "upgrade", "head")
    chain = [s.revision for s in SCRIPTS.walk_revisions("base", "heads")]
    # Down one revision at a time, then all the way from head at once.
    for expected in [*chain[1:], None]:
        migrate(engine, "downgrade", "-1")
        assert revision(engine) == expected
    assert tables(engine) == set()
    for expected in reversed(chain):
        migrate(engine, "upgrade", "+1")
        assert revision(engine) == expected
    migrate(engine, "downgrade", "base")
    assert revision(engine) is None and tables(engine) == set()

    migrate(engine, "upgrade", "head")
    assert is_current(engine)
    assert tables(engine) == MODEL_TABLES
    assert schema_differences(engine) == []


def test_downgrading_a_database_with_data_keeps_the_first_revision_rows(
    fresh: tuple[Engine, Settings],
) -> None:
    """Every downgrade() also has to work with rows in place. On SQLite, dropping a column in
    batch mode recreates the table (CREATE _alembic_tmp_x, copy, DROP x, rename); with the
    engine's PRAGMA foreign_keys=ON, DROP TABLE process_instance fails while task rows
    reference it."""
    engine, _settings = fresh
    migrate(engine, "upgrade", FIRST)
    with engine.begin() as connection:
        insert_at_first_revision(connection)
    migrate(engine, "upgrade", "head")

    chain = [s.revision for s in SCRIPTS.walk_revisions("base", "heads")]
    failures: dict[str, str] = {}
    for expected in chain[1:]:
        try:
            migrate(engine, "downgrade", expected)
        except Exception as exc:  # collected and reported below
            failures[f"{revision(engine)} -> {expected}"] = str(exc).splitlines()[0]
            break
        assert revision(engine) == expected
    assert failures == {}
    assert columns(engine) == columns_at_first_revision()
    with engine.connect() as connection:
        counts = {
            table: connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
            for table in sorted(columns_at_first_revision())
        }
    assert counts == {
        "deployment": 1,
        "historic_task": 1,
        "history_event": 2,
        "process_definition": 1,
        "process_instance": 1,
        "task": 1,
        "task_candidate": 1,
    }
    migrate(engine, "downgrade", "base")
    assert tables(engine) == set()


_FIRST_COLUMNS: dict[str, set[str]] = {}


def columns_at_first_revision() -> dict[str, set[str]]:
    """The columns 0001 creates, read from a throwaway SQLite database."""
    if not _FIRST_COLUMNS:
        engine = make_engine("sqlite://")
        migrate(engine, "upgrade", FIRST)
        _FIRST_COLUMNS.update(columns(engine))
        engine.dispose()
    return _FIRST_COLUMNS


# ---------------------------------------------------------------- models vs migrations


def only_utc_decorator(diff: Any) -> bool:
    """A type difference that is only the UtcDateTime decorator over DateTime(timezone=True)."""
    if not (isinstance(diff, tuple) and diff and diff[0] == "modify_type"):
        return False
    existing, wanted = diff[5], diff[6]
    return (
        isinstance(wanted, UtcDateTime)
        and isinstance(existing, DateTime)
        and bool(existing.timezone) == bool(wanted.impl.timezone)  # type: ignore[attr-defined]
    )


def schema_differences(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    flat: list[Any] = []
    for diff in diffs:
        # Column changes come as lists of tuples, table/index/constraint changes as tuples.
        flat.extend(diff if isinstance(diff, list) else [diff])
    return [d for d in flat if not only_utc_decorator(d)]


def test_models_match_the_migrations(fresh: tuple[Engine, Settings]) -> None:
    engine, _settings = fresh
    migrate(engine, "upgrade", "head")
    assert schema_differences(engine) == []


def test_a_schema_difference_would_be_noticed(fresh: tuple[Engine, Settings]) -> None:
    """The comparison is not vacuous: a column the models lack is reported."""
    engine, _settings = fresh
    migrate(engine, "upgrade", "head")
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE task ADD COLUMN stray_column INTEGER"))
    diffs = schema_differences(engine)
    assert [d[0] for d in diffs] == ["remove_column"], diffs
    assert diffs[0][2] == "task" and diffs[0][3].name == "stray_column"


def test_the_inbox_indexes_an_operator_built_beforehand_are_left_alone(
    fresh: tuple[Engine, Settings],
) -> None:
    """0011's indexes block writes to task while they are built; an operator of a big database
    creates them first (CREATE INDEX CONCURRENTLY on PostgreSQL) and the migration goes on."""
    engine, _settings = fresh
    migrate(engine, "upgrade", "0010")
    concurrently = "CONCURRENTLY " if engine.dialect.name == "postgresql" else ""
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.execute(
            text(f"CREATE INDEX {concurrently}ix_task_created ON task (created_at, id)")
        )
    migrate(engine, "upgrade", "head")
    indexes = {i["name"] for i in inspect(engine).get_indexes("task")}
    assert {"ix_task_created", "ix_task_assignee_due"} <= indexes
    assert schema_differences(engine) == []


def test_instance_states_are_written_with_lz4_where_the_server_has_it(
    fresh: tuple[Engine, Settings],
) -> None:
    """0013 changes the compression of process_instance.state and .variables to lz4 without
    rewriting the table: a value keeps its method until its row is written again; downgrading
    returns new values to the server's default."""
    engine, _settings = fresh
    if engine.dialect.name != "postgresql":
        pytest.skip("compression methods are PostgreSQL's")
    with engine.connect() as connection:
        has_lz4 = connection.execute(
            text(
                "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                "WHERE name = 'default_toast_compression'"
            )
        ).scalar()
        default = connection.execute(text("SHOW default_toast_compression")).scalar()
    if not has_lz4:
        pytest.skip("this PostgreSQL was built without lz4 (0013 leaves the columns alone)")
    migrate(engine, "upgrade", FIRST)
    with engine.begin() as connection:
        insert_at_first_revision(connection)
    migrate(engine, "upgrade", "0012")
    # a state large enough to be compressed (PostgreSQL compresses values over about 2 KB)
    big = json.dumps({"tasks": [{"id": str(uuid.UUID(int=i)), "state": 64} for i in range(400)]})

    def write_and_read() -> tuple[str | None, str | None]:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE process_instance SET state = :s, variables = CAST(:v AS jsonb)"),
                {"s": big, "v": json.dumps({"note": big})},
            )
        return methods()

    def methods() -> tuple[str | None, str | None]:
        with engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT pg_column_compression(state), pg_column_compression(variables) "
                    "FROM process_instance"
                )
            ).one()
        return row[0], row[1]

    assert write_and_read() == (default, default)
    migrate(engine, "upgrade", "head")
    assert methods() == (default, default)  # no rewrite: the stored values are as they were
    assert write_and_read() == ("lz4", "lz4")
    with Session(engine) as session:  # and they read back whole
        instance = session.get(ProcessInstance, IDS["instance"])
        assert instance is not None
        assert instance.state == big and instance.variables == {"note": big}
    migrate(engine, "downgrade", "0012")
    assert write_and_read() == (default, default)


def test_work_of_cases_ended_before_is_withdrawn_on_upgrade(fresh: tuple[Engine, Settings]) -> None:
    """A cancel once left the case's external tasks fetchable and its message waits open; 0015
    withdraws them (the history notes each external task at the moment its case ended) and
    leaves the open work of active cases alone."""
    engine, _settings = fresh
    migrate(engine, "upgrade", FIRST)
    with engine.begin() as connection:
        insert_at_first_revision(connection)
    migrate(engine, "upgrade", "0014")
    ended_at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    with Session(engine) as session:
        active = session.get(ProcessInstance, IDS["instance"])
        assert active is not None
        copied = {c.key: getattr(active, c.key) for c in inspect(ProcessInstance).column_attrs}
        copied.update(
            id="inst-cancelled", business_key="YK-OLD-2", status="cancelled", ended_at=ended_at
        )
        session.add(ProcessInstance(**copied))
        session.flush()
        for instance_id in (IDS["instance"], "inst-cancelled"):
            session.add(
                ExternalTask(
                    id=f"ext-{instance_id}",
                    instance_id=instance_id,
                    definition_id=IDS["definition"],
                    definition_key="legacy",
                    business_key="x",
                    element_id="notify",
                    name="短信通知",
                    topic="sms",
                    variables={},
                    created_at=T1,
                    retries=0,
                    incident_at=T1,
                )
            )
            session.add(
                MessageSubscription(
                    task_id=f"wait-{instance_id}",
                    instance_id=instance_id,
                    definition_key="legacy",
                    business_key="x",
                    element_id="paid",
                    message_name="paid",
                    created_at=T1,
                )
            )
        session.commit()

    migrate(engine, "upgrade", "head")
    with Session(engine) as session:
        assert session.scalars(select(ExternalTask.id)).all() == [f"ext-{IDS['instance']}"]
        assert session.scalars(select(MessageSubscription.task_id)).all() == [
            f"wait-{IDS['instance']}"
        ]
        [withdrawn] = session.scalars(
            select(HistoryEvent).where(HistoryEvent.type == "external_task_withdrawn")
        ).all()
        assert (withdrawn.instance_id, withdrawn.task_id, withdrawn.element_id) == (
            "inst-cancelled",
            "ext-inst-cancelled",
            "notify",
        )
        assert withdrawn.occurred_at == ended_at and withdrawn.actor is None
        assert "withdrawn on upgrade" in withdrawn.details["reason"]


def test_open_incidents_of_one_cause_become_one_on_upgrade(fresh: tuple[Engine, Settings]) -> None:
    """A failure that came again while its incident was open used to open another each time;
    0016 keeps the oldest open one of an instance, element and kind, counting the others, which
    it closes. Other incidents stay as they were."""
    engine, _settings = fresh
    migrate(engine, "upgrade", FIRST)
    with engine.begin() as connection:
        insert_at_first_revision(connection)
    migrate(engine, "upgrade", "0015")
    rows = [
        ("i1", "worker", "divide", "2026-11-20 10:00:00", None),
        ("i2", "worker", "divide", "2026-11-20 10:01:00", None),
        ("i3", "worker", "divide", "2026-11-20 10:02:00", None),
        ("i4", "timer", "divide", "2026-11-20 10:03:00", None),
        ("i5", "worker", "other", "2026-11-20 10:04:00", None),
        ("i6", "worker", "divide", "2026-11-20 09:00:00", "2026-11-20 09:30:00"),
    ]
    with engine.begin() as connection:
        for incident_id, kind, element, created, resolved in rows:
            connection.execute(
                text(
                    "INSERT INTO run_incident (id, instance_id, definition_key, business_key, "
                    "element_id, element_name, kind, message, created_at, resolved_at) VALUES "
                    "(:id, :instance, 'legacy', 'x', :element, NULL, :kind, 'boom', "
                    ":created, :resolved)"
                ).bindparams(
                    bindparam("created", type_=UtcDateTime()),
                    bindparam("resolved", type_=UtcDateTime()),
                ),
                {
                    "id": incident_id,
                    "instance": IDS["instance"],
                    "element": element,
                    "kind": kind,
                    "created": datetime.fromisoformat(created).replace(tzinfo=UTC),
                    "resolved": resolved and datetime.fromisoformat(resolved).replace(tzinfo=UTC),
                },
            )
    migrate(engine, "upgrade", "head")
    with Session(engine) as session:
        found = {r.id: r for r in session.scalars(select(RunIncident))}
    open_ids = sorted(i for i, r in found.items() if r.resolved_at is None)
    assert open_ids == ["i1", "i4", "i5"]
    assert found["i1"].occurrences == 3
    assert found["i1"].last_at == datetime(2026, 11, 20, 10, 2, tzinfo=UTC)
    assert (found["i4"].occurrences, found["i4"].last_at) == (1, None)
    assert found["i2"].resolved_by == "upgrade (counted in i1)"
    assert found["i6"].resolved_by is None and found["i6"].occurrences == 1
