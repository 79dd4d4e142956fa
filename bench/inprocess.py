"""The set-up of the benchmarks that drive the service in their own process: a fresh database
(a new PostgreSQL schema, or a SQLite file), migrated, the service's context on it and
bench/lifecycle12.bpmn deployed; everything removed after."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cpu_per_call import BPMN, START_GROUP
from lifecycle import USERS_FILE, DemoUser, bench_settings, fresh_database, group_users


@dataclass(frozen=True)
class Deployed:
    ctx: Any  # bpmn_service.context.AppContext
    key: str  # the deployed process's key
    clerk: DemoUser  # starts instances; a candidate of their first tasks
    analyst: DemoUser
    label: str  # the database, for the report

    @property
    def starter(self) -> Any:
        from bpmn_service.identity import Principal

        return Principal(self.clerk.user_id, self.clerk.groups)


@contextlib.contextmanager
def deployed(database_url: str | None, prefix: str) -> Iterator[Deployed]:
    from bpmn_service.context import AppContext
    from bpmn_service.db.connect import make_engine
    from bpmn_service.db.migrate import upgrade
    from bpmn_service.identity import Principal
    from bpmn_service.services import deployments

    users = group_users(USERS_FILE)
    clerk, analyst = users[START_GROUP], users["analyst"]
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
        db = stack.enter_context(fresh_database(database_url, tmp))
        engine = make_engine(db.url, schema=db.schema)
        upgrade(engine)
        engine.dispose()
        (tmp / "processes").mkdir()
        settings = bench_settings(db, tmp, reference_workers=False, timer_poll_seconds=0)
        ctx = AppContext.create(settings)
        stack.callback(ctx.engine.dispose)
        files = [deployments.BpmnFile(BPMN.name, BPMN.read_bytes())]
        who = Principal(analyst.user_id, analyst.groups)
        key = deployments.deploy(ctx, files, who, source="api").definitions[0].key
        yield Deployed(ctx, key, clerk, analyst, db.label)
