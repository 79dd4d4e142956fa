"""Repairs and migrations on the engine: a case stranded by a faulty gateway is moved or migrated
to a fixed version and completes; what cannot be migrated is reported and nothing changes."""

from __future__ import annotations

import pytest
from kit import BPMN, T0, Case, compiled

from bpmn_service.engine import compile_bpmn
from bpmn_service.engine.repair import Instruction
from bpmn_service.errors import Invalid, InvalidState, WorkflowFailed


def _stranded() -> Case:
    case = Case("intake_faulty")
    case.start()
    with pytest.raises(WorkflowFailed, match="decide"):
        case.complete("enter", verdict="yes")  # the gateway reads `decision`, never written
    assert case.open_elements == ["enter"]  # nothing changed
    return case


def test_a_stranded_case_migrates_to_the_fixed_version_keeping_its_task() -> None:
    case = _stranded()
    fixed = compiled("intake_fixed")
    enter = case.ready("enter").id
    target = ("intake_fixed", lambda: fixed)
    source = (case.name, case.load)
    state = case.state
    dry, preview = case.runner.migrate(source, target, state, {}, now=T0, dry_run=True)
    # The dry run migrated a copy: what the real run's tasks would be; the state is the same.
    assert dry.ok and preview is not None and case.state == state
    assert [(t.element_id, t.id) for t in preview.ready_tasks] == [("enter", enter)]
    assert dry.mapped == [
        {"element_id": "enter", "target_element_id": "enter", "kind": "user_task"}
    ]
    found, result = case.runner.migrate(source, target, case.state, {}, now=T0, dry_run=False)
    assert found.ok and result is not None
    assert [(t.element_id, t.id) for t in result.ready_tasks] == [("enter", enter)]
    case.name, case.spec_json = "intake_fixed", fixed
    case.result = result
    assert case.complete("enter", verdict="yes").ready_tasks[0].element_id == "approve"
    assert case.complete("approve").completed


def test_a_renamed_element_aligns_and_what_cannot_migrate_is_reported() -> None:
    case = _stranded()
    renamed = compiled("intake_fixed").replace('"enter"', '"enter_v3"')
    target = ("renamed", lambda: renamed)
    source = (case.name, case.load)
    found, result = case.runner.migrate(
        source, target, case.state, {"enter": "nowhere"}, now=T0, dry_run=False
    )
    assert result is None and not found.ok
    [problem] = found.problems
    assert problem.element_id == "enter" and "no element nowhere" in problem.message
    # SpiffWorkflow's SpecDiff aligns the renamed task by its neighbours.
    found, result = case.runner.migrate(source, target, case.state, {}, now=T0, dry_run=False)
    assert found.ok and result is not None
    assert [t.element_id for t in result.ready_tasks] == ["enter_v3"]


def test_a_modification_moves_a_case_past_the_failing_gateway() -> None:
    case = _stranded()
    result = case.runner.modify(
        case.name,
        case.load,
        case.state,
        [Instruction("cancel", "enter"), Instruction("start_before", "approve")],
        now=T0,
    )
    assert [t.element_id for t in result.ready_tasks] == ["approve"]
    case.result = result
    assert case.complete("approve").completed


def test_set_variables_reaches_the_gateway_and_records_old_values() -> None:
    case = _stranded()
    result, before = case.runner.set_variables(
        case.name, case.load, case.state, {"decision": "yes"}, now=T0
    )
    assert before == {"decision": None} and result.variables["decision"] == "yes"
    case.result = result
    assert case.complete("enter", verdict="yes").ready_tasks[0].element_id == "approve"


def test_bad_instructions_are_refused_naming_the_element() -> None:
    case = _stranded()
    with pytest.raises(InvalidState, match="approve has no active token"):
        case.runner.modify(
            case.name, case.load, case.state, [Instruction("cancel", "approve")], now=T0
        )
    # an id the process does not have is not a state of the case: 422, not 409
    with pytest.raises(Invalid, match="element NOPE is not part of this process version") as bad:
        case.runner.modify(
            case.name, case.load, case.state, [Instruction("cancel", "NOPE")], now=T0
        )
    assert not isinstance(bad.value, InvalidState)
    with pytest.raises(Invalid, match="nowhere is not part"):
        case.runner.modify(
            case.name,
            case.load,
            case.state,
            [Instruction("cancel", "enter"), Instruction("start_before", "nowhere")],
            now=T0,
        )


def test_starting_a_multi_instance_element_without_its_collection_names_both() -> None:
    """A start_before of a multi-instance element whose collection is not set was a Python
    TypeError naming no element; it names the element and the variable to set."""
    case = Case("signers")
    case.start(signer_list=["a"])
    case.result, _before = case.runner.set_variables(
        case.name, case.load, case.state, {"signer_list": None}, now=T0
    )
    with pytest.raises(Invalid) as refused:
        case.runner.modify(
            case.name,
            case.load,
            case.state,
            [Instruction("cancel", "sign"), Instruction("start_before", "sign")],
            now=T0,
        )
    assert refused.value.details == {"element_id": "sign"}
    assert "multi-instance collection 'signer_list' is not set" in str(refused.value)


def test_a_changed_element_type_is_reported_in_bpmn_words() -> None:
    case = Case("late_note_untimed")
    case.start(amount=5)
    case.complete("enter")
    xml = (BPMN / "late_note_untimed.bpmn").read_bytes()
    gateway = xml.replace(
        b'<bpmn:userTask id="review" name="Review" camunda:candidateGroups="hall_clerk"/>',
        b'<bpmn:exclusiveGateway id="review" name="Review"/>',
    )
    assert gateway != xml
    target = compile_bpmn(gateway, "late_note.bpmn", lambda _key, _lane: True).spec_json
    plan, _ = case.runner.migrate(
        (case.name, case.load), ("gateway", lambda: target), case.state, {}, now=T0, dry_run=True
    )
    [problem] = plan.problems
    assert problem.message == (
        "review is a user task in the source and review an exclusive gateway in the target"
    )


def test_a_step_mapped_onto_an_external_service_task_is_named_as_one() -> None:
    case = Case("late_note_untimed")
    case.start(amount=5)
    case.complete("enter")
    xml = (BPMN / "late_note_untimed.bpmn").read_bytes()
    external = xml.replace(
        b'<bpmn:userTask id="review" name="Review" camunda:candidateGroups="hall_clerk"/>',
        b'<bpmn:serviceTask id="review" name="Review" camunda:type="external" '
        b'camunda:topic="review"/>',
    )
    assert external != xml
    target = compile_bpmn(external, "late_note.bpmn", lambda _key, _lane: True).spec_json
    plan, _ = case.runner.migrate(
        (case.name, case.load), ("external", lambda: target), case.state, {}, now=T0, dry_run=True
    )
    [problem] = plan.problems
    assert problem.message == (
        "review is a user task in the source and review an external-task service task in the target"
    )
