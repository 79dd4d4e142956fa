"""The safe expression language (engine/expressions.py) on its own: what it evaluates, and every
kind of text it refuses, at check time (deploy) and at run time."""

from __future__ import annotations

from typing import Any

import pytest

from bpmn_service.engine.expressions import (
    MAX_EXPRESSION_LENGTH,
    MAX_SCRIPT_LINES,
    ExpressionError,
    ExpressionEvaluator,
)

EVALUATOR = ExpressionEvaluator({"double": lambda x: 2 * x})


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ('= decision = "APPROVE"', "a leading = is FEEL (Camunda 8): drop it"),
        ('decision = "APPROVE"', "= assigns: compare with =="),
        ("${amount === 100}", "=== and !== are JavaScript"),
        ("a !== 1", "=== and !== are JavaScript"),
        ("${isHV ? 'P1Y' : 'P3M'}", "the a ? b : c form is written b if a else c"),
        ("${amount > 100", "opens with ${ but has no closing }"),
        ('note == "a=b" and', None),  # the = inside the string is no assignment
        ("a > > 1", None),
    ],
)
def test_a_syntax_error_says_which_other_language_it_looks_like(
    text: str, hint: str | None
) -> None:
    [problem] = EVALUATOR.check(text)
    assert problem.startswith("syntax error: ")
    if hint is None:
        assert ";" not in problem, problem
    else:
        assert hint in problem, problem


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("capacity >= 100 and category == 'HV'", {"capacity": 160, "category": "HV"}, True),
        ("${capacity > 50}", {"capacity": 10}, False),  # Camunda's wrapper
        ("#{a eq b}", {"a": 1, "b": 1}, True),  # JUEL operators
        ("a ne b && !c", {"a": 1, "b": 2, "c": False}, True),
        ("x div 4 mod 3", {"x": 20}, 2.0),
        ("empty(items) || items[0] gt 2", {"items": []}, True),
        ("'-'.join(names).upper()", {"names": ["a", "b"]}, "A-B"),
        ("double(n) if n else 0", {"n": 21}, 42),
        ("[x * 2 for x in xs if x > 1]", {"xs": [1, 2, 3]}, [4, 6]),
        ("{k: v for k, v in d.items()}.get('a')", {"d": {"a": 1}}, 1),
        ("2 ** 10", {}, 1024),
    ],
)
def test_evaluates(text: str, variables: dict[str, Any], expected: Any) -> None:
    assert EVALUATOR.evaluate(text, variables) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "the expression is empty"),
        ("${ }", "the expression is empty"),
        ("a +", "syntax error"),
        ("x" * (MAX_EXPRESSION_LENGTH + 1), f"longer than {MAX_EXPRESSION_LENGTH}"),
        ("lambda: 1", "Lambda is not allowed"),
        ("(y := 1)", "NamedExpr is not allowed"),
        ("f'{a}'", "JoinedStr is not allowed"),
        ("{1, 2}", "Set is not allowed"),
        ("a & b", "BitAnd is not allowed"),
        ("~a", "Invert is not allowed"),
        ("_secret", "name '_secret' starts with '_'"),
        ("__import__('os')", "starts with '_'"),
        ("().__class__", "attribute '__class__' is not allowed"),
        ("s.format(1)", "attribute 'format' is not allowed"),
        ("eval('1')", "function 'eval' is not available"),
        ("open('/etc/passwd')", "function 'open' is not available"),
        ("getattr(a, 'b')", "function 'getattr' is not available"),
        ("fs[0]()", "only named functions and string/dict methods may be called"),
    ],
)
def test_refuses_at_check_time(text: str, reason: str) -> None:
    problems = EVALUATOR.check(text)
    assert any(reason in p for p in problems), problems
    with pytest.raises(ExpressionError, match="."):
        EVALUATOR.evaluate(text, {"a": 1, "b": 2, "s": "x", "fs": [len], "y": []})


@pytest.mark.parametrize(
    ("text", "variables", "reason"),
    [
        ("1 / zero", {"zero": 0}, "ZeroDivisionError"),
        ("missing + 1", {}, "missing"),
        ("d['absent']", {"d": {}}, "KeyError"),
        ("xs[5]", {"xs": []}, "IndexError"),
        ("'a' + 1", {}, "TypeError"),
        ("10 ** 2000", {}, "larger than 1000"),
        ("n ** n ** n", {"n": 99}, "larger than 1000"),
        ("10 ** 99 * 10 ** 2", {}, "more than 100 digits"),
        ("'x' * 10 ** 9", {}, "will not evaluate something that long"),
    ],
)
def test_refuses_at_run_time(text: str, variables: dict[str, Any], reason: str) -> None:
    assert EVALUATOR.check(text) == []
    with pytest.raises(ExpressionError, match=reason):
        EVALUATOR.evaluate(text, variables)


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ("import os", 'only "name = expression" lines are allowed'),
        ("for i in x:\n    y = i", 'only "name = expression" lines are allowed'),
        ("a += 1", 'only "name = expression" lines are allowed'),
        ("a, b = 1, 2", 'only "name = expression" lines are allowed'),
        ("a = b = 1", 'only "name = expression" lines are allowed'),
        ("print(a)", 'only "name = expression" lines are allowed'),
        ("_a = 1", "names starting with '_' are not allowed"),
        ("a = open('x')", "line 1: function 'open' is not available"),
        ("a = 1\nb = ().__class__", "line 2: attribute '__class__' is not allowed"),
        ("a = (", "syntax error on line 1"),
        ("\n".join(f"a{i} = {i}" for i in range(MAX_SCRIPT_LINES + 1)), "more than"),
    ],
)
def test_scripts_refuse(script: str, reason: str) -> None:
    problems = EVALUATOR.check_script(script)
    assert any(reason in p for p in problems), problems
    variables = {"x": [1]}
    with pytest.raises(ExpressionError):
        EVALUATOR.execute(script, variables)
    assert variables == {"x": [1]}  # nothing ran


def test_a_script_runs_its_lines_in_order_and_only_then_stores_them() -> None:
    variables = {"base": 2}
    EVALUATOR.execute("a = base * 3\nb = a + 1\n# a comment\nc = double(b)", variables)
    assert variables == {"base": 2, "a": 6, "b": 7, "c": 14}
    failing = {"base": 2}
    with pytest.raises(ExpressionError):
        EVALUATOR.execute("a = 1\nb = 1 / 0", failing)
    assert failing == {"base": 2}


def test_registered_functions_become_available() -> None:
    evaluator = ExpressionEvaluator()
    assert evaluator.check("triple(1)") == ["function 'triple' is not available"]
    evaluator.add_functions({"triple": lambda x: 3 * x})
    assert evaluator.evaluate("triple(2)", {}) == 6
