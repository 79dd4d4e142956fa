"""The curl examples of README.md and docs/ run as written against a fresh `bpmn-service serve`
(what `make run` starts: SQLite, processes/ deployed, reference workers on), in the order a
newcomer reads them, in one shell: each answers 2xx and the walkthrough prints what docs/api.md
says it prints.

docs/operations.md's supervisors' session has its own test (test_operations_docs.py, it needs a
second model version); the what-if example of docs/analytics.md runs a 20-second simulation and is
left to test_simulation_whatif.py; the other shell blocks of docs/ are bench and CLI commands.
"""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
from pathlib import Path

from conftest import ROOT
from served import serve, stop

MAKE_RUN_URL = "http://127.0.0.1:8000"
# (document, what a block must contain to be run); the blocks of a document run in order.
DOCUMENTS = [
    ("README.md", "curl"),
    ("docs/getting-started.md", "curl"),
    ("docs/authoring.md", "curl"),
    ("docs/api.md", ""),  # every block: the walkthrough defines API and json() for the others
    ("docs/processes.md", "curl"),
    ("docs/analytics.md", "/analytics/"),
    ("docs/camunda.md", "curl"),
    ("docs/operations.md", "/metrics"),
]
# Every curl call appends its status and URL to a file; the test reads them afterwards.
STATUS_HOOK = """
curl() { command curl -w '%{stderr}HTTP %{http_code} %{url_effective}\\n' "$@"; }
"""


def blocks(document: str, marker: str) -> list[str]:
    text = (ROOT / document).read_text(encoding="utf-8")
    found = re.findall(r"^([ \t]*)```sh\n(.*?)^\1```", text, flags=re.DOTALL | re.MULTILINE)
    return [textwrap.dedent(body) for _, body in found if marker in body]


def test_every_documented_curl_example_works_against_a_fresh_server(tmp_path: Path) -> None:
    script = [STATUS_HOOK]
    for document, marker in DOCUMENTS:
        found = blocks(document, marker)
        assert found, f"{document} has no example with {marker!r} any more"
        for n, block in enumerate(found):
            script.append(f"echo '### {document} #{n}'; echo '### {document} #{n}' >&2\n{block}")
    env = {
        **os.environ,
        "BPMN_DATABASE_URL": f"sqlite:///{tmp_path / 'bpmn.db'}",
        "BPMN_SMS_OUTBOX_FILE": str(tmp_path / "sms-outbox.jsonl"),
        "BPMN_LOG_LEVEL": "WARNING",
    }
    env.pop("BPMN_DATABASE_SCHEMA", None)
    proc, url = serve(env, tmp_path / "server.log")
    try:
        done = subprocess.run(
            ["bash", "-uo", "pipefail", "-c", "\n".join(script).replace(MAKE_RUN_URL, url)],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=ROOT,
        )
    finally:
        stop(proc)
    calls = [line for line in done.stderr.splitlines() if line.startswith("HTTP ")]
    assert len(calls) >= 30, done.stderr
    failed = [line for line in calls if not line.startswith("HTTP 2")]
    assert not failed, f"{failed}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    assert done.returncode == 0, done.stderr
    # What docs/api.md says the walkthrough prints.
    walkthrough = done.stdout.split("### docs/api.md #0", 1)[1].split("###", 1)[0]
    assert "[('A-UT02', '组织现场勘查')]\n0\n" in walkthrough, walkthrough
    assert "201\n201\nidempotent-replayed: true\n" in done.stdout, done.stdout
