"""Run the reference external-task workers inside the server process (development default).

With them a fresh `make run` can drive the streamlined process end to end without starting
anything else. They use the service layer directly under the identity `reference-worker`; the
standalone `bpmn-service worker` does the same over HTTP for other deployments.
"""

from __future__ import annotations

import logging
import threading

from bpmn_service.context import AppContext
from bpmn_service.errors import ServiceError
from bpmn_service.identity import Principal
from bpmn_service.services import external_tasks
from bpmn_service.worker import TOPICS, Handlers

log = logging.getLogger("bpmn_service.reference_workers")
WORKER = Principal("reference-worker", frozenset({"worker"}))


class ReferenceWorkers:
    def __init__(self, ctx: AppContext, interval: float = 1.0) -> None:
        settings = ctx.settings
        self.ctx = ctx
        self.interval = interval
        self.handlers = Handlers.load(
            settings.registry_file, settings.shared_registers_file, settings.sms_outbox_file
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reference-workers", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def run_once(self) -> int:
        done = 0
        for task in external_tasks.fetch_and_lock(
            self.ctx,
            WORKER,
            worker_id=WORKER.user_id,
            topics=list(TOPICS),
            lock_seconds=60,
            max_tasks=20,
        ):
            view = {
                "id": task.id,
                "topic": task.topic,
                "name": task.name,
                "element_id": task.element_id,
                "business_key": task.business_key,
                "variables": task.variables,
            }
            try:
                variables = self.handlers.handle(view)
            except (ValueError, KeyError) as exc:
                external_tasks.fail(
                    self.ctx,
                    WORKER,
                    task.id,
                    worker_id=WORKER.user_id,
                    message=str(exc),
                    details=None,
                    retries=0,
                    retry_seconds=0,
                )
                continue
            try:
                external_tasks.complete(
                    self.ctx, WORKER, task.id, worker_id=WORKER.user_id, variables=variables
                )
            except ServiceError as exc:
                # The process could not take the answer: a `worker` incident holds the task
                # until a repair; the other tasks of this fetch are still answered.
                log.warning("reference worker, task %s: %s", task.id, exc.message)
                continue
            done += 1
        return done

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except ServiceError as exc:
                log.warning("reference worker: %s", exc.message)
            except Exception:  # keep serving after database hiccups
                log.exception("reference worker failed")
            self._stop.wait(self.interval)
