"""The what-if launcher takes one job at a time per server process: a second job is refused
while the first runs, but not while the first one's process, its outcome recorded, is exiting."""

from __future__ import annotations

import threading
import time

import pytest

from bpmn_service.context import AppContext
from bpmn_service.simulation import jobs


def _exits_after(launcher: jobs.WhatIfLauncher, seconds: float) -> threading.Thread:
    """What the launcher's watcher does when a job's process has exited, `seconds` from now."""

    def exited() -> None:
        time.sleep(seconds)
        launcher.release()

    thread = threading.Thread(target=exited)
    thread.start()
    return thread


def test_a_running_job_refuses_the_next_at_once(app_ctx: AppContext) -> None:
    launcher = jobs.WhatIfLauncher(app_ctx)
    assert launcher.reserve()
    launcher._recorded = threading.Event()  # the job has not recorded its outcome
    began = time.monotonic()
    assert not launcher.reserve()
    assert time.monotonic() - began < 1
    launcher.release()
    assert launcher.reserve()


def test_a_job_exiting_after_its_outcome_lets_the_next_wait_for_it(app_ctx: AppContext) -> None:
    launcher = jobs.WhatIfLauncher(app_ctx)
    assert launcher.reserve()
    recorded = threading.Event()
    recorded.set()  # "done" is in the job's row; its process is still exiting
    launcher._recorded = recorded
    exiting = _exits_after(launcher, 0.3)
    assert launcher.reserve()  # waited for the exit instead of answering 503
    exiting.join()
    launcher.release()


def test_a_job_process_that_never_exits_is_waited_for_only_so_long(
    app_ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "EXITING_SECONDS", 0.2)
    launcher = jobs.WhatIfLauncher(app_ctx)
    assert launcher.reserve()
    recorded = threading.Event()
    recorded.set()
    launcher._recorded = recorded
    began = time.monotonic()
    assert not launcher.reserve()
    assert 0.2 <= time.monotonic() - began < 2
