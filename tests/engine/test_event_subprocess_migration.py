"""Migrating cases whose tokens are inside a running event subprocess, and finishing such runs
where the spec was loaded afresh.

`event_scopes` works on a case (`work`) beside two message event subprocesses: `query`
(non-interrupting: `answer`, then `confirm`) and `withdrawal` (interrupting: `refund`). Every
step is stored and loaded again (kit.Case).
"""

from __future__ import annotations

from kit import BPMN, T0, Case

from bpmn_service.engine import ProcessRunner, RunResult, SpecCache, compile_bpmn

SOURCE = (BPMN / "event_scopes.bpmn").read_text()


def _finish(case: Case, *elements: str) -> None:
    for element in elements:
        case.complete(element)
    assert case.result is not None and case.result.completed


def test_a_run_ends_on_a_server_that_loaded_the_spec_afresh() -> None:
    """A run waiting at a task failed when it ended after a restart (or on another server
    process): the event subprocess's task wanted an incoming flow, which only a trigger in the
    same server process had connected in the cached spec."""
    case = Case("event_scopes")
    case.start()
    case.deliver("query", asked="why")
    case.runner = ProcessRunner(SpecCache())  # the next call is served by a fresh process
    case.complete("answer")
    case.runner = ProcessRunner(SpecCache())
    case.complete("confirm")
    assert case.open_elements == ["work"]
    _finish(case, "work")


def _compiled(text: str) -> str:
    return compile_bpmn(text.encode(), "event_scopes.bpmn", lambda _key, _lane: True).spec_json


def _renamed(text: str, old: str, new: str) -> str:
    for attribute in ("id", "sourceRef", "targetRef", "bpmnElement"):
        text = text.replace(f'{attribute}="{old}"', f'{attribute}="{new}"')
    return text


def _migrate(case: Case, target_json: str, mapping: dict[str, str]) -> RunResult:
    target = ("event_scopes_v2", lambda: target_json)
    source = (case.name, case.load)
    dry, _none = case.runner.migrate(source, target, case.state, mapping, now=T0, dry_run=True)
    assert dry.ok, dry.problems
    found, result = case.runner.migrate(source, target, case.state, mapping, now=T0, dry_run=False)
    assert found.ok and result is not None, found.problems
    assert found.mapped == dry.mapped
    case.name, case.spec_json = "event_scopes_v2", target_json
    return case._checked(result)


def test_a_case_inside_a_running_event_subprocess_migrates_with_a_mapped_task() -> None:
    case = Case("event_scopes")
    case.start()
    case.deliver("query", asked="why")
    answer = case.ready("answer").id
    target = _compiled(_renamed(SOURCE, "answer", "answer_v2"))
    result = _migrate(case, target, {"answer": "answer_v2"})
    assert case.ready("answer_v2").id == answer
    assert result.variables["asked"] == "why"
    _finish(case, "answer_v2", "confirm", "work")


def test_a_renamed_event_subprocess_maps_with_its_running_run() -> None:
    """The run was looked up under its old name in the target, and refused as missing."""
    case = Case("event_scopes")
    case.start()
    case.deliver("query", asked="why")
    answer = case.ready("answer").id
    target = _compiled(_renamed(SOURCE, "query", "query_v2"))
    found, _none = case.runner.migrate(
        (case.name, case.load),
        ("v2", lambda: target),
        case.state,
        {"query": "query_v2"},
        now=T0,
        dry_run=True,
    )
    assert found.ok, found.problems
    assert {"element_id": "query", "target_element_id": "query_v2", "kind": "subprocess"} in (
        found.mapped
    )
    _migrate(case, target, {"query": "query_v2"})
    assert case.ready("answer").id == answer
    case.deliver("query", asked="again")  # the target's event subprocess listens
    assert case.open_elements == ["answer", "answer", "work"]
    for element in ("answer", "answer", "confirm", "confirm"):
        case.complete_instance(element)
    _finish(case, "work")


def test_a_case_in_an_interrupting_event_subprocess_migrates_and_completes() -> None:
    case = Case("event_scopes")
    case.start()
    case.deliver("withdraw")
    assert case.open_elements == ["refund"]
    target = _compiled(_renamed(SOURCE, "refund", "refund_fee"))
    _migrate(case, target, {"refund": "refund_fee"})
    _finish(case, "refund_fee")
