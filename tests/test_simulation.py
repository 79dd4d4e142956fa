"""`bpmn-service simulate`: exact totals on a tiny model, reproducibility, the §10.5 calibration,
current vs streamlined, and scenario files that must be refused (with the line at fault)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from bpmn_service.cli import main
from bpmn_service.config import Settings
from bpmn_service.engine import traversal
from bpmn_service.services.metrics import compute
from bpmn_service.simulation import Environment, ScenarioError, parse, report, run
from bpmn_service.simulation.distributions import Choice
from bpmn_service.simulation.driver import TaskRecord, handoff_count
from bpmn_service.simulation.runner import Simulation, load_models, simulate
from conftest import ROOT

SCENARIO = ROOT / "config" / "simulation.toml"
TINY_BPMN = ROOT / "bench" / "sequential6.bpmn"
CATEGORIES = ("RES", "LV", "HV_S", "HV_D")


def env() -> Environment:
    settings = Settings(
        calendar_file=ROOT / "config" / "calendar.toml",
        time_limits_file=ROOT / "config" / "time-limits.toml",
        processes_dir=ROOT / "processes",
    )
    return Environment.from_settings(settings)


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the scenario's default paths are relative, like the service's
    # The simulation runs thousands of engine steps (in worker processes forked from this one);
    # comparing each with SpiffWorkflow's own walk doubled its time. The engine tests
    # (tests/engine) check the index on the same models with the comparison on.
    monkeypatch.setattr(traversal, "VERIFY", False)


def shipped(applications: int, *, uniform_mix: bool = False) -> object:
    scenario = parse(SCENARIO.read_text(encoding="utf-8"), str(SCENARIO))
    scenario.applications = applications
    if uniform_mix:
        scenario.mix = Choice(CATEGORIES, (0.25, 0.25, 0.25, 0.25))
    return scenario


# -- a tiny process with fixed durations --------------------------------------------------

TINY = f"""
[simulation]
seed = 7
applications = 20
start_date = 2025-03-03
arrivals_per_working_day = 4.0
responsiveness_sigma = 0.0

[mix]
LV = 1.0

[processes.bench_sequential6]
file = "{TINY_BPMN}"
lead_time_end = "sign"
handoff_delay = 0.1

[processes.bench_sequential6.steps.start]
party = "customer"
duration = {{ all = 1.0 }}

[processes.bench_sequential6.steps.accept]
duration = {{ all = 0.5 }}

[processes.bench_sequential6.steps.survey]
duration = {{ all = 1 }}

[processes.bench_sequential6.steps.plan]
duration = {{ LV = 2, HV_S = 99 }}

[processes.bench_sequential6.steps.review]
duration = {{ all = 0.25 }}
decisions.reviewDecision = {{ all = {{ APPROVE = 0.5, REJECT = 0.5 }} }}

[processes.bench_sequential6.steps.inspect]
duration = {{ all = 1.5 }}

[processes.bench_sequential6.steps.sign]
duration = {{ all = 0.75 }}
"""


def test_a_tiny_process_with_fixed_durations_gives_exact_totals() -> None:
    scenario = parse(TINY, "tiny.toml")
    sim = simulate(scenario, env(), workers=1, keep_history=True)
    results = sim.outcomes["bench_sequential6"].results
    assert len(results) == 20
    for r in results:
        assert r.status == "completed", r.error
        # 1 (customer prepares) + 0.5 + 1 + 2 + 0.25 + 1.5 + 0.75 + 5 hand-offs × 0.1
        assert r.total_wd == pytest.approx(7.5, abs=1e-6)
        assert r.utility_wd == pytest.approx(6.5, abs=1e-6)
        assert r.start - r.arrival == pytest.approx(1.0, abs=1e-9)
        assert (r.procedures, r.hall_visits, r.handoffs, r.rework_loops) == (0, 0, 5, 0)
        assert [t.element for t in r.tasks] == [
            "accept",
            "survey",
            "plan",
            "review",
            "inspect",
            "sign",
        ]
        # Working days are placed on the calendar: a case spans at least its working days.
        assert r.total_cd is not None and r.total_cd >= 7.5 - 1e-6
    decisions = {t.element for r in results for t in r.tasks}
    assert "review" in decisions
    assert sim.outcomes["bench_sequential6"].missing_steps == set()


def test_hand_offs_follow_the_metrics_rule() -> None:
    """The driver's fast hand-off count agrees with services.metrics.compute."""
    from datetime import UTC, datetime, timedelta

    from bpmn_service.db.models import HistoricTask

    base = datetime(2025, 3, 3, tzinfo=UTC)
    spec = [
        ("a", ("hall_clerk",), 0, 1),
        ("b", ("customer",), 1, 2),
        ("c", ("hall_clerk",), 2, 3),
        ("d", ("om_dept",), 3, 5),
        ("e", ("dispatch",), 3, 4),
        ("f", ("om_dept",), 5, 6),
    ]
    records = [
        TaskRecord(
            id=f"t{i}",
            element=e,
            name=e,
            lane=None,
            groups=g,
            created=c,
            ended=x,
            reason="completed",
            external=g == ("customer",),
        )
        for i, (e, g, c, x) in enumerate(spec)
    ]
    rows = [
        HistoricTask(
            id=r.id,
            element_id=r.element,
            candidate_groups=list(r.groups),
            created_at=base + timedelta(days=r.created),
            ended_at=base + timedelta(days=r.ended or 0),
        )
        for r in records
    ]
    # instance_metrics passes the history ordered by (ended_at, created_at, id).
    rows.sort(key=lambda t: (t.ended_at, t.created_at, t.id))
    assert handoff_count(records) == compute("i", rows, {}).handoffs == 2


# -- reproducibility ----------------------------------------------------------------------


def _comparable(outputs: object) -> tuple[str, str]:
    rep = dict(outputs.report)  # type: ignore[attr-defined]
    rep.pop("run")
    return report.to_json(rep), report.to_csv(outputs.simulation)  # type: ignore[attr-defined]


def test_the_same_seed_gives_the_same_report_twice_whatever_the_workers() -> None:
    first = run(shipped(10), env(), workers=2, with_service_kpis=False)
    second = run(shipped(10), env(), workers=1, with_service_kpis=False)
    assert _comparable(first) == _comparable(second)
    assert first.report["errors"] == []
    other = shipped(10)
    other.seed += 1  # type: ignore[attr-defined]
    third = run(other, env(), workers=2, with_service_kpis=False)
    assert _comparable(third) != _comparable(first)


# -- calibration (§10.5) and current vs streamlined -----------------------------------------

# The shipped scenario maps §10 onto the models. P90 figures depend on tails the brief does not pin
# down; they are reported, not asserted.


def test_calibration_and_the_streamlined_process_wins_everywhere() -> None:
    outputs = run(shipped(160, uniform_mix=True), env(), workers=2, keep_database=None)
    rep = outputs.report
    assert rep["errors"] == []
    summary = rep["summary"]
    for row in rep["calibration"]:
        cell = summary[row["process"]][row["category"]]
        for measure, target_key in (
            ("total_wd", "target_total_p50"),
            ("utility_wd", "target_utility_p50"),
        ):
            stats = cell[measure]
            # Standard error of a median ≈ 1.2533 σ/√n (σ from the interquartile range);
            # 3.5 standard errors, plus 5 % for the brief's own rounding and its model.
            sigma = (stats["p75"] - stats["p25"]) / 1.349
            tolerance = 3.5 * 1.2533 * sigma / math.sqrt(stats["n"]) + 0.05 * row[target_key]
            assert abs(stats["p50"] - row[target_key]) <= tolerance, (row, measure, tolerance)
    current, streamlined = summary["yekuo_current"], summary["yekuo_streamlined"]
    for category in CATEGORIES:
        a, b = current[category], streamlined[category]
        for measure in ("procedures", "handoffs", "utility_wd"):
            assert b[measure]["mean"] < a[measure]["mean"], (category, measure)
            assert b[measure]["p50"] <= a[measure]["p50"], (category, measure)
    # The service's own analytics read the same history from the throwaway database.
    kpis = rep["service_kpis"]
    by_category = {p["category"]: p for p in kpis["yekuo_current"]["processes"]}
    assert by_category["HV_S"]["completed"] == current["HV_S"]["completed"]
    html = report.to_html(rep)
    assert "<svg" in html and "World Bank DB2018" in html and "§10.5" in html


# -- scenario files that must be refused ----------------------------------------------------


def _refused(text: str) -> str:
    scenario = parse(text, "bad.toml")
    with pytest.raises(ScenarioError) as caught:
        load_models(scenario, env())
    return str(caught.value)


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_an_unknown_step_is_refused_with_its_line() -> None:
    text = SCENARIO.read_text(encoding="utf-8").replace(
        "[processes.yekuo_current.steps.A-UT07b]", "[processes.yekuo_current.steps.A-UT07z]"
    )
    message = _refused(text)
    line = _line_of(text, "steps.A-UT07z]")
    assert f"bad.toml, line {line}:" in message and "unknown step 'A-UT07z'" in message


def test_a_negative_duration_is_refused_with_its_line() -> None:
    text = SCENARIO.read_text(encoding="utf-8").replace(
        "duration = { all = [2, 4, 8] }", "duration = { all = [2, -4, 8] }", 1
    )
    with pytest.raises(ScenarioError) as caught:
        parse(text, "bad.toml")
    line = _line_of(text, "[2, -4, 8]")
    assert f"bad.toml, line {line}:" in str(caught.value)
    assert "must not be negative" in str(caught.value)


def test_probabilities_that_do_not_add_up_are_refused_with_their_line() -> None:
    text = SCENARIO.read_text(encoding="utf-8").replace(
        "HV_S = { true = 0.6, false = 0.4 }", "HV_S = { true = 0.6, false = 0.3 }", 1
    )
    with pytest.raises(ScenarioError) as caught:
        parse(text, "bad.toml")
    line = _line_of(text, "HV_S = { true = 0.6, false = 0.3 }")
    assert f"bad.toml, line {line}:" in str(caught.value)
    assert "add up to 0.9" in str(caught.value)


def test_a_message_variable_the_model_does_not_declare_is_refused_with_its_line() -> None:
    construction = "duration = { HV_S = [10, 18, 36], HV_D = [16, 28, 55] }"
    text = SCENARIO.read_text(encoding="utf-8").replace(
        construction, f"{construction}\nvariables.inspectionPassed = true", 1
    )
    message = _refused(text)
    line = _line_of(text, "variables.inspectionPassed")
    assert f"bad.toml, line {line}:" in message
    assert "inspectionPassed is not a variable of message 'construction_finished' at K-T10" in (
        message
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("decisions.docsComplete = {", "decisions.docsDone = {"), "not a writable field"),
        (
            ("HV_S = { NONE = 0.8, LEVEL2 = 0.2 }", "HV_S = { NONE = 0.8, LEVEL9 = 0.2 }"),
            "'LEVEL9' is not an option",
        ),
        (
            ("[processes.yekuo_current.staff]", '[processes.yekuo_current.staff]\n"无此岗" = 2'),
            "unknown lane",
        ),
    ],
)
def test_fields_values_and_lanes_must_exist(change: tuple[str, str], expected: str) -> None:
    text = SCENARIO.read_text(encoding="utf-8").replace(*change, 1)
    assert expected in _refused(text)


def test_the_cli_writes_html_json_and_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    production = tmp_path / "production.db"
    monkeypatch.setenv("BPMN_DATABASE_URL", f"sqlite:///{production}")
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY, encoding="utf-8")
    code = main(
        [
            "simulate",
            "--scenario",
            str(scenario),
            "--out",
            str(tmp_path / "out"),
            "--quiet",
            "--workers",
            "1",
            "--keep-database",
            str(tmp_path / "kept.db"),
        ]
    )
    assert code == 0
    assert not production.exists()  # the history went to a throwaway database only
    assert (tmp_path / "kept.db").exists()
    out = capsys.readouterr().out
    assert "bench_sequential6" in out and "7.5" in out
    data = json.loads((tmp_path / "out" / "simulation.json").read_text(encoding="utf-8"))
    assert data["summary"]["bench_sequential6"]["LV"]["total_wd"]["p50"] == pytest.approx(7.5)
    assert (tmp_path / "out" / "simulation.csv").read_text(encoding="utf-8").count("\n") == 21
    assert "<svg" in (tmp_path / "out" / "simulation.html").read_text(encoding="utf-8")
    kpis = data["service_kpis"]["bench_sequential6"]["processes"]
    assert [(k["category"], k["completed"]) for k in kpis] == [("LV", 20)]
    assert main(["simulate", "--scenario", str(tmp_path / "missing.toml"), "--quiet"]) == 2


def test_staff_queues_make_cases_wait() -> None:
    """One customer manager for 30 applications a day: the lane queues and cases take longer."""
    free = shipped(20)
    free.processes = {"yekuo_streamlined": free.processes["yekuo_streamlined"]}  # type: ignore[attr-defined]
    queued = shipped(20)
    queued.processes = {"yekuo_streamlined": queued.processes["yekuo_streamlined"]}  # type: ignore[attr-defined]
    queued.processes["yekuo_streamlined"].staff = {"客户经理": 1}  # type: ignore[attr-defined]
    a = simulate(free, env(), workers=2)  # type: ignore[arg-type]
    b = simulate(queued, env(), workers=2)  # type: ignore[arg-type]
    lane = b.outcomes["yekuo_streamlined"].lanes["客户经理"]
    assert lane.served > 20 and lane.waited_wd > 0 and lane.max_queue > 1

    def total(sim: Simulation) -> float:
        return sum(r.utility_wd or 0 for r in sim.outcomes["yekuo_streamlined"].results)

    assert total(b) > total(a)
    assert all(r.status == "completed" for r in b.outcomes["yekuo_streamlined"].results)


def test_sensitivity_ranks_the_parameters_by_their_effect_on_the_total() -> None:
    outputs = run(
        parse(TINY, "tiny.toml"),
        env(),
        workers=1,
        with_service_kpis=False,
        with_sensitivity=True,
        sensitivity_applications=4,
    )
    rows = outputs.report["sensitivity"]["processes"]["bench_sequential6"]
    deltas = {r["parameter"]: r["delta_wd"] for r in rows}
    assert rows[0]["parameter"] == "plan duration ×1.3"
    assert deltas["plan duration ×1.3"] == pytest.approx(0.6)
    assert deltas["inspect duration ×1.3"] == pytest.approx(0.45)
    assert deltas["hand-off delay ×1.3"] == pytest.approx(0.15)
    assert deltas["review reviewDecision=APPROVE p ×1.5"] == pytest.approx(0.0)
    assert "tornado" not in report.to_html(outputs.report)  # plain SVG, no script
    assert "<svg" in report.to_html(outputs.report)


def test_without_the_recorded_paths_the_refusal_says_where_they_were_looked_for(
    tmp_path: Path,
) -> None:
    """An installation that copied processes/ without its paths/ (an image built from the
    .bpmn files alone) refused a what-if of the streamlined process with a bare 'neither a
    form field nor a message variable'; it now says which recorded paths were missing and
    where they belong."""
    for name in ("yekuo_streamlined.bpmn", "lane-groups.toml"):
        (tmp_path / name).write_bytes((ROOT / "processes" / name).read_bytes())
    bare = Environment(**{**env().__dict__, "processes_dir": tmp_path})
    full = parse(SCENARIO.read_text(encoding="utf-8"), "simulation.toml")
    # What a what-if of one process simulates: that process alone.
    scenario = replace(full, processes={"yekuo_streamlined": full.processes["yekuo_streamlined"]})
    with pytest.raises(ScenarioError) as caught:
        load_models(scenario, bare)
    message = str(caught.value)
    assert "attribute hasConcealedWorks is neither a form field nor a message variable" in message
    assert "no recorded paths were found for yekuo_streamlined" in message
    assert "<processes dir>/paths/<key>.json" in message
    # With them beside the model (as processes/ ships), the same scenario loads.
    (tmp_path / "paths").mkdir()
    source = ROOT / "processes" / "paths" / "yekuo_streamlined.json"
    (tmp_path / "paths" / "yekuo_streamlined.json").write_bytes(source.read_bytes())
    assert list(load_models(scenario, bare)) == ["yekuo_streamlined"]


def test_a_cell_whose_every_case_failed_has_every_figure_empty() -> None:
    """`simulate` crashed with KeyError 'p90' when no case of a category completed (the empty
    figures lacked the keys the calibration table reads)."""
    from bpmn_service.simulation.figures import _stats

    empty = _stats([])
    assert set(empty) == set(_stats([1.0, 2.0]))
    assert empty["n"] == 0 and empty["p90"] is None and empty["max"] is None
