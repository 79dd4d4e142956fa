"""Values that enter a case from BPMN text are checked where they are made: a script line or an
expression giving text no answer or database could hold (a lone surrogate, a NUL) fails the step
as WorkflowFailed naming the element and the variable (nothing of the run is kept), instead of
being stored and breaking every later read of the case."""

from __future__ import annotations

import pytest
from kit import BPMN, T0

from bpmn_service.engine import ProcessRunner, SpecCache, compile_bpmn
from bpmn_service.engine.expressions import ExpressionError, ExpressionEvaluator
from bpmn_service.errors import InvalidBpmn, WorkflowFailed


def run(text: str, **variables: object) -> object:
    spec = compile_bpmn(text.encode(), "x.bpmn", lambda _key, _lane: True).spec_json
    return ProcessRunner(SpecCache()).start("x", lambda: spec, dict(variables), now=T0)


def scripted(script: str) -> str:
    return (BPMN / "endless_loop.bpmn").read_text().replace("n = n + 1", script)


@pytest.mark.parametrize(
    ("script", "says"),
    [
        (r"n = '\ud800'", r"n holds a lone surrogate ('\ud800')"),
        (r"n = 'a\x00b'", "n holds a NUL character"),
        (r"n = ['ok', '\udfff']", "n[1] holds a lone surrogate"),
        (r"n = {'a': {'b': ['\x00']}}", "n['a']['b'][0] holds a NUL"),
        (r"n = {'k\ud800': 1}", "n has a key that holds a lone surrogate"),
        ("m = 'ok'\nn = m + '\\x00'", "n holds a NUL character"),
    ],
)
def test_a_script_value_that_is_not_text_fails_naming_the_element_and_variable(
    script: str, says: str
) -> None:
    with pytest.raises(WorkflowFailed) as raised:
        run(scripted(script), n=0, limit=0)
    assert raised.value.details == {"element": "count"}
    assert says in raised.value.message
    assert "\ud800" not in raised.value.message  # the message itself is text


def test_ordinary_text_in_scripts_still_works() -> None:
    text = scripted("s = '验收 ok \\u00e9'\nm = {'键': ['a', 'b']}")
    result = run(text, n=0, limit=0)
    assert result.variables["s"] == "验收 ok é"  # type: ignore[attr-defined]
    assert result.variables["m"] == {"键": ["a", "b"]}  # type: ignore[attr-defined]


def test_any_expression_giving_such_text_is_refused_by_the_evaluator() -> None:
    # A multi-instance collection must name a variable (checked at deploy), and conditions give
    # booleans; every other expression (timers, due dates, message keys) gives its result here.
    evaluator = ExpressionEvaluator()
    with pytest.raises(ExpressionError, match=r"the result\[1\] holds a NUL character"):
        evaluator.evaluate("${['a', 'b\\x00']}", {})
    assert evaluator.evaluate("${x}", {"x": ["a"]}) == ["a"]


# What a script line assigns is kept as a JSON value: anything that is not one (deep inside too)
# fails the step naming the element, the variable and where in it, instead of a 500 when the
# case is stored (a function in a list) or a value silently changed ({1: 'a', '1': 'b'} stored
# as {'1': 'b'}, None as the key "null").
@pytest.mark.parametrize(
    ("script", "says"),
    [
        ("n = {1: 'a', '1': 'b'}", "n has a key that is not text (1)"),
        ("n = {'a': [{None: 1}]}", "n['a'][0] has a key that is not text (None)"),
        ("n = {(1, 2): 3}", "n has a key that is not text ((1, 2))"),
        ("n = {True: 1}", "n has a key that is not text (True)"),
        ("n = [b'abc']", "n[0] is b'abc', a bytes"),
        ("n = 1j", "n is 1j, a complex"),
        ("n = ...", "n is Ellipsis, a ellipsis"),
        ("d = {'a': 1}\nn = d.keys()", "n is dict_keys(['a']), a dict_keys"),
        ("d = {'a': 1}\nn = {'x': d.items()}", "n['x'] is dict_items"),
    ],
)
def test_a_script_value_that_is_no_json_value_fails_naming_the_element_and_variable(
    script: str, says: str
) -> None:
    with pytest.raises(WorkflowFailed) as raised:
        run(scripted(script), n=0, limit=0)
    assert raised.value.details == {"element": "count"}
    assert says in raised.value.message
    assert "a case can store" in raised.value.message or "keys of an object" in raised.value.message


@pytest.mark.parametrize("script", ["n = {'f': len}", "n = [1, now]"])
def test_a_function_inside_a_script_value_is_refused_at_deploy(script: str) -> None:
    """A function is no value anywhere in one (it was a 500 when the case was stored); the
    interpreter's check refuses it where it is written, before any case runs it."""
    with pytest.raises(InvalidBpmn, match="a function is not a value"):
        run(scripted(script), n=0, limit=0)


def test_json_values_times_and_durations_from_scripts_still_work() -> None:
    text = scripted("m = {'a': [1, 2.5, True, None, 'x', (1, 2)]}\nt = now()\nn = 1")
    result = run(text, n=0, limit=0)
    assert result.variables["m"] == {"a": [1, 2.5, True, None, "x", (1, 2)]}  # type: ignore[attr-defined]
