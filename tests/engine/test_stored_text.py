"""How a stored state is written (serialization.StateSerializer.stored_text): a plain workflow by
orjson, any other by SpiffWorkflow's writer; both texts load to the same workflow."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from kit import T0, Case

from bpmn_service.engine import warm
from bpmn_service.engine.serialization import SERIALIZER, dump_state, load_state, spec_from_json

CHINESE = "国网湖北电力 业扩报装 𠀾"  # an astral-plane character too


def _loaded(case: Case) -> Any:
    spec, subs = spec_from_json(case.spec_json)
    return load_state(case.state, spec, subs)


def test_a_plain_workflow_is_written_compact_with_its_characters_as_they_are() -> None:
    case = Case("rework_loop")
    case.start(name=CHINESE, due=T0, wait=timedelta(days=2, seconds=5), amounts=[1.5e-7, 2**63 - 1])
    assert CHINESE in case.state  # not \\u escapes
    assert case.state.startswith('{"') and '": ' not in case.state
    workflow = _loaded(case)
    assert warm.plain(workflow)
    standard = SERIALIZER.stored_text(workflow, plain=False)
    assert json.loads(standard) == json.loads(case.state)  # the same values, the same types
    assert len(case.state.encode()) < len(standard.encode())
    data = workflow.last_task.data if workflow.last_task else workflow.task_tree.data
    assert (data["due"], data["wait"]) == (T0, timedelta(days=2, seconds=5))


def _nested(depth: int) -> Any:
    value: Any = "end"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "value",
    [2**70, _nested(300), uuid4(), float("inf")],
    ids=["beyond-64-bits", "nested-300", "uuid", "infinity"],
)
def test_what_orjson_cannot_write_as_json_does_is_written_by_spiffworkflows_writer(
    value: Any,
) -> None:
    case = Case("rework_loop")
    case.start(odd=value, name=CHINESE)
    # Not plain (a UUID, a number that is not finite) or beyond orjson (an integer beyond 64
    # bits, nesting beyond 254 levels): the standard library's text, escapes and all, as
    # SpiffWorkflow writes it.
    assert CHINESE not in case.state and '"name": "' in case.state
    workflow = _loaded(case)
    if isinstance(value, int | list):  # plain, and orjson refuses it: the fallback
        assert warm.plain(workflow)
        assert dump_state(workflow) == case.state
    assert str(SERIALIZER.serialize_json(workflow)) == case.state


def test_a_uuid_or_a_value_that_is_not_finite_is_not_plain() -> None:
    # (NaN is neither, as Infinity: a run's answer holding NaN never equals itself, so the
    # kit's step check cannot take it.)
    for value in (uuid4(), float("inf"), {"deep": [float("-inf")]}):
        case = Case("rework_loop")
        case.start(odd=value)
        assert not warm.plain(_loaded(case)), value
