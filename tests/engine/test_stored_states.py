"""States stored by earlier versions of the service load, upgrade and run to the end.

tests/engine/states holds instances of the shipped processes stopped at waiting points, written
by the engine of the commit each file names (make_state_fixtures.py), with the spec JSON its
deployment stored. Each is loaded with today's engine, which upgrades its format
(engine/state_format.py), and the rest of its recorded path is run to completion.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from kit import upstream_text
from replay import ROOT, STATES, Replay, paths, register_domain_functions

from bpmn_service.engine import compile_bpmn
from bpmn_service.engine.serialization import dump_state, load_state, spec_from_json
from bpmn_service.engine.state_format import (
    COMPACTED,
    KEY,
    MIGRATIONS,
    STATE_FORMAT,
    StateFormatError,
    upgrade,
)

FIXTURES = sorted(p for p in STATES.glob("*.json") if not p.name.endswith(".spec.json"))


def _fixture(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    data.update(json.loads((STATES / data["spec"]).read_text(encoding="utf-8")))
    return data


@pytest.fixture(scope="module", autouse=True)
def _functions() -> None:
    register_domain_functions()


def test_there_are_fixtures_of_every_older_format() -> None:
    formats = {json.loads(_fixture(p)["state"]).get(KEY, 1) for p in FIXTURES}
    assert set(range(1, STATE_FORMAT)) <= formats
    assert set(MIGRATIONS) == set(range(1, STATE_FORMAT))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_a_stored_state_upgrades_and_runs_to_the_end(path: Path) -> None:
    fixture = _fixture(path)
    replay = Replay(fixture["process"], fixture["spec_json"], fixture["start_form"])
    result = replay.resume(fixture["state"], datetime.fromisoformat(fixture["now"]))
    assert not result.completed
    assert json.loads(result.state)[KEY] == STATE_FORMAT  # saved again in today's format
    # The path as recorded for the model the fixture ran (older fixtures: the path of today).
    steps = fixture.get("steps") or paths(fixture["process"])["paths"][fixture["path"]]
    for element, values in steps[fixture["steps_done"] :]:
        result = replay.step(element, values)
    assert result.completed, [t.element_id for t in result.ready_tasks]


@pytest.mark.parametrize(
    ("process", "path"),
    [
        ("yekuo_current", "HV_D_all_loops"),
        ("yekuo_streamlined", "HV_S_cosign_one_rejects"),
        ("yekuo_streamlined", "HV_D_cosign_two_reject_meter_last"),
    ],
)
def test_every_stored_state_is_the_text_spiffworkflows_converters_write(
    process: str, path: str
) -> None:
    # serialization._task_to_dict writes tasks faster than SpiffWorkflow's TaskConverter; the
    # text must be the same, byte for byte, at every step of a long path.
    model = ROOT / "processes" / f"{process}.bpmn"
    compiled = compile_bpmn(model.read_bytes(), model.name, lambda _key, _lane: True)
    replay = Replay(process, compiled.spec_json, [f.to_dict() for f in compiled.start_form])
    spec, subs = spec_from_json(compiled.spec_json)
    result = replay.start(path, "DUMP")
    steps = paths(process)["paths"][path]
    for element, values in [(None, None), *steps]:
        if element is not None:
            result = replay.step(element, values)
        loaded = load_state(result.state, spec, subs)
        assert upstream_text(loaded) == dump_state(loaded)
    assert result.completed


def test_a_state_from_a_newer_service_is_refused() -> None:
    fixture = _fixture(FIXTURES[0])
    newer = json.loads(fixture["state"])
    newer[KEY] = STATE_FORMAT + 1
    spec, subs = spec_from_json(fixture["spec_json"])
    with pytest.raises(StateFormatError, match="newer version of the service"):
        load_state(json.dumps(newer), spec, subs)


@pytest.mark.parametrize("bad", ["2", 0, True, None])
def test_an_invalid_format_is_refused(bad: object) -> None:
    with pytest.raises(StateFormatError, match="invalid state_format"):
        upgrade({KEY: bad, "serializer_version": "1.5"})


def test_format_1_must_be_spiffworkflow_serializer_1_5() -> None:
    with pytest.raises(StateFormatError, match="serializer 1.5"):
        upgrade({"serializer_version": "1.4"})


def test_the_upgrade_of_a_format_1_state_keeps_everything_else() -> None:
    fixture = _fixture(FIXTURES[0])
    old = json.loads(fixture["state"])
    assert KEY not in old
    spec, subs = spec_from_json(fixture["spec_json"])
    again = json.loads(dump_state(load_state(fixture["state"], spec, subs)))
    assert again.pop(KEY) == STATE_FORMAT
    assert again.pop(COMPACTED) == 0  # format 3 counts compacted tasks; loading compacts nothing
    assert again == old
