"""A server that shuts down while a what-if job runs ends the job's process and reaps it (no
orphan keeps simulating after the server is gone), and the job reads as failed, not running."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from conftest import ROOT, TOKENS
from served import serve

SOURCE = (ROOT / "processes" / "yekuo_streamlined.bpmn").read_bytes()


def children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (Linux /proc)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(c) for c in (task / "children").read_text().split()}
        except FileNotFoundError:
            continue
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads child processes from /proc")
def test_a_server_shutting_down_ends_and_reaps_its_what_if_process(tmp_path: Path) -> None:
    database = tmp_path / "whatif.db"
    # Only the process the job simulates is deployed at start (it compiles faster than all).
    processes = tmp_path / "processes"
    processes.mkdir()
    for name in ("yekuo_streamlined.bpmn", "lane-groups.toml"):
        shutil.copy(ROOT / "processes" / name, processes / name)
    shutil.copytree(ROOT / "processes" / "paths", processes / "paths")
    env = {
        **os.environ,
        "BPMN_MODE": "development",
        "BPMN_DATABASE_URL": f"sqlite:///{database}",
        "BPMN_PROCESSES_DIR": str(processes),
        "BPMN_REFERENCE_WORKERS": "false",
        "BPMN_SMS_OUTBOX_FILE": str(tmp_path / "outbox.jsonl"),
    }
    server, url = serve(env, tmp_path / "server.log")
    log = tmp_path / "server.log"
    try:
        before = children(server.pid)
        answer = httpx.post(
            f"{url}/api/v1/simulations",
            headers={"Authorization": f"Bearer {TOKENS['analyst']}"},
            files={"candidate": ("draft.bpmn", SOURCE, "application/xml")},
            data={"applications": "2000"},
            timeout=30,
        )
        assert answer.status_code == 202, answer.text
        job = answer.json()["id"]
        deadline = time.monotonic() + 120
        while True:
            state = httpx.get(
                f"{url}/api/v1/simulations/{job}",
                headers={"Authorization": f"Bearer {TOKENS['analyst']}"},
            ).json()
            if state["status"] == "running" and state["done"] > 0:
                break
            assert state["status"] in ("queued", "running"), state
            assert time.monotonic() < deadline, "the job did not start simulating"
            time.sleep(0.1)
        spawned = children(server.pid) - before
        assert spawned, "the job runs in a process of its own"

        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()

    # The job's process ended with the server (multiprocessing's resource tracker, if one was
    # started, ends when its pipe from the server closes).
    # (A generous deadline: on a loaded machine the tracker may be slow to notice.)
    deadline = time.monotonic() + 60
    while any(alive(pid) for pid in spawned) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in spawned if alive(pid)], log.read_text()[-3000:]
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        status, error = conn.execute(
            text("SELECT status, error FROM simulation_job WHERE id = :id"), {"id": job}
        ).one()
    engine.dispose()
    assert status == "failed" and "server stopped" in error
