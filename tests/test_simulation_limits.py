"""The simulation measures the time limits the model declares (simulation/limits.py), with the
service's clock rules (limitclock.py): spans read from timeLimit.* properties, pauses, stop at
claim, the working-day due moment; a declaration moved in the model moves the measured span.

The model is tests/engine/bpmn/simulated_limits.bpmn: accept starts X-T-REPLY and X-T-VISIT;
the customer's answer to an objection pauses X-T-REPLY, the reply stops it; the claim of the
inspection visit stops X-T-VISIT."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bpmn_service.engine import traversal
from bpmn_service.simulation import Environment, ScenarioError, parse
from bpmn_service.simulation.figures import summarize
from bpmn_service.simulation.limits import CaseClocks, Measured, ProcessLimits
from bpmn_service.simulation.runner import load_models, simulate
from bpmn_service.timelimits import TimeLimits
from bpmn_service.workcalendar import WorkCalendar
from conftest import ROOT

MODEL = ROOT / "tests" / "engine" / "bpmn" / "simulated_limits.bpmn"
CALENDAR = WorkCalendar.load(ROOT / "config" / "calendar.toml")
LIMITS = """
[processes]
simulated_limits = "TEST"

[[regimes]]
name = "TEST"
version = "1"
effective_from = 2020-01-01
source = "test"

[regimes.limits]
X-T-REPLY = { RES = 5, LV = 5, HV_S = 5, HV_D = 5 }
X-T-VISIT = { LV = VISIT_DAYS }
"""


def table(tmp_path: Path, visit_days: int = 5) -> Path:
    path = tmp_path / "time-limits.toml"
    path.write_text(LIMITS.replace("VISIT_DAYS", str(visit_days)), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(traversal, "VERIFY", False)  # as tests/test_simulation.py


# -- the spans, from the declarations ---------------------------------------------------------


def test_the_spans_are_the_declarations_of_the_model() -> None:
    limits = ProcessLimits.read("simulated_limits", MODEL.read_bytes(), str(MODEL))
    assert limits.limit_ids == ("X-T-REPLY", "X-T-VISIT")
    assert limits.starts == {"accept": ("X-T-REPLY", "X-T-VISIT")}
    assert limits.stops == {"reply": ("X-T-REPLY",), "visit": ("X-T-VISIT",)}
    assert limits.claim_stops == {"visit": ("X-T-VISIT",)}
    assert limits.pauses == {"X-T-REPLY": ("customerAnswers",)}
    assert limits.watched == {"accept", "reply", "visit"}


# -- the clock rules on the virtual timeline ----------------------------------------------------


def clocks(tmp_path: Path, visit_days: int = 5) -> CaseClocks:
    from bpmn_service.simulation.clock import WorkClock

    limits = ProcessLimits.read("simulated_limits", MODEL.read_bytes(), str(MODEL))
    clock = WorkClock(CALENDAR, date(2025, 3, 3), years=2)
    return CaseClocks(limits, TimeLimits.load(table(tmp_path, visit_days)), clock, "LV")


def test_a_pause_moves_the_due_moment_as_the_service_does(tmp_path: Path) -> None:
    case = clocks(tmp_path)
    moment = case.clock.moment
    case.after_run(0.5, ["accept"], {"survey"}, active=True)
    reply, visit = case.runs
    assert reply.due_at == CALENDAR.add_working_days(moment(0.5), 5)
    assert reply.warn_at == CALENDAR.add_working_days(moment(0.5), 4)  # 80 %
    case.after_run(1.5, ["survey"], {"customerAnswers"}, active=True)
    assert (reply.status, reply.paused_at, visit.status) == ("paused", moment(1.5), "running")
    before = reply.due_at
    case.after_run(3.75, ["customerAnswers"], {"survey"}, active=True)
    # The working days left when it paused, counted again from the resumption.
    left = CALENDAR.working_days_between(moment(1.5), before)
    assert reply.status == "running"
    assert reply.due_at == CALENDAR.add_working_days(moment(3.75), left)
    case.claim("reply-task", "reply", 4.5)  # not a claim that stops anything
    case.after_run(4.75, ["survey", "reply"], {"visit"}, active=True)
    case.claim("visit-task", "visit", 4.85)  # claimed after a hand-off
    assert reply.status == "met" and visit.status == "running"
    case.after_run(5.85, ["visit"], set(), active=False)
    assert case.measured() == [
        Measured("X-T-REPLY", pytest.approx(4.75 - 0.5 - 2.25), 5.0, True),
        Measured("X-T-VISIT", pytest.approx(4.85 - 0.5), 5.0, True),
    ]
    assert visit.stopped_at == moment(4.85)  # at the claim, not at the completion


def test_a_clock_past_its_end_does_not_pause_and_stops_breached(tmp_path: Path) -> None:
    case = clocks(tmp_path, visit_days=1)
    case.after_run(0.5, ["accept"], {"survey"}, active=True)
    visit = case.runs[1]
    due = visit.due_at  # the end of the next working day
    assert case.clock.position(due) == pytest.approx(2.0)
    case.after_run(2.5, ["survey"], {"customerAnswers"}, active=True)
    assert visit.breached_at == due  # at its instant, as the scheduler fires it
    assert case.runs[0].status == "paused"
    case.after_run(3.0, ["customerAnswers", "survey", "reply"], {"visit"}, active=True)
    case.after_run(3.5, ["visit"], set(), active=False)
    assert [(m.limit_id, m.met) for m in case.measured()] == [
        ("X-T-REPLY", True),
        ("X-T-VISIT", False),
    ]


def test_a_withdrawn_task_is_never_claimed_and_a_restart_is_a_new_run(tmp_path: Path) -> None:
    case = clocks(tmp_path)
    case.after_run(0.5, ["accept"], {"visit"}, active=True)
    case.claim("gone", "visit", 2.0)
    case.withdraw("gone", 1.0)  # withdrawn by the engine before the clerk began
    case.after_run(3.0, [], {"visit"}, active=True)
    assert case.runs[1].status == "running"
    case.after_run(4.0, ["visit"], {"accept"}, active=True)  # stopped at completion
    case.after_run(5.0, ["accept"], set(), active=True)  # started again: a second run
    case.after_run(6.0, ["visit"], set(), active=False)
    visits = [m for m in case.measured() if m.limit_id == "X-T-VISIT"]
    assert [m.elapsed_wd for m in visits] == [pytest.approx(3.5), pytest.approx(1.0)]


# -- the simulation, end to end ---------------------------------------------------------------

SCENARIO = """
[simulation]
seed = 11
applications = 8
start_date = 2025-03-03
arrivals_per_working_day = 2.0
responsiveness_sigma = 0.0

[mix]
LV = 1.0

[processes.simulated_limits]
file = "MODEL"
lead_time_end = "visit"
handoff_delay = 0.1

[processes.simulated_limits.steps.accept]
duration = { all = 0.5 }

[processes.simulated_limits.steps.survey]
duration = { all = 1 }
decisions.objection = { all = { true = 1.0 } }
again.objection = { all = { false = 1.0 } }

[processes.simulated_limits.steps.customerAnswers]
duration = { all = 2 }

[processes.simulated_limits.steps.reply]
duration = { all = 0.25 }

[processes.simulated_limits.steps.visit]
duration = { all = 1 }
"""


def run(tmp_path: Path, model: str | None = None, visit_days: int = 5) -> list[list[Measured]]:
    path = MODEL
    if model is not None:
        path = tmp_path / "simulated_limits.bpmn"
        path.write_text(model, encoding="utf-8")
    env = Environment(
        calendar_file=ROOT / "config" / "calendar.toml",
        time_limits_file=table(tmp_path, visit_days),
        lane_groups_file=ROOT / "processes" / "lane-groups.toml",
        processes_dir=tmp_path,
    )
    scenario = parse(SCENARIO.replace("MODEL", str(path)), "limits.toml")
    sim = simulate(scenario, env, workers=1)
    results = sim.outcomes["simulated_limits"].results
    assert all(r.status == "completed" for r in results), [r.error for r in results]
    summary = summarize(sim)["simulated_limits"]["LV"]["time_limits"]
    for limit_id, entry in summary.items():
        runs = [m for r in results for m in r.sla if m.limit_id == limit_id]
        assert entry["n"] == len(runs) and entry["cases"] == len(results)
        assert entry["share_met"] == sum(m.met for m in runs) / len(runs)
    return [r.sla for r in results]


def spans(measured: list[list[Measured]]) -> set[tuple[str, float, bool]]:
    return {(m.limit_id, round(m.elapsed_wd, 6), m.met) for case in measured for m in case}


def test_the_simulation_measures_pauses_and_the_stop_at_claim(tmp_path: Path) -> None:
    # X-T-REPLY: survey 1 + the customer's 2 (paused) + survey 1 + reply 0.25.
    # X-T-VISIT: the same 4.25 and the hand-off to the inspector, 0.1, until the claim.
    assert spans(run(tmp_path)) == {("X-T-REPLY", 2.25, True), ("X-T-VISIT", 4.35, True)}
    # A 3-day limit ends before the claim (the start day does not count): every case breaches.
    assert spans(run(tmp_path, visit_days=3)) == {
        ("X-T-REPLY", 2.25, True),
        ("X-T-VISIT", 4.35, False),
    }


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # The reply limit's stop moved to the survey: it stops at the first survey.
        (
            '<camunda:property name="timeLimit.stop" value="X-T-REPLY" />',
            "",
            {("X-T-REPLY", 1.0, True), ("X-T-VISIT", 4.35, True)},
        ),
        # The visit limit measured to the end of the visit instead of its claim.
        (
            'name="timeLimit.stopAtClaim" value="X-T-VISIT"',
            'name="timeLimit.stop" value="X-T-VISIT"',
            {("X-T-REPLY", 2.25, True), ("X-T-VISIT", 5.35, True)},
        ),
        # No pause declared: the customer's two days count.
        (
            '<camunda:property name="timeLimit.pause" value="X-T-REPLY" />',
            "",
            {("X-T-REPLY", 4.25, True), ("X-T-VISIT", 4.35, True)},
        ),
    ],
)
def test_a_moved_declaration_moves_the_measured_span(
    tmp_path: Path, old: str, new: str, expected: set[tuple[str, float, bool]]
) -> None:
    text = MODEL.read_text(encoding="utf-8")
    assert old in text
    changed = text.replace(old, new, 1)
    if not new and "timeLimit.stop" in old:
        survey = 'id="survey" name="Survey the site" camunda:candidateGroups="hall_clerk">'
        opening = f"{survey}\n      <bpmn:extensionElements>"
        assert opening in changed
        changed = changed.replace(
            opening,
            opening
            + '\n        <camunda:properties>\n          <camunda:property name="timeLimit.stop"'
            + ' value="X-T-REPLY" />\n        </camunda:properties>',
            1,
        )
    assert spans(run(tmp_path, changed, visit_days=8)) == expected


# -- what a scenario or a model may not say ---------------------------------------------------


def test_the_old_time_limit_tables_are_refused_with_their_line() -> None:
    text = SCENARIO.replace("MODEL", str(MODEL)) + (
        "\n[processes.simulated_limits.time_limits]\n"
        'X-T-REPLY = { from = "accept", to = "reply" }\n'
    )
    with pytest.raises(ScenarioError) as caught:
        parse(text, "old.toml")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.endswith(".time_limits]"))
    assert f"old.toml, line {line}:" in str(caught.value)
    assert "declares" in str(caught.value) and "timeLimit.start" in str(caught.value)


def test_a_limit_the_table_does_not_know_is_refused_at_its_line_in_the_model(
    tmp_path: Path,
) -> None:
    text = (
        MODEL.read_text(encoding="utf-8")
        .replace('value="X-T-REPLY, X-T-VISIT"', 'value="X-T-REPLY, X-T-VISIT, X-T-TYPO"')
        .replace('value="X-T-VISIT"', 'value="X-T-VISIT, X-T-TYPO"')
    )
    path = tmp_path / "typo.bpmn"
    path.write_text(text, encoding="utf-8")
    env = Environment(
        calendar_file=ROOT / "config" / "calendar.toml",
        time_limits_file=table(tmp_path),
        lane_groups_file=ROOT / "processes" / "lane-groups.toml",
        processes_dir=tmp_path,
    )
    scenario = parse(SCENARIO.replace("MODEL", str(path)), "limits.toml")
    with pytest.raises(ScenarioError) as caught:
        load_models(scenario, env)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "X-T-TYPO" in row)
    message = str(caught.value)
    assert f"{path}:{line} [accept]" in message, message  # where it is first declared
    assert "X-T-TYPO is not a row of TEST v1" in message
    assert message.startswith("limits.toml, line ")
