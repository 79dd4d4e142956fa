"""A target that adds a branch inside a parallel region a case is in: the case's join would wait
for good for the added branch, which no token of the case can reach. The dry run warns of it as
the real run does (the case migrates, with the warning); a case before the fork or past the join
gets no warning."""

from __future__ import annotations

from kit import T0, Case, compiled


def _migrate(case: Case, dry_run: bool) -> tuple[object, object]:
    target = compiled("parallel_three")
    return case.runner.migrate(  # type: ignore[no-any-return]
        (case.name, case.load),
        ("parallel_three", lambda: target),
        case.state,
        {},
        now=T0,
        dry_run=dry_run,
    )


def test_a_join_waiting_for_an_added_branch_is_warned_of_in_the_dry_run_and_the_real_run() -> None:
    case = Case("parallel_two")
    case.start()
    case.complete("enter")
    case.complete("survey")  # check is still open
    dry, _ = _migrate(case, dry_run=True)
    real, result = _migrate(case, dry_run=False)
    assert dry.ok and real.ok and result is not None
    expected = [
        {
            "element_id": "join",
            "waiting_for": "inspect",
            "start_before": "inspect",
            "message": (
                "join will wait for the branch through inspect, which no token of this case can "
                "reach on the target (it was added where the case had passed): after migrating, "
                "start it with a modification (start_before inspect), or map the case differently"
            ),
        }
    ]
    assert dry.warnings == expected and real.warnings == expected


def test_a_case_before_the_fork_or_past_the_join_gets_no_warning() -> None:
    before = Case("parallel_two")
    before.start()
    assert _migrate(before, dry_run=True)[0].warnings == []
    past = Case("parallel_two")
    past.start()
    past.complete("enter")
    past.complete("survey")
    past.complete("check")
    assert past.open_elements == ["approve"]
    assert _migrate(past, dry_run=True)[0].warnings == []
