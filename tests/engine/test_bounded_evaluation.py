"""The expression evaluator bounds every operation's time and memory (engine/bounded_eval.py):
each hostile expression below is refused with ExpressionError before it computes much. How long
each refusal takes is measured by bench/bounded_refusals.py, not asserted here."""

from __future__ import annotations

from typing import Any

import pytest

from bpmn_service.engine.bounded_eval import deep_len
from bpmn_service.engine.expressions import ExpressionError, ExpressionEvaluator

EVALUATOR = ExpressionEvaluator()

# (expression, what the refusal says); each would take seconds to hours or gigabytes unbounded.
HOSTILE = [
    ("round(1, -10**7)", "round to more than 400 digits"),
    ("round(1.5, 10**9)", "round to more than 400 digits"),
    ("'%0100000000d' % 1", "width or precision over 100000"),
    ("'%.100000000f' % 1.5", "width or precision over 100000"),
    ("'%*d' % [100000000, 1]", "'*' width or precision"),
    ("'%s%s' % (big, big)", "longer than 100000 characters"),
    ("('x' * 99999).join(['a'] * 99999)", "longer than 100000 characters"),
    ("('x' * 99999).join('y' * 99999)", "longer than 100000 characters"),
    ("('a' * 99999).replace('a', 'b' * 99999)", "longer than 100000 characters"),
    ("('a' * 99999).replace('', 'bbbb')", "longer than 100000 characters"),
    ("[1] * 10**9", "will not evaluate something that long"),
    ("[[1] * 99999] * 99999", "builds more than"),
    ("[('x' * 99999) for c in 'y' * 9999]", "builds more than"),
    ("{c: 'x' * 99999 for c in 'abcdefghij' * 900}", "builds more than"),
    ("[[a for a in 'x' * 9999] for b in 'x' * 9999]", "too many elements"),
    ("+".join(["1"] * 3000), "nests deeper than"),
    ("(" * 1000 + "1" + ")" * 1000, "nested"),
    ("10.0 ** 999", "OverflowError"),
    ("float('nan')", "not a finite number"),
    ("float('1e400')", "not a finite number"),
    ("len", "a function is not a value"),
    # C loops over large operands are charged to the step budget (item by item).
    ("len(sum([[1]] * 99999, []))", "sum adds numbers only"),
    ("sum(['a', 'b'])", "sum adds numbers only"),
    ("len([max(l) for c in 'x' * 9999])", "more than 300000 evaluation steps"),
    ("len([l.count(0) for c in 'x' * 9999])", "more than 300000 evaluation steps"),
    ("len([5 in l for c in 'x' * 9999])", "more than 300000 evaluation steps"),
    ("len([l == l for c in 'x' * 9999])", "more than 300000 evaluation steps"),
    ("len([l[1:] for c in 'x' * 9999])", "more than 300000 evaluation steps"),
    ("len([sorted(l) for c in 'x' * 9999])", "more than 300000 evaluation steps"),
    ("len([big.count('y') for c in 'x' * 9999])", "more than 300000 evaluation steps"),
    # Methods through a type or function escaped the bounds of str.join and str.replace.
    ("len(str.join('x' * 99999, ['a'] * 20000))", "methods are called on values"),
    ("str.replace('a' * 99999, 'a', 'b' * 99999)", "methods are called on values"),
    ("max([['a'] * 9], key=('x' * 99999).join)", "is not a value; call it"),
    ("sorted(['a'], key=len)", "a function is not a value"),
    # A function's text would show a memory address.
    ("str(now)", "a function is not a value"),
    ("'%s' % now", "a function is not a value"),
]


@pytest.mark.parametrize(("text", "reason"), HOSTILE, ids=[r for _t, r in HOSTILE])
def test_hostile_expressions_are_refused(text: str, reason: str) -> None:
    variables: dict[str, Any] = {"big": "x" * 60_000, "l": [0] * 99_999}
    with pytest.raises(ExpressionError, match=reason.replace("*", r"\*").replace("(", r"\(")):
        EVALUATOR.evaluate(text, variables)


def test_async_comprehensions_are_refused_at_check_time() -> None:
    assert EVALUATOR.check("[x async for x in y]") == ["async comprehensions are not allowed"]


@pytest.mark.parametrize("name", ["true", "false", "null", "None"])
def test_variables_cannot_shadow_the_languages_constants(name: str) -> None:
    assert EVALUATOR.evaluate(f"{name} == {name}", {name: "shadow"}) is True
    assert EVALUATOR.evaluate(name, {name: "shadow"}) in (True, False, None)


@pytest.mark.parametrize("name", ["len", "now", "max", "round"])
def test_variables_cannot_shadow_the_languages_functions(name: str) -> None:
    with pytest.raises(ExpressionError, match="a function is not a value"):
        EVALUATOR.evaluate(name, {name: 3})
    assert EVALUATOR.evaluate("len('abc')", {"len": 7}) == 3


@pytest.mark.parametrize("name", ["true", "null", "len", "now"])
def test_scripts_cannot_assign_reserved_names(name: str) -> None:
    [problem] = EVALUATOR.check_script(f"{name} = 1")
    assert "is a name of the expression language" in problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("round(2.675, 2)", 2.67),
        ("round(1234, -2)", 1200),
        ("'%05.1f %s' % (3.14159, 'kW')", "003.1 kW"),
        ("'-'.join(['a'] * 1000)", "-".join(["a"] * 1000)),
        ("('ab' * 1000).replace('a', 'xyz')", "xyzb" * 1000),
        ("len([c for c in 'x' * 9999])", 9999),
        ("sum([1, 2, 3]) + 1", 7),
    ],
)
def test_ordinary_expressions_still_evaluate(text: str, expected: Any) -> None:
    assert EVALUATOR.evaluate(text, {}) == expected


def test_deep_len_counts_shared_parts_and_stops_past_its_limit() -> None:
    inner = ["x"] * 1000
    assert deep_len([inner, inner], 10**9) == 2 + 2 * 1000 + 2 * 1000
    assert deep_len([inner] * 10_000, 5_000) < 20_000


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("list.count(l, 0)", "'list' is not defined"),
        ("str.join('-', ['a'])", "is called on a function or type"),
    ],
)
def test_methods_through_a_type_are_refused_when_evaluated_unchecked(
    text: str, reason: str
) -> None:
    """Past the check (an evaluator used directly), the interpreter refuses them too."""
    from simpleeval import InvalidExpression

    from bpmn_service.engine.bounded_eval import BoundedEval
    from bpmn_service.engine.expressions import BASE_FUNCTIONS

    evaluator = BoundedEval(functions=dict(BASE_FUNCTIONS), names={"l": [0] * 10})
    with pytest.raises(InvalidExpression, match=reason):
        evaluator.eval(text)
