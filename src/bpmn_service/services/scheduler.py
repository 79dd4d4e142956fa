"""Fire due timers. Every server process polls; row locks make each timer fire exactly once."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from bpmn_service.context import AppContext
from bpmn_service.db.connect import is_sqlite
from bpmn_service.db.models import ProcessInstance
from bpmn_service.engine import BudgetExceeded
from bpmn_service.errors import Busy, ServiceError, WorkflowFailed

from . import projection, run_incidents, runtime, telemetry
from .instances import spec_loader
from .uow import UnitOfWork

log = logging.getLogger("bpmn_service.scheduler")
BATCH = 20


def run_due_timers(ctx: AppContext, *, now: datetime | None = None, batch: int = BATCH) -> int:
    """Advance every instance whose earliest timer is due; return how many were advanced.

    Each instance is handled in its own transaction under its row lock. On PostgreSQL,
    `SKIP LOCKED` lets several server processes share the work without waiting on each other;
    an instance another process is advancing is simply skipped, and its timer is not re-fired
    because the stored engine state records that it fired.
    """
    fired = 0
    while True:
        moment = now or ctx.clock()
        instance_id = _claim_one(ctx, moment)
        if instance_id is None:
            return fired
        fired += 1
        if fired >= batch * 50:
            return fired


def _claim_one(ctx: AppContext, now: datetime) -> str | None:
    with UnitOfWork(ctx, write=True) as uow:
        session = uow.session
        stmt = (
            select(ProcessInstance)
            .where(ProcessInstance.status == "active", ProcessInstance.next_timer_at <= now)
            .order_by(ProcessInstance.next_timer_at, ProcessInstance.id)
            .limit(1)
        )
        if not is_sqlite(ctx.engine):
            stmt = stmt.with_for_update(skip_locked=True)
        instance = session.scalars(stmt).first()
        if instance is None:
            return None
        if instance.next_timer_at is not None:
            lag = (now - instance.next_timer_at).total_seconds()
            telemetry.observe(session, telemetry.TIMER_LAG, instance.definition_key, value=lag)
        try:
            result = ctx.runner.fire_timers(
                instance.definition_id,
                spec_loader(session, instance.definition_id),
                instance.state,
                now=now,
            )
        except Exception as exc:
            # A timer that cannot fire (a broken expression, a run over its budget, an error
            # nobody foresaw) must not block the others: its run is not kept, the instance's
            # timer is parked and an incident names the element; the poller moves on.
            if not isinstance(exc, ServiceError):
                log.exception("timer of instance %s failed unexpectedly", instance.id)
            _park(ctx, session, instance, exc, now)
            uow.commit()
            return instance.id
        due = instance.next_timer_at.isoformat() if instance.next_timer_at else None
        try:
            with session.begin_nested():
                projection.record(
                    session, instance, "timers_fired", at=now, actor=None, details={"due": due}
                )
                runtime.settle(ctx, session, instance, result, at=now, actor=None)
        except runtime.CascadeExceeded as exc:
            # The messages the timer's run threw fanned out beyond their budget: the run and
            # all it caused are rolled back (to the savepoint), the timer parked as above.
            _park(ctx, session, instance, exc, now)
        uow.commit()
        return instance.id


def _park(
    ctx: AppContext, session: Session, instance: ProcessInstance, exc: Exception, now: datetime
) -> None:
    """Park the instance's timer after its run failed, with an incident and `timer_failed`."""
    error = exc if isinstance(exc, ServiceError) else _unforeseen(exc)
    instance.next_timer_at = None
    run_incidents.record(
        ctx,
        session,
        instance,
        kind="budget" if isinstance(error, BudgetExceeded) else "timer",
        error=error,
        at=now,
    )
    projection.record(
        session,
        instance,
        "timer_failed",
        at=now,
        actor=None,
        details={"error": error.message},
    )


def _unforeseen(exc: Exception) -> WorkflowFailed:
    return WorkflowFailed(f"the timer could not fire: {type(exc).__name__}: {exc}")


class TimerPoller:
    """A daemon thread that runs due timers every `interval` seconds until stopped."""

    def __init__(self, ctx: AppContext, interval: float) -> None:
        self.ctx = ctx
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="timer-poller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                run_due_timers(self.ctx)
            except (Busy, DBAPIError) as exc:  # a lost connection: expected, the next round retries
                text = exc.message if isinstance(exc, Busy) else " ".join(str(exc.orig).split())
                log.warning("timer poll: %s; retried in %s s", text, self.interval)
            except Exception:  # keep polling after anything else; the next round retries
                log.exception("timer poll failed")
            self._stop.wait(self.interval)
