"""Runs what-if jobs (services/simulation_jobs.py) in a separate process per server: the
simulation drives thousands of engine instances and tunes the garbage collector, which must not
happen inside the process that serves requests. One job runs at a time per server; another is
refused (503) until it is done. Progress and the result go to the job's row, where any server
reads them."""

from __future__ import annotations

import logging
import multiprocessing
import tempfile
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from bpmn_service.config import Settings
from bpmn_service.context import AppContext
from bpmn_service.services import simulation_jobs

from . import whatif
from .runner import Environment
from .scenario import load

log = logging.getLogger("bpmn_service.simulation")
REPORT_EVERY_SECONDS = 0.5


class WhatIfLauncher:
    """One job at a time in a one-process pool started on first use (a SimulationLauncher)."""

    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._busy = False

    def reserve(self) -> bool:
        with self._lock:
            if self._busy:
                return False
            self._busy = True
            return True

    def release(self) -> None:
        with self._lock:
            self._busy = False

    def start(self, job_id: str) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn")
                )
            future = self._pool.submit(run_job, self._ctx.settings.model_dump(), job_id)
        future.add_done_callback(lambda f: self._ended(job_id, f))

    def _ended(self, job_id: str, future: Future[None]) -> None:
        self.release()
        # run_job records its own outcome; this catches a worker process that died.
        if future.cancelled() or future.exception() is not None:
            reason = "cancelled" if future.cancelled() else repr(future.exception())
            log.error("what-if simulation %s ended abnormally: %s", job_id, reason)
            simulation_jobs.fail(self._ctx, job_id, f"the simulation process ended: {reason}")

    def shutdown(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None


def run_job(settings_data: dict[str, Any], job_id: str) -> None:
    """In the pool's process: run one job and record its progress and outcome."""
    settings = Settings(**settings_data)
    ctx = AppContext.create(settings)
    try:
        _run(ctx, settings, job_id)
    finally:
        ctx.engine.dispose()


def _run(ctx: AppContext, settings: Settings, job_id: str) -> None:
    job, deployed_xml = simulation_jobs.for_run(ctx, job_id)
    last = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= REPORT_EVERY_SECONDS or done == total:
            last = now
            simulation_jobs.report_progress(ctx, job_id, done, total)

    progress(0, job.total)
    with tempfile.TemporaryDirectory(prefix="bpmn-whatif-") as tmp:
        deployed = Path(tmp) / f"{job.definition_key}.v{job.deployed_version}.bpmn"
        candidate = Path(tmp) / "candidate.bpmn"
        deployed.write_text(deployed_xml, encoding="utf-8")
        candidate.write_text(job.candidate_xml, encoding="utf-8")
        try:
            scenario = load(settings.simulation_scenario_file)
            result = whatif.compare(
                scenario,
                Environment.from_settings(settings),
                job.definition_key,
                deployed,
                candidate,
                applications=job.applications,
                on_progress=progress,
            )
        except ValueError as exc:
            simulation_jobs.fail(ctx, job_id, str(exc).replace(str(candidate), job.candidate_name))
            return
        except Exception as exc:  # any failure must end the job, not leave it running
            log.exception("what-if simulation %s failed", job_id)
            simulation_jobs.fail(ctx, job_id, f"the simulation failed: {exc!r}")
            return
    result["deployed_version"] = job.deployed_version
    result["candidate_name"] = job.candidate_name
    simulation_jobs.finish(ctx, job_id, result)
