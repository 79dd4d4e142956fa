"""simpleeval's evaluator with every operation's time and memory bounded, before it runs.

simpleeval caps string literals, `+` and `*` of sized values at 100,000 elements, and the items all
comprehensions of one evaluation produce at 10,000. What it leaves open is what could hold a server
process: `%`-formatting with a huge width, `str.join` and `str.replace` building huge strings,
`round` with a huge number of digits (whose cost grows with the digits), comprehensions producing
10,000 large values, and sheer evaluation work. Here each of those is checked before it computes,
and one evaluation may touch at most MAX_NODES nodes and build at most MAX_BUILT elements in all.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from typing import Any

from simpleeval import (
    MAX_STRING_LENGTH,
    EvalWithCompoundTypes,
    FeatureNotAvailable,
    IterableTooLong,
    NumberTooHigh,
)

# Node evaluations of one expression: comprehensions over the largest values stay far below it.
MAX_NODES = 300_000
# Elements (characters, items) all the strings and collections one evaluation builds may hold.
MAX_BUILT = 2_000_000
MAX_ROUND_DIGITS = 400
# A conversion specifier of %-formatting: flags, width, precision.
_SPECIFIER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?(.)", re.DOTALL)
# Nodes whose value is newly built (not a variable's or a literal's own value).
_BUILDING = (
    ast.BinOp,
    ast.Call,
    ast.ListComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.List,
    ast.Tuple,
    ast.Dict,
)
# Nodes whose value is a variable's or a literal's (or part of one).
_DATA = (ast.Name, ast.Constant, ast.Subscript)
_SIZED = (str, list, tuple, set, frozenset, dict)


class BoundedEval(EvalWithCompoundTypes):  # type: ignore[misc]
    """One evaluator; `eval` resets its counters for each expression."""

    _nodes = 0
    _built = 0

    def eval(self, expr: str, previously_parsed: Any = None) -> Any:
        self._nodes = 0
        self._built = 0
        return super().eval(expr, previously_parsed)

    def _eval(self, node: ast.AST) -> Any:
        # simpleeval's _eval, counting nodes, and sizing what a node builds before its result
        # is walked (simpleeval walks every result for forbidden functions: a list repeating
        # one large list 99,999 times would take hours to walk).
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise IterableTooLong(f"the expression needs more than {MAX_NODES} evaluation steps")
        try:
            handler = self.nodes[type(node)]
        except KeyError:
            raise FeatureNotAvailable(
                f"{type(node).__name__} is not available in this evaluator"
            ) from None
        result = handler(node)
        if type(result) is float and not math.isfinite(result):
            raise NumberTooHigh("the result is not a finite number")
        if isinstance(node, _DATA):
            return result  # variables and literals are data (JSON values), nothing to walk
        if isinstance(node, _BUILDING):
            self._built += deep_len(result, MAX_BUILT - self._built)
            if self._built > MAX_BUILT:
                raise IterableTooLong(
                    f"the expression builds more than {MAX_BUILT} characters or items in all"
                )
        self._check_disallowed_items(result)
        return result

    def _eval_call(self, node: ast.Call) -> Any:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _STRING_METHODS:
            target = self._eval(func.value)
            if isinstance(target, str):
                args = [self._eval(a) for a in node.args]
                kwargs = dict(self._eval(k) for k in node.keywords)
                return _STRING_METHODS[func.attr](target, *args, **kwargs)
        return super()._eval_call(node)


def safe_round(number: Any, ndigits: Any = None) -> Any:
    """`round`, refusing digit counts whose cost grows without bound (round(1, -10**7))."""
    if ndigits is None:
        return round(number)
    if isinstance(ndigits, int) and abs(ndigits) > MAX_ROUND_DIGITS:
        raise NumberTooHigh(f"round to more than {MAX_ROUND_DIGITS} digits")
    return round(number, ndigits)


def safe_mod(a: Any, b: Any) -> Any:
    """`%`: numbers as usual; %-formatting with widths and precisions that fit a string."""
    if not isinstance(a, str):
        return a % b
    for width, precision, _kind in _SPECIFIER.findall(a):
        for number in (width, precision):
            if number == "*":
                raise NumberTooHigh("a '*' width or precision in %-formatting is not supported")
            if number and int(number) > MAX_STRING_LENGTH:
                raise NumberTooHigh(f"a %-format width or precision over {MAX_STRING_LENGTH}")
    result = a % b
    _fits(len(result))
    return result


def _join(separator: str, items: Any) -> str:
    values = list(items)
    if all(isinstance(v, str) for v in values):
        _fits(len(separator) * max(len(values) - 1, 0) + sum(len(v) for v in values))
    return separator.join(values)


def _replace(text: str, old: Any, new: Any, count: Any = -1) -> str:
    if isinstance(old, str) and isinstance(new, str) and isinstance(count, int):
        times = text.count(old) if old else len(text) + 1
        if count >= 0:
            times = min(times, count)
        _fits(len(text) + times * (len(new) - len(old)))
    return text.replace(old, new, count)


def deep_len(value: Any, limit: int) -> int:
    """Characters and items in `value`, counting shared parts each time they occur; the count
    stops soon after passing `limit`."""
    count = 0
    stack = [value]
    while stack and count <= limit:
        item = stack.pop()
        if isinstance(item, str):
            count += len(item)
        elif isinstance(item, list | tuple | set | frozenset):
            count += len(item)
            stack.extend(v for v in item if isinstance(v, _SIZED))
        elif isinstance(item, dict):
            count += len(item)
            stack.extend(v for v in item.values() if isinstance(v, _SIZED))
    return count


def _fits(length: int) -> None:
    if length > MAX_STRING_LENGTH:
        raise IterableTooLong(f"the string would be longer than {MAX_STRING_LENGTH} characters")


_STRING_METHODS: dict[str, Callable[..., Any]] = {"join": _join, "replace": _replace}
