"""Camunda 7's process variables set by the engine itself: camunda:initiator on the start event,
camunda:errorCodeVariable / errorMessageVariable on an error catch, and the multi-instance
counters (nrOfInstances, nrOfCompletedInstances, nrOfActiveInstances, loopCounter) in a
completion condition. Each step is saved and restored (kit.Case)."""

from __future__ import annotations

from kit import T0, Case


def test_camunda_initiator_names_the_variable_that_gets_the_starting_user() -> None:
    case = Case("initiator_start")
    result = case.start(businessKey="K-1", initiator="alice")
    assert case.ready("fix").assignee == "alice"
    assert result.variables["starter"] == "alice" and result.variables["initiator"] == "alice"


def _error(case: Case, code: str, message: str | None, **variables: object) -> None:
    assert case.result is not None
    (work,) = case.result.external_tasks
    case._checked(
        case.runner.throw_error(
            case.name, case.load, case.state, work.id, code, variables, now=T0, message=message
        )
    )


def test_a_workers_error_sets_the_catchs_code_and_message_variables() -> None:
    case = Case("error_variables")
    case.start()
    _error(case, "UNLICENSED", "licence expired", reason="r1")
    # The gateway after the boundary event reads errCode: the case took its path.
    assert case.open_elements == ["fix"]
    variables = case.result.variables if case.result else {}
    assert variables["errCode"] == "UNLICENSED"
    assert variables["errMsg"] == "licence expired"
    assert variables["reason"] == "r1"
    other = Case("error_variables")
    other.start()
    _error(other, "TIMEOUT", None)
    assert other.open_elements == ["fix2"]
    assert other.result is not None
    assert other.result.variables["errCode"] == "TIMEOUT"
    assert other.result.variables["errMsg"] is None


def test_an_error_end_event_sets_the_catchs_code_variable() -> None:
    case = Case("error_variables")
    case.start()
    (work,) = case.result.external_tasks if case.result else ()
    result = case._checked(
        case.runner.complete(case.name, case.load, case.state, work.id, {}, "worker", now=T0)
    )
    # The subprocess ended with the error UNLICENSED, caught by the boundary event on it.
    assert case.open_elements == ["redo"]
    assert result.variables["subCode"] == "UNLICENSED" and result.variables["subMsg"] is None
    assert "errCode" not in result.variables


def test_multi_instance_counters_in_the_completion_condition() -> None:
    case = Case("mi_counters")
    case.start(signers=["a", "b", "c", "d"], reviewers=["x", "y", "z"])
    assert case.open_elements == ["cosign"] * 4
    case.complete_instance("cosign")
    assert case.open_elements == ["cosign"] * 3  # 1 of 4 done: not yet half
    case.complete_instance("cosign")  # 2 of 4: the other two are withdrawn
    assert case.open_elements == ["review"]
    assert case.ready("review").candidate_groups == ["x"]
    case.complete("review")  # loopCounter 0
    assert case.ready("review").candidate_groups == ["y"]
    result = case.complete("review")  # loopCounter 1 of 3 instances: done
    assert result.completed
    assert not {"nrOfInstances", "nrOfCompletedInstances", "loopCounter"} & set(result.variables)
