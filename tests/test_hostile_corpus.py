"""Every file of the hostile corpus (tests/data/hostile) is refused by the API and the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DATA, ROOT, Api

CORPUS = sorted((DATA / "hostile").glob("*.bpmn"))
SENTINEL = Path("/tmp/bpmn-service-hostile-sentinel")


def test_the_corpus_has_at_least_50_files() -> None:
    assert len(CORPUS) >= 50


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_upload_is_refused_and_nothing_runs(api: Api, path: Path) -> None:
    SENTINEL.unlink(missing_ok=True)
    response = api.deploy_bytes(path.name, path.read_bytes())
    assert response.status_code in (413, 422), response.text[:500]
    assert response.json()["message"]
    assert api.get("/process-definitions").json() == []
    assert not SENTINEL.exists()
    assert api.get("/health/live", user=None).status_code == 200


def test_check_command_refuses_every_file() -> None:
    SENTINEL.unlink(missing_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "bpmn_service.cli", "check", str(DATA / "hostile")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert result.stdout.strip() == "", result.stdout  # no file was reported ok
    for path in CORPUS:
        assert path.name in result.stderr, path.name
    assert not SENTINEL.exists()
