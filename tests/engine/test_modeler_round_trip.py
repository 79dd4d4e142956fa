"""Camunda Modeler's round trip: every shipped model and every BPMN file of the tests, opened and
saved by bpmn-moddle with the Camunda descriptor (tools/moddle, the libraries the Modeler and
bpmn.io use), reads without a warning, compiles to the very same engine spec, and the recorded
paths of both 业扩 processes run to power-on on the saved copies.

tests/data/hostile and tests/data/check are left out: their files are built to be refused (a
flow to a deleted task, entities, …), and a Modeler either cannot open them, warns, or saves a
different file.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from kit import Case
from replay import ROOT, register_domain_functions
from test_shipped_paths import CASES, POWERED_ON, run_path

from bpmn_service.engine import compile_bpmn
from bpmn_service.engine.declared_limits import read_declarations
from bpmn_service.errors import InvalidBpmn

TOOL = ROOT / "tools" / "moddle" / "roundtrip.mjs"
MODELS = sorted(
    [
        *(ROOT / "processes").glob("*.bpmn"),
        *(ROOT / "tests" / "data").glob("*.bpmn"),
        *(ROOT / "tests" / "engine" / "bpmn").glob("*.bpmn"),
    ]
)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, tuple[Path, list[str]]]:
    """Each model → its saved copy and the warnings the Modeler shows on opening it."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the Modeler round trip needs it (make install)")
    if not (TOOL.parent / "node_modules" / "bpmn-moddle").is_dir():
        pytest.fail("tools/moddle has no node_modules: run `make install`")
    out = tmp_path_factory.mktemp("saved")
    result: dict[Path, tuple[Path, list[str]]] = {}
    # One directory per source folder: models of different folders share names.
    for folder in sorted({m.parent for m in MODELS}):
        target = out / folder.relative_to(ROOT).as_posix().replace("/", "_")
        files = [str(m) for m in MODELS if m.parent == folder]
        run = subprocess.run(
            [node, str(TOOL), "--out", str(target), *files],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        for line in run.stdout.splitlines():
            entry = json.loads(line)
            result[Path(entry["file"])] = (Path(entry["saved"]), entry["warnings"])
    return result


def _compile(path: Path, name: str) -> tuple[str | None, list[str]]:
    register_domain_functions()
    try:
        compiled = compile_bpmn(path.read_bytes(), name, lambda _key, _lane: True)
    except InvalidBpmn as exc:
        return None, [str(p) for p in exc.problems]
    return compiled.spec_json, []


@pytest.mark.parametrize("model", MODELS, ids=[str(m.relative_to(ROOT)) for m in MODELS])
def test_a_modeler_save_changes_nothing_the_engine_runs(
    model: Path, saved: dict[Path, tuple[Path, list[str]]]
) -> None:
    copy, warnings = saved[model]
    assert warnings == [], f"the Modeler warns on opening {model.name}: {warnings}"
    original, refused = _compile(model, model.name)
    again, refused_again = _compile(copy, model.name)
    assert again == original
    if original is None:  # a file the tests expect to be refused stays refused, for the same
        assert [p.split(": ", 1)[1] for p in refused_again] == [  # reasons (lines move)
            p.split(": ", 1)[1] for p in refused
        ]


@pytest.mark.parametrize(("key", "path_name"), CASES, ids=[f"{k}-{n}" for k, n in CASES])
def test_recorded_paths_run_on_the_saved_copies(
    key: str, path_name: str, saved: dict[Path, tuple[Path, list[str]]]
) -> None:
    copy, _warnings = saved[ROOT / "processes" / f"{key}.bpmn"]
    _replay, _offered, steps = run_path(key, path_name, copy.parent)
    assert POWERED_ON[key] in steps


@pytest.mark.parametrize("model", MODELS, ids=[str(m.relative_to(ROOT)) for m in MODELS])
def test_declared_time_limits_survive_a_modeler_save(
    model: Path, saved: dict[Path, tuple[Path, list[str]]]
) -> None:
    """The timeLimit.* extension properties (on tasks, events and gateways alike) come back as
    they were: the same limits, starts, stops, pauses and covered steps."""
    copy, _warnings = saved[model]
    for key in re.findall(r'<bpmn:process id="([^"]+)"', model.read_text(encoding="utf-8")):
        before = read_declarations(model.read_bytes(), key)
        assert read_declarations(copy.read_bytes(), key).limits == before.limits


def test_a_new_modeler_style_process_runs_after_a_save(
    saved: dict[Path, tuple[Path, list[str]]],
) -> None:
    """A process drawn as an analyst would (lanes, forms, a co-sign, two rework loops), saved by
    the Modeler's libraries, runs to its end: the co-sign's collection, element variable and
    output collection survive the save."""
    copy, _warnings = saved[ROOT / "tests" / "engine" / "bpmn" / "small_connection.bpmn"]
    case = Case("small_connection")
    case.spec_json, _refused = _compile(copy, "small_connection.bpmn")
    assert case.spec_json is not None
    case.start(customerName="孝感市晨光便利店", capacityKVA=150)
    case.complete("review", docsComplete=False)
    case.complete("supplement", missingDocs="产权证明")
    case.complete("review", docsComplete=True)
    assert case.open_elements == ["cosign", "cosign"]
    for decision in ("APPROVE", "REJECT"):
        case.complete_instance("cosign", decision=decision)
    case.complete("rectify", rectification="更换计量箱")
    for _signer in range(2):
        case.complete_instance("cosign", decision="APPROVE")
    assert case.result is not None and case.result.completed
