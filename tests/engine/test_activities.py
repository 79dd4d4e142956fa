"""Where a case stands, read from the engine: the active-element tree and current variables."""

from __future__ import annotations

from typing import Any

from kit import Case


def _tree(case: Case) -> list[dict[str, Any]]:
    nodes = case.runner.activities(case.name, case.load, case.state)

    def plain(node: Any) -> dict[str, Any]:
        return {
            "element_id": node.element_id,
            "kind": node.kind,
            **node.details,
            "children": [plain(c) for c in node.children],
        }

    return [plain(n) for n in nodes]


def test_a_task_with_boundary_timers_shows_the_task_and_each_timer_due() -> None:
    case = Case("boundary_timer")
    case.start()
    assert _tree(case) == [
        {"element_id": "review", "kind": "user_task", "children": []},
        {"element_id": "late", "kind": "timer", "due": "2026-03-04T09:00:00+00:00", "children": []},
        {
            "element_id": "nudge",
            "kind": "timer",
            "due": "2026-03-03T09:00:00+00:00",
            "children": [],
        },
    ]


def test_a_multi_instance_body_holds_its_instances() -> None:
    case = Case("signers")
    case.start(signer_list=["a", "b"])
    [body] = _tree(case)
    assert body["kind"] == "multi_instance" and body["element_id"] == "sign"
    [node] = case.runner.activities(case.name, case.load, case.state)
    assert node.name == "Sign"
    assert [c["kind"] for c in body["children"]] == ["user_task", "user_task"]


def test_message_waits_name_their_message_and_event_subprocess_starts_listen() -> None:
    case = Case("message_wait")
    case.start()
    assert _tree(case) == [
        {
            "element_id": "wait_payment",
            "kind": "message_wait",
            "message_name": "paid",
            "children": [],
        },
        {
            "element_id": "cancel_start",
            "kind": "message_wait",
            "message_name": "cancel",
            "event_subprocess": True,
            "children": [],
        },
    ]
    case.deliver("paid", amount=5)
    assert case.result is not None and case.result.completed
    assert _tree(case) == []


def test_a_script_on_a_branch_that_ended_is_visible_while_the_case_runs() -> None:
    case = Case("boundary_timer")
    case.start(order="A-1")
    result = case.wait(hours=25)  # the non-interrupting nudge's script ran; review is still open
    assert case.open_elements == ["review"]
    assert result.variables == {"order": "A-1", "nudged": True}
    assert case.complete("review", verdict="ok").variables == {
        "order": "A-1",
        "nudged": True,
        "verdict": "ok",
    }
