"""What-if before deploy: a draft against the deployed version on the same applications, in
process (whatif.compare), on the command line and as a background job over the API."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bpmn_service.cli import main
from bpmn_service.identity import Principal
from bpmn_service.services import simulation_jobs
from bpmn_service.services.deployments import BpmnFile
from bpmn_service.simulation import parse, whatif
from conftest import ROOT, Api
from test_simulation import SCENARIO, env

DEPLOYED = ROOT / "processes" / "yekuo_streamlined.bpmn"
SOURCE = DEPLOYED.read_text(encoding="utf-8")
# Low-voltage customers sent down the high-voltage path: only LV cases change.
LV_AS_HV = SOURCE.replace('customerCategory in ["RES", "LV"]', 'customerCategory in ["RES"]', 1)
# The survey task renamed: the scenario's duration for B-UT02 has nothing to apply to.
WITHOUT_SURVEY = re.sub(r'B-UT02(?=["<])', "B-UT02X", SOURCE)


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def compare(tmp_path: Path, candidate: str, applications: int = 20) -> dict[str, Any]:
    path = tmp_path / "candidate.bpmn"
    path.write_text(candidate, encoding="utf-8")
    scenario = parse(SCENARIO.read_text(encoding="utf-8"), str(SCENARIO))
    seen: list[tuple[int, int]] = []
    result = whatif.compare(
        scenario,
        env(),
        "yekuo_streamlined",
        DEPLOYED,
        path,
        applications=applications,
        on_progress=lambda done, total: seen.append((done, total)),
    )
    assert seen[-1] == (2 * applications, 2 * applications)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    return result


def test_the_same_model_as_candidate_changes_nothing(tmp_path: Path) -> None:
    result = compare(tmp_path, SOURCE)
    assert set(result["categories"]) <= {"RES", "LV", "HV_S", "HV_D"}
    for sides in result["categories"].values():
        assert sides["deployed"] == sides["candidate"]
    assert result["elements"] and all(e["delta_wd"] == 0 for e in result["elements"])
    assert result["failed"] == {"deployed": 0, "candidate": 0}


def test_a_changed_route_moves_time_only_where_it_applies(tmp_path: Path) -> None:
    assert LV_AS_HV != SOURCE
    result = compare(tmp_path, LV_AS_HV)
    categories = result["categories"]
    assert categories["RES"]["deployed"] == categories["RES"]["candidate"]
    lv = categories["LV"]
    assert lv["deployed"]["handoffs_mean"] != lv["candidate"]["handoffs_mean"]
    moved = {e["element_id"]: e for e in result["elements"] if e["delta_wd"] != 0}
    # The high-voltage plan steps now see LV cases; the LV survey step sees fewer.
    assert moved["B-UT02"]["delta_wd"] < 0
    assert moved["B-UT02"]["name"] == "现场勘查并当场答复"
    assert any(e["delta_wd"] > 0 for e in moved.values())


SURVEY_ENTRY = "[processes.yekuo_streamlined.steps.B-UT02]"


def entry_line() -> int:
    lines = SCENARIO.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith(SURVEY_ENTRY))


def test_a_draft_without_a_step_the_scenario_times_is_refused_with_the_line(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValueError, match=r"line \d+: unknown step 'B-UT02'") as caught:
        compare(tmp_path, WITHOUT_SURVEY)
    message = str(caught.value)
    assert message.startswith(f"{SCENARIO}, line {entry_line()}: ")
    assert SURVEY_ENTRY in message and "the draft candidate.bpmn has no such element" in message
    assert "did you mean 'B-UT02X'?" in message and "keep the id" in message


def test_a_deployed_version_without_a_step_the_scenario_times_is_named_not_the_draft(
    tmp_path: Path,
) -> None:
    """After a deployment renamed a step the scenario times, every what-if failed with a message
    that read as if the draft lacked the step."""
    deployed = tmp_path / "yekuo_streamlined.v2.bpmn"
    deployed.write_text(WITHOUT_SURVEY, encoding="utf-8")
    draft = tmp_path / "draft.bpmn"
    draft.write_text(WITHOUT_SURVEY, encoding="utf-8")
    scenario = parse(SCENARIO.read_text(encoding="utf-8"), str(SCENARIO))
    with pytest.raises(ValueError) as caught:
        whatif.compare(
            scenario,
            env(),
            "yekuo_streamlined",
            deployed,
            draft,
            applications=2,
            deployed_label="the deployed version 2 of yekuo_streamlined",
        )
    message = str(caught.value)
    assert message.startswith(f"{SCENARIO}, line {entry_line()}: unknown step 'B-UT02' in ")
    assert SURVEY_ENTRY in message
    assert "the deployed version 2 of yekuo_streamlined has no such element" in message
    assert "did you mean 'B-UT02X'?" in message
    assert f"rename the entry to the element's new id in {SCENARIO}, or remove it" in message
    assert "draft" not in message.split(";")[0]


def test_a_deployment_that_drops_a_step_the_scenario_times_warns_with_the_entry(
    api: Api,
) -> None:
    first = api.deploy(DEPLOYED)
    assert first.status_code == 201 and first.json()["warnings"] == []
    renamed = api.deploy_bytes("yekuo_streamlined.bpmn", WITHOUT_SURVEY.encode())
    assert renamed.status_code == 201, renamed.text
    [warning] = [w for w in renamed.json()["warnings"] if w["code"] == "simulation.unknown-step"]
    assert (warning["file"], warning["line"], warning["element"], warning["severity"]) == (
        str(SCENARIO),
        entry_line(),
        "B-UT02",
        "warning",
    )
    assert SURVEY_ENTRY in warning["message"] and "yekuo_streamlined.bpmn" in warning["message"]
    assert "what-if" in warning["message"]
    assert "'B-UT02X'" in warning["hint"] and "remove" in warning["hint"]
    # The what-if that now fails says it is the deployed version, not the draft.
    job = _upload(api, WITHOUT_SURVEY, applications="2").json()
    done = _wait(api, job["id"])
    assert done["status"] == "failed"
    assert "the deployed version 2 of yekuo_streamlined has no such element" in done["error"]
    assert SURVEY_ENTRY in done["error"]


def test_the_cli_compares_a_candidate_with_the_deployed_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BPMN_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    candidate = tmp_path / "draft.bpmn"
    candidate.write_text(LV_AS_HV, encoding="utf-8")
    args = ["simulate", "--candidate", str(candidate), "--applications", "16", "--quiet"]
    assert main([*args, "--workers", "1", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "processes/yekuo_streamlined.bpmn (not deployed in the database)" in out
    assert re.search(r"^LV\s+\d+\s+[\d.]+ → [\d.]+", out, re.M)
    assert "where the time moved" in out and "B-UT02" in out
    data = json.loads((tmp_path / "out" / "whatif.json").read_text(encoding="utf-8"))
    assert data["key"] == "yekuo_streamlined" and data["applications"] == 16
    broken = tmp_path / "broken.bpmn"
    broken.write_text(SOURCE.replace('"RES", "LV"]', '"RES", "LV"', 1), encoding="utf-8")
    assert main(["simulate", "--candidate", str(broken), "--quiet"]) == 1
    assert "Flow_BGW03_BUT02" in capsys.readouterr().err


def _upload(api: Api, text: str, user: str = "analyst", **form: Any) -> Any:
    return api.post(
        "/simulations",
        user,
        files={"candidate": ("draft.bpmn", text.encode(), "application/xml")},
        data=form,
    )


def _wait(api: Api, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while True:
        body = api.get(f"/simulations/{job_id}", "analyst").json()
        if body["status"] in ("done", "failed") or time.monotonic() > deadline:
            return dict(body)
        time.sleep(0.1)


def test_a_what_if_job_runs_in_the_background_and_any_reader_sees_it(api: Api) -> None:
    api.deploy(DEPLOYED)
    started = _upload(api, LV_AS_HV, applications="12")
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["status"] in ("queued", "running")
    assert job["definition_key"] == "yekuo_streamlined" and job["deployed_version"] == 1
    assert job["total"] == 24
    done = _wait(api, job["id"])
    assert done["status"] == "done", done["error"]
    assert done["progress"] == 1.0 and done["finished_at"]
    result = done["result"]
    assert result["candidate_name"] == "draft.bpmn" and result["deployed_version"] == 1
    assert result["categories"]["LV"]["deployed"] != result["categories"]["LV"]["candidate"]
    # Supervisors and admins read it too; a clerk may not.
    assert api.get(f"/simulations/{job['id']}", "leader").status_code == 200
    assert api.get(f"/simulations/{job['id']}", "clerk").status_code == 403


def test_a_draft_the_scenario_cannot_time_fails_with_the_reason(api: Api) -> None:
    api.deploy(DEPLOYED)
    job = _upload(api, WITHOUT_SURVEY, applications="5").json()
    done = _wait(api, job["id"])
    assert done["status"] == "failed"
    assert "unknown step 'B-UT02'" in done["error"] and done["result"] is None


def test_what_if_requests_that_cannot_run_are_refused(api: Api) -> None:
    assert _upload(api, SOURCE).status_code == 404  # nothing deployed to compare with
    api.deploy(DEPLOYED)
    broken = _upload(api, SOURCE.replace('"RES", "LV"]', '"RES", "LV"', 1))
    assert broken.status_code == 422
    assert broken.json()["details"][0]["element"] == "Flow_BGW03_BUT02"
    assert _upload(api, SOURCE, applications="0").status_code == 422
    too_many = simulation_jobs.MAX_APPLICATIONS + 1
    assert _upload(api, SOURCE, applications=str(too_many)).status_code == 422
    assert _upload(api, SOURCE, user="clerk").status_code == 403
    assert api.get("/simulations/no-such-job", "analyst").status_code == 404


class Silent:
    """A launcher whose server stops before the job runs."""

    def reserve(self) -> bool:
        return True

    def release(self) -> None:
        pass

    def start(self, job_id: str) -> None:
        pass


def test_a_second_job_on_a_busy_server_is_refused_until_the_first_ends(api: Api) -> None:
    api.deploy(DEPLOYED)
    first = _upload(api, SOURCE, applications="10").json()
    assert _upload(api, SOURCE, applications="5").status_code == 503
    assert _wait(api, first["id"])["status"] == "done"
    second = _upload(api, SOURCE, applications="5")
    assert second.status_code == 202
    assert _wait(api, second.json()["id"])["status"] == "done"


def test_a_job_whose_server_stopped_is_reported_failed(api: Api) -> None:
    api.deploy(DEPLOYED)
    analyst = Principal("analyst", frozenset({"analyst"}))
    job = simulation_jobs.submit(
        api.ctx, analyst, BpmnFile("draft.bpmn", SOURCE.encode()), 5, Silent()
    )
    assert simulation_jobs.get(api.ctx, analyst, job.id).status == "queued"
    now = api.ctx.clock()
    api.ctx.clock = lambda: now + simulation_jobs.STALE_AFTER + timedelta(seconds=1)
    stale = simulation_jobs.get(api.ctx, analyst, job.id)
    assert stale.status == "failed" and "stopped" in (stale.error or "")


def test_check_warns_of_a_draft_without_a_step_the_scenario_times(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("BPMN_SIMULATION_SCENARIO_FILE", "BPMN_LANE_GROUPS_FILE"):
        monkeypatch.delenv(name, raising=False)
    draft = tmp_path / "yekuo_streamlined.bpmn"
    draft.write_text(WITHOUT_SURVEY, encoding="utf-8")
    args = ["check", "--format", "json", "--config", str(ROOT), str(draft)]
    assert main(args) == 0  # a warning: the file deploys
    findings = json.loads(capsys.readouterr().out)["findings"]
    [warning] = [f for f in findings if f["code"] == "simulation.unknown-step"]
    assert (warning["file"], warning["line"], warning["element"]) == (
        str(SCENARIO),
        entry_line(),
        "B-UT02",
    )
    assert main([*args[:-1], str(DEPLOYED)]) == 0
    assert "simulation.unknown-step" not in capsys.readouterr().out


def test_a_renamed_step_is_not_said_to_be_another_step_the_scenario_times(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A-UT04 renamed as the Modeler does: the id most like the old one is A-UT04r, which has a
    # table of its own in the scenario; renaming the entry to it would make a second one.
    for name in ("BPMN_SIMULATION_SCENARIO_FILE", "BPMN_LANE_GROUPS_FILE"):
        monkeypatch.delenv(name, raising=False)
    current = (ROOT / "processes" / "yekuo_current.bpmn").read_text(encoding="utf-8")
    draft = tmp_path / "yekuo_current.bpmn"
    draft.write_text(re.sub(r'A-UT04(?=["<_])', "A-UT04-X", current), encoding="utf-8")
    assert main(["check", "--format", "json", "--config", str(ROOT), str(draft)]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    [warning] = [
        f for f in findings if f["code"] == "simulation.unknown-step" and f["element"] == "A-UT04"
    ]
    assert "'A-UT04-X', the id most like it" in warning["hint"]
    assert "A-UT04r" not in warning["hint"]
