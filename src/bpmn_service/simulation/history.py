"""Write simulated history into a throwaway SQLite database and read the service's KPIs from it.

The database lives in a new temporary directory, is created with the service's migrations
(bpmn_service.db.migrate.upgrade), gets its calendar table and the two models deployed through the
deployment service, and then receives one process_instance row per simulated application and one
historic_task / historic_wait row per task and wait, exactly the columns the service's projection
writes. The KPIs are then those of ``bpmn-service report``: services.analytics over db/analytics.py.
Nothing here can reach the configured (production) database: the URL is always the temporary file.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bpmn_service.config import Settings
from bpmn_service.context import AppContext
from bpmn_service.db.migrate import upgrade
from bpmn_service.db.models import HistoricTask, HistoricWait, ProcessInstance
from bpmn_service.identity import Principal
from bpmn_service.services import analytics
from bpmn_service.services.calendar_table import sync_calendar
from bpmn_service.services.deployments import BpmnFile, deploy

from .driver import SIM_ACTOR
from .runner import Environment, Simulation

PRINCIPAL = Principal(SIM_ACTOR, frozenset({"admin"}))
PREPARE_MESSAGE = "application_filed"
BATCH = 20_000


def service_kpis(sim: Simulation, env: Environment, keep: Path | None = None) -> dict[str, Any]:
    """Process, step and time-limit KPIs of the simulated history, per process key."""
    directory = Path(tempfile.mkdtemp(prefix="bpmn-simulation-"))
    database = directory / "simulation.db"
    settings = Settings(
        database_url=f"sqlite:///{database}",
        calendar_file=env.calendar_file,
        time_limits_file=env.time_limits_file,
        lane_groups_file=env.lane_groups_file,
        processes_dir=env.processes_dir,
        deploy_on_start=False,
        migrate_on_start=False,
    )
    ctx = AppContext.create(settings)
    try:
        upgrade(ctx.engine)
        sync_calendar(ctx, ctx.calendar)
        files = [BpmnFile(m.filename, m.bpmn) for m in sim.models.values()]
        deployed = {
            d.key: d for d in deploy(ctx, files, PRINCIPAL, source="simulation").definitions
        }
        _write(ctx, sim, deployed)
        out: dict[str, Any] = {}
        for key in sim.outcomes:
            params = analytics.ReportParams(key=key)
            found = analytics.reports(ctx, PRINCIPAL, params, ("processes", "steps", "time-limits"))
            out[key] = {
                view: [analytics.as_dict(view, item) for item in report.items]
                for view, report in found.items()
            }
        return out
    finally:
        ctx.engine.dispose()
        if keep is not None:
            keep.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(database, keep)
        shutil.rmtree(directory, ignore_errors=True)


def _write(ctx: AppContext, sim: Simulation, deployed: dict[str, Any]) -> None:
    moment = sim.clock.moment
    instances: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    waits: list[dict[str, Any]] = []
    for key, outcome in sim.outcomes.items():
        definition = deployed[key]
        start_element = next(
            (e.id for e in sim.models[key].elements.values() if e.kind == "StartEvent"), key
        )
        for r in outcome.results:
            instance_id = str(uuid.uuid4())
            completed = r.status == "completed" and r.ended is not None
            instances.append(
                {
                    "id": instance_id,
                    "definition_id": definition.id,
                    "definition_key": key,
                    "version": definition.version,
                    "business_key": f"SIM-{key}-{r.index:06d}",
                    "status": "completed" if completed else "active",
                    "state": "",
                    "variables": {"customerCategory": r.category},
                    "started_at": moment(r.arrival),
                    "started_by": SIM_ACTOR,
                    "ended_at": moment(r.ended) if completed and r.ended is not None else None,
                    "next_timer_at": None,
                    "category": r.category,
                    "row_version": 1,
                }
            )
            if r.start > r.arrival:
                waits.append(
                    {
                        "instance_id": instance_id,
                        "definition_key": key,
                        "element_id": start_element,
                        "message_name": PREPARE_MESSAGE,
                        "lane": None,
                        "external_party": True,
                        "started_at": moment(r.arrival),
                        "ended_at": moment(r.start),
                    }
                )
            for t in r.tasks:
                if t.ended is None or t.kind != "user":
                    continue
                tasks.append(
                    {
                        "id": str(uuid.uuid4()),
                        "instance_id": instance_id,
                        "definition_key": key,
                        "element_id": t.element,
                        "name": t.name[:255],
                        "lane": t.lane,
                        "candidate_groups": list(t.groups),
                        "assignee": None,
                        "created_at": moment(t.created),
                        "claimed_at": moment(t.claimed) if t.claimed is not None else None,
                        "due_at": t.due,
                        "ended_at": moment(t.ended),
                        "end_reason": t.reason,
                        "completed_by": SIM_ACTOR if t.reason == "completed" else None,
                        "customer_procedure": t.procedure,
                        "hall_visit": t.hall,
                        "external_party": t.external,
                    }
                )
            for x in r.waits:
                if x.ended is None:
                    continue
                waits.append(
                    {
                        "instance_id": instance_id,
                        "definition_key": key,
                        "element_id": x.element,
                        "message_name": x.message,
                        "lane": x.lane,
                        "external_party": x.external,
                        "started_at": moment(x.started),
                        "ended_at": moment(x.ended),
                    }
                )
    with ctx.sessions.begin() as session:
        for table, rows in (
            (ProcessInstance, instances),
            (HistoricTask, tasks),
            (HistoricWait, waits),
        ):
            for i in range(0, len(rows), BATCH):
                session.execute(insert(table), rows[i : i + BATCH])


def jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return jsonable(asdict(value))
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
