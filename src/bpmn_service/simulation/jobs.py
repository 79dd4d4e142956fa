"""Runs what-if jobs (services/simulation_jobs.py) in a separate process per server: the
simulation drives thousands of engine instances and tunes the garbage collector, which must not
happen inside the process that serves requests. One job runs at a time per server; another is
refused (503) until it is done (once its outcome is recorded, the next waits for its process to
exit). Progress and the result go to the job's row, where any server
reads them. The server owns its job's process: on shutdown it terminates and reaps it, and a job
process whose server died without a shutdown stops at its next progress report."""

from __future__ import annotations

import logging
import multiprocessing
import os
import tempfile
import threading
import time
from multiprocessing.process import BaseProcess
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
# How long a job process gets to end after SIGTERM before it is killed.
TERMINATE_SECONDS = 10.0
# How long a new job waits for a job process that has recorded its outcome to exit (a reader
# who saw "done" and submits again at once must not be refused for the last moments).
EXITING_SECONDS = 10.0
STOPPED = "the server stopped while the simulation ran; submit it again"


class WhatIfLauncher:
    """One job at a time, each in a process of its own (a SimulationLauncher)."""

    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._busy = False
        self._stopping = False
        self._running: tuple[BaseProcess, str] | None = None
        self._recorded: Any = None  # the running job's "outcome recorded" event

    def reserve(self) -> bool:
        with self._lock:
            if self._busy and self._recorded is not None and self._recorded.is_set():
                # The job is over and its process is exiting: wait for it rather than refuse.
                self._idle.wait_for(lambda: not self._busy, EXITING_SECONDS)
            if self._busy or self._stopping:
                return False
            self._busy = True
            return True

    def release(self) -> None:
        with self._lock:
            self._busy = False
            self._idle.notify_all()

    def start(self, job_id: str) -> None:
        spawn = multiprocessing.get_context("spawn")
        recorded = spawn.Event()
        # daemon: should the server exit without shutdown(), multiprocessing still ends it.
        process = spawn.Process(
            target=run_job,
            args=(self._ctx.settings.model_dump(), job_id, os.getpid(), recorded),
            name=f"what-if {job_id}",
            daemon=True,
        )
        with self._lock:
            if self._stopping:
                self._busy = False
                self._idle.notify_all()
                stopping = True
            else:
                process.start()
                self._running = (process, job_id)
                self._recorded = recorded
                stopping = False
        if stopping:
            simulation_jobs.fail(self._ctx, job_id, STOPPED)
            return
        threading.Thread(
            target=self._watch, args=(process, job_id), name=f"what-if watch {job_id}", daemon=True
        ).start()

    def _watch(self, process: BaseProcess, job_id: str) -> None:
        process.join()
        with self._lock:
            self._running = None
            self._recorded = None
            self._busy = False
            self._idle.notify_all()
            stopping = self._stopping
        # run_job records its own outcome; this catches a job process that died. A job ended
        # by shutdown() is recorded there.
        if process.exitcode != 0 and not stopping:
            log.error("what-if simulation %s ended with exit code %s", job_id, process.exitcode)
            simulation_jobs.fail(
                self._ctx, job_id, f"the simulation process ended with exit code {process.exitcode}"
            )

    def shutdown(self) -> None:
        """Stop taking jobs, end the running one's process and wait until it is reaped."""
        with self._lock:
            self._stopping = True
            running = self._running
        if running is None:
            return
        process, job_id = running
        process.terminate()
        process.join(TERMINATE_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()
        log.info("what-if simulation %s stopped with the server", job_id)
        simulation_jobs.fail(self._ctx, job_id, STOPPED)


class ServerGone(Exception):
    """The server that started this job process is no longer its parent."""


def run_job(
    settings_data: dict[str, Any],
    job_id: str,
    server_pid: int | None = None,
    recorded: Any = None,
) -> None:
    """In the job's process: run one job and record its progress and outcome; then set
    `recorded` (the server's launcher takes the next job while this process exits)."""
    settings = Settings(**settings_data)
    ctx = AppContext.create(settings)
    try:
        _run(ctx, settings, job_id, server_pid)
    finally:
        ctx.engine.dispose()
        if recorded is not None:
            recorded.set()


def _run(ctx: AppContext, settings: Settings, job_id: str, server_pid: int | None) -> None:
    job, deployed_xml = simulation_jobs.for_run(ctx, job_id)
    last = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last
        if server_pid is not None and os.getppid() != server_pid:
            raise ServerGone(f"server process {server_pid} is gone")
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
                deployed_label=(
                    f"the deployed version {job.deployed_version} of {job.definition_key}"
                ),
                candidate_label=job.candidate_name,
            )
        except ServerGone:
            simulation_jobs.fail(ctx, job_id, STOPPED)
            return
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
