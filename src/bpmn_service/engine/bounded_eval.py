"""simpleeval's evaluator with every operation's time and memory bounded, before it runs.

simpleeval caps string literals, `+` and `*` of sized values at 100,000 elements, and the items all
comprehensions of one evaluation produce at 10,000. What it leaves open is what could hold a server
process: `%`-formatting with a huge width, `str.join` and `str.replace` building huge strings,
`round` with a huge number of digits (whose cost grows with the digits), comprehensions producing
10,000 large values, and sheer evaluation work. Here each of those is checked before it computes,
and one evaluation may touch at most MAX_NODES nodes and build at most MAX_BUILT elements in all.

One node can be a loop in C over all of its operands' items (`max(l)`, `x in l`, `l + l`,
`text.count(c)`, a slice), so such calls and operators charge their operands' sizes to the same
MAX_NODES steps before they run; `sum` adds numbers only (`sum(lists, [])` is quadratic). Inside an
engine run (`evaluation_deadline`) the run's time limit is also checked every CHECK_EVERY steps, so
one expression cannot outlast its run's time budget.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Iterator, Sized
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from simpleeval import (
    DISALLOW_FUNCTIONS,
    MAX_STRING_LENGTH,
    AttributeDoesNotExist,
    EvalWithCompoundTypes,
    FeatureNotAvailable,
    FunctionNotDefined,
    IterableTooLong,
    NumberTooHigh,
)

# Node evaluations of one expression: comprehensions over the largest values stay far below it.
MAX_NODES = 300_000
# Elements (characters, items) all the strings and collections one evaluation builds may hold.
MAX_BUILT = 2_000_000
MAX_ROUND_DIGITS = 400
# A step is about a microsecond of interpretation; C loops over a collection's items are charged a
# step per item, string operations (memory copies and searches) a step per 16 characters.
STRING_CHARS_PER_STEP = 16
# How many steps pass between two looks at the run's deadline.
CHECK_EVERY = 1_000
# Calls whose cost does not grow with their arguments' size.
_CONSTANT_COST = frozenset({"len", "bool", "empty", "now", "today", "abs", "round"})
_CONSTANT_METHODS = frozenset({"get", "keys", "values", "items"})
# The run's time check (budget.RunMeter.check_time) while an engine run evaluates expressions.
_TIME_CHECK: ContextVar[Callable[[], None] | None] = ContextVar("time_check", default=None)


@contextmanager
def evaluation_deadline(check: Callable[[], None]) -> Iterator[None]:
    """Within the block, evaluations call `check` (which raises when the run is over its time)
    every CHECK_EVERY steps, so one long expression cannot outlast the run's time budget."""
    token = _TIME_CHECK.set(check)
    try:
        yield
    finally:
        _TIME_CHECK.reset(token)


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
    _next_check = CHECK_EVERY
    _time_check: Callable[[], None] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # simpleeval adds the types list, tuple, dict and set as functions; the language has
        # none of them (calling them is refused at check time), and as values they would give
        # their methods unchecked (`list.count(l, x)`).
        for name in ("list", "tuple", "dict", "set"):
            self.functions.pop(name, None)

    def eval(self, expr: str, previously_parsed: Any = None) -> Any:
        self._nodes = 0
        self._built = 0
        self._next_check = CHECK_EVERY
        self._time_check = _TIME_CHECK.get()
        return super().eval(expr, previously_parsed)

    def _charge(self, steps: int) -> None:
        """Count `steps` evaluation steps (a node, or the items a C loop is about to go
        through); refuse past MAX_NODES, and look at the run's deadline every CHECK_EVERY."""
        self._nodes += steps
        if self._nodes > MAX_NODES:
            raise IterableTooLong(
                f"the expression needs more than {MAX_NODES} evaluation steps (each item a "
                f"function, method or operator goes through counts as one)"
            )
        if self._nodes >= self._next_check:
            self._next_check = self._nodes + CHECK_EVERY
            if self._time_check is not None:
                self._time_check()

    def _eval(self, node: ast.AST) -> Any:
        # simpleeval's _eval, counting nodes, and sizing what a node builds before its result
        # is walked (simpleeval walks every result for forbidden functions: a list repeating
        # one large list 99,999 times would take hours to walk).
        self._charge(1)
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
        # simpleeval's _eval_call, charging the work a call will do before it is made.
        func = node.func
        if isinstance(func, ast.Attribute):
            return self._call_method(node, func)
        if not isinstance(func, ast.Name):
            raise FeatureNotAvailable("only named functions and methods of values may be called")
        try:
            function = self.functions[func.id]
        except KeyError:
            raise FunctionNotDefined(func.id, self.expr) from None
        if function in DISALLOW_FUNCTIONS:
            raise FeatureNotAvailable("This function is forbidden")
        args = [self._eval(a) for a in node.args]
        kwargs = dict(self._eval(k) for k in node.keywords)
        if func.id not in _CONSTANT_COST:
            self._charge(_call_cost(func.id, args, kwargs))
        return function(*args, **kwargs)

    def _call_method(self, node: ast.Call, func: ast.Attribute) -> Any:
        if func.attr.startswith("_"):
            raise FeatureNotAvailable(f"attribute {func.attr!r} is not available")
        target = self._eval(func.value)
        if callable(target):
            raise FeatureNotAvailable(
                f"{func.attr!r} is called on a function or type; methods are called on values, "
                f"e.g. ', '.join(items)"
            )
        try:
            method = getattr(target, func.attr)
        except AttributeError:
            raise AttributeDoesNotExist(func.attr, self.expr) from None
        args = [self._eval(a) for a in node.args]
        kwargs = dict(self._eval(k) for k in node.keywords)
        if func.attr in _CONSTANT_METHODS:
            self._charge(1)
        else:
            self._charge(_size(target) + sum(_size(a) for a in args) + 1)
        if isinstance(target, str) and func.attr in _STRING_METHODS:
            return _STRING_METHODS[func.attr](target, *args, **kwargs)
        return method(*args, **kwargs)

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        # A method reached without calling it (`key=text.join`) would escape the call's checks.
        raise FeatureNotAvailable(f"the method {node.attr!r} is not a value; call it")

    def _eval_binop(self, node: ast.BinOp) -> Any:
        try:
            operation = self.operators[type(node.op)]
        except KeyError:
            raise FeatureNotAvailable(f"{type(node.op).__name__} is not available") from None
        left = self._eval(node.left)
        right = self._eval(node.right)
        self._charge(_binop_cost(node.op, left, right))
        return operation(left, right)

    def _eval_compare(self, node: ast.Compare) -> Any:
        right = self._eval(node.left)
        result = True
        for operation, comparator in zip(node.ops, node.comparators, strict=True):
            if not result:
                break
            left = right
            right = self._eval(comparator)
            self._charge(_compare_cost(operation, left, right))
            result = self.operators[type(operation)](left, right)
        return result

    def _eval_subscript(self, node: ast.Subscript) -> Any:
        container = self._eval(node.value)
        key = self._eval(node.slice)
        if isinstance(key, slice) and isinstance(container, Sized):
            self._charge(len(range(*key.indices(len(container)))))
        return container[key]

    def _eval_dict(self, node: ast.Dict) -> Any:
        for key in node.keys:
            if key is None:  # {**other}: charged by the size of what is spread
                break
        else:
            return super()._eval_dict(node)
        result: dict[Any, Any] = {}
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:
                spread = self._eval(value)
                self._charge(_size(spread))
                result.update(spread)
            else:
                result[self._eval(key)] = self._eval(value)
        return result


def _size(value: Any) -> int:
    """The steps a C loop over `value` is charged: one per item of a collection, one per
    STRING_CHARS_PER_STEP characters of a string (copied and searched at memory speed), 0 for
    what is neither."""
    if isinstance(value, str):
        return len(value) // STRING_CHARS_PER_STEP
    return len(value) if isinstance(value, Sized) and not callable(value) else 0


def _call_cost(name: str, args: list[Any], kwargs: dict[str, Any]) -> int:
    if name == "str":
        return 1 + sum(deep_len(a, MAX_NODES) for a in args)
    cost = 1 + sum(_size(a) for a in args) + sum(_size(v) for v in kwargs.values())
    if name == "sorted":
        cost *= max(1, cost.bit_length())  # n log n comparisons
    return cost


def _binop_cost(op: ast.operator, left: Any, right: Any) -> int:
    if isinstance(op, ast.Mult):
        for sized, times in ((left, right), (right, left)):
            if _size(sized) and isinstance(times, int):
                # What is longer than MAX_STRING_LENGTH is refused by the operator itself.
                return 1 + min(_size(sized) * max(times, 0), int(MAX_STRING_LENGTH) + 1)
        return 1
    return 1 + _size(left) + _size(right)


def _compare_cost(op: ast.cmpop, left: Any, right: Any) -> int:
    if isinstance(op, ast.In | ast.NotIn):
        if isinstance(right, dict | set | frozenset):
            return 1 + _size(left)  # hashing the key
        return 1 + _size(left) + _size(right)
    if isinstance(op, ast.Is | ast.IsNot):
        return 1
    return 1 + min(_size(left), _size(right))


def safe_sum(items: Any, start: Any = 0) -> Any:
    """`sum` of numbers. Lists, tuples and strings are refused: `sum(lists, [])` copies the
    growing result at every item, which is quadratic in time."""
    if isinstance(start, bool) or not isinstance(start, int | float):
        raise TypeError("sum adds numbers only; to join lists use a comprehension")
    for item in items:
        if not isinstance(item, int | float):
            raise TypeError(
                f"sum adds numbers only, not {type(item).__name__}; to join lists use a "
                f"comprehension ([x for part in parts for x in part])"
            )
    return sum(items, start)


def safe_str(value: Any = "") -> str:
    """`str`, refusing functions: they are not values (and their text shows a memory address)."""
    _no_functions(value)
    return str(value)


def _no_functions(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if callable(item):
            raise TypeError("a function is not a value; call it (e.g. now())")
        if isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())


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
    _no_functions(b)
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
