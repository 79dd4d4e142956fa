"""The safe expression language: Python expression syntax, evaluated without eval().

SpiffWorkflow evaluates gateway conditions, scripts, timers and multi-instance expressions with
Python's eval/exec and full builtins, so any BPMN upload could run code on the server. Every
expression here is checked against an AST whitelist at deploy time and evaluated by simpleeval at
run time.
"""

from __future__ import annotations

import ast
import datetime
import io
import math
import operator
import re
import threading
import tokenize
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from simpleeval import InvalidExpression, NumberTooHigh

from . import clock
from .bounded_eval import BoundedEval, safe_mod, safe_round, safe_str, safe_sum

MAX_EXPRESSION_LENGTH = 10_000
MAX_POWER_EXPONENT = 1_000
# Variables are stored as JSON; integers beyond this cannot round-trip everywhere.
MAX_INTEGER = 10**100
# Intermediate integers are capped too, before they are computed where possible.
MAX_INTEGER_BITS = 1_400
MAX_SCRIPT_LINES = 200
# Nesting of an expression's syntax tree: the evaluator and ast.unparse recurse once per level.
MAX_DEPTH = 100

# Methods callable on values; everything else reached through "." is refused.
ALLOWED_METHODS = frozenset(
    {
        "join",
        "split",
        "strip",
        "upper",
        "lower",
        "startswith",
        "endswith",
        "replace",
        "get",
        "keys",
        "values",
        "items",
        "count",
        "index",
    }
)
ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.USub,
    ast.UAdd,
    ast.Not,
    ast.And,
    ast.Or,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
    ast.Call,
    ast.keyword,
    ast.Attribute,
    ast.Subscript,
    ast.Slice,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.ListComp,
    ast.GeneratorExp,
    ast.DictComp,
    ast.comprehension,
)
# JUEL's word operators, read as Python's where they stand between two operands.
_JUEL_WORDS = {
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "gt": ">",
    "le": "<=",
    "ge": ">=",
    "div": "/",
    "mod": "%",
}
_OPERAND_ENDS = (tokenize.NAME, tokenize.NUMBER, tokenize.STRING)


class ExpressionError(ValueError):
    """An expression is not in the safe language, or failed when evaluated."""


# How much of an error's own text a failure message keeps (it may quote a variable's value).
MAX_CAUSE_CHARS = 200


def error_cause(exc: BaseException) -> str:
    """`Type: text` of an error an expression raised, its text cut to MAX_CAUSE_CHARS (a value
    it quotes may be long); an OSError's text (it may name a path of the server) is left out."""
    kind = type(exc).__name__
    text = "" if isinstance(exc, OSError) else " ".join(str(exc).split())
    if len(text) > MAX_CAUSE_CHARS:
        text = text[: MAX_CAUSE_CHARS - 1] + "…"
    return f"{kind}: {text}" if text else kind


def _check_size(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_INTEGER_BITS:
        raise NumberTooHigh("an intermediate result has more than about 400 digits")
    return value


def _safe_pow(base: Any, exponent: Any) -> Any:
    """Refuse powers whose result would be huge *before* computing them: ((10**1000)**1000)**1000
    would otherwise occupy a worker for hours."""
    if isinstance(exponent, int | float) and abs(exponent) > MAX_POWER_EXPONENT:
        raise NumberTooHigh(f"exponent {exponent} is larger than {MAX_POWER_EXPONENT}")
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 1:
        if base.bit_length() * exponent > MAX_INTEGER_BITS:
            raise NumberTooHigh("the power would have more than about 400 digits")
    return _check_size(operator.pow(base, exponent))


def _sized(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def checked(a: Any, b: Any) -> Any:
        if isinstance(a, int) and isinstance(b, int) and op is operator.mul:
            if a.bit_length() + b.bit_length() > MAX_INTEGER_BITS:
                raise NumberTooHigh("the product would have more than about 400 digits")
        return _check_size(op(a, b))

    return checked


def _now() -> str:
    return clock.now().isoformat(timespec="seconds")


def _today() -> str:
    return clock.now().date().isoformat()


def _empty(value: Any) -> bool:
    """JUEL's `empty`: null, or a string, list or map without elements (0 and false are not)."""
    return value is None or (isinstance(value, str | list | tuple | dict | set) and not value)


BASE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "min": min,
    "max": max,
    "sum": safe_sum,
    "abs": abs,
    "round": safe_round,
    "int": int,
    "float": float,
    "str": safe_str,
    "bool": bool,
    "any": any,
    "all": all,
    "sorted": sorted,
    "now": _now,
    "today": _today,
    "empty": _empty,
}
CONSTANT_NAMES: dict[str, Any] = {
    "True": True,
    "False": False,
    "None": None,
    "true": True,
    "false": False,
    "null": None,
}


def strip_wrapper(text: str) -> str:
    """Accept Camunda-style `${expr}` (or `#{expr}`) as well as a bare expression, and read
    JUEL's operators (`&&`, `||`, `!`, `eq`, `ne`, `lt`, `gt`, `le`, `ge`, `div`, `mod`,
    `empty`) as Python's. What comes out is checked like any other expression."""
    if len(text) > MAX_EXPRESSION_LENGTH:
        return text.strip()  # refused as too long anyway: neither translated nor cached
    return _unwrapped(text)


@lru_cache(maxsize=8192)
def _unwrapped(text: str) -> str:
    text = text.strip()
    if text[:2] in ("${", "#{") and text.endswith("}"):
        text = text[2:-1].strip()
    return _from_juel(text)


_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "if", "else", "for"})


def _ends_operand(out: list[tuple[int, str]]) -> bool:
    """Whether the tokens so far end with an operand (so what follows is a binary operator)."""
    if not out:
        return False
    kind, text = out[-1]
    return (kind in _OPERAND_ENDS and text not in _KEYWORDS) or text in (")", "]", "}")


def _operand_end(tokens: list[tokenize.TokenInfo], start: int) -> int:
    """The index after the primary expression starting at `start`: a name, number, string or
    bracketed group, with any attribute, subscript and call trailers."""
    i = start

    def skip_group(i: int) -> int:
        depth = 0
        while i < len(tokens):
            if tokens[i].string in ("(", "[", "{"):
                depth += 1
            elif tokens[i].string in (")", "]", "}"):
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return i

    i = skip_group(i) if tokens[i].string in ("(", "[", "{") else i + 1
    while i < len(tokens):
        if tokens[i].string == "." and i + 1 < len(tokens) and tokens[i + 1].type == tokenize.NAME:
            i += 2
        elif tokens[i].string in ("(", "["):
            i = skip_group(i)
        else:
            break
    return i


def _from_juel(expression: str) -> str:
    if not any(mark in expression for mark in ("&&", "||", "!", "empty")) and not any(
        f" {word} " in expression for word in _JUEL_WORDS
    ):
        return expression
    try:
        tokens = [
            t
            for t in tokenize.generate_tokens(io.StringIO(expression).readline)
            if not (t.type == tokenize.ERRORTOKEN and not t.string.strip())
        ]
    except (tokenize.TokenError, SyntaxError):
        return expression  # left for the parser to report
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if (
            token.string in ("&", "|")
            and after is not None
            and after.string == token.string
            and after.start == token.end
        ):
            out.append((tokenize.NAME, "and" if token.string == "&" else "or"))
            i += 2
            continue
        if (
            token.type == tokenize.NAME
            and token.string == "empty"
            and not _ends_operand(out)
            and after is not None
            and (after.type in _OPERAND_ENDS or after.string in ("(", "[", "{"))
        ):
            # JUEL's prefix operator `empty x` becomes the function call `empty(x)`.
            end = _operand_end(tokens, i + 1)
            out.append((tokenize.NAME, "empty"))
            out.append((tokenize.OP, "("))
            out.extend((t.type, t.string) for t in tokens[i + 1 : end])
            out.append((tokenize.OP, ")"))
            i = end
            continue
        if token.type == tokenize.ERRORTOKEN and token.string == "!":
            out.append((tokenize.NAME, "not"))
        elif (
            token.type == tokenize.NAME
            and token.string in _JUEL_WORDS
            and _ends_operand(out)
            and after is not None
            and (after.type in _OPERAND_ENDS or after.string in ("(", "[", "{", "-", "+", "!"))
        ):
            out.append((tokenize.OP, _JUEL_WORDS[token.string]))
        else:
            out.append((token.type, token.string))
        i += 1
    # Whole tokens joined by single spaces are valid Python (no "10or" next to a keyword).
    return " ".join(text for kind, text in out if text.strip()).strip()


# A bare "=" that is not part of ==, !=, <= or >=.
_ASSIGNMENT = re.compile(r"(?<![=!<>])=(?!=)")
_STRINGS = re.compile(r"\"[^\"]*\"|'[^']*'")


def foreign_syntax(text: str) -> str | None:
    """What an expression that does not parse most likely borrowed from another condition
    language (FEEL, JavaScript, Java's JUEL ternary), and how to write it here; None if nothing
    recognisable."""
    body = text.strip()
    if body[:2] in ("${", "#{") and not body.endswith("}"):
        return f"the expression opens with {body[:2]} but has no closing }}"
    if body[:2] in ("${", "#{"):
        body = body[2:-1].strip()
    body = _STRINGS.sub('""', body)  # an "=" inside a string literal says nothing
    if body.startswith("="):
        return 'a leading = is FEEL (Camunda 8): drop it, e.g. ${decision == "APPROVE"}'
    if "===" in body or "!==" in body:
        return "=== and !== are JavaScript: compare with == and !="
    if _ASSIGNMENT.search(body):
        return "= assigns: compare with =="
    if "?" in body and ":" in body:
        return "the a ? b : c form is written b if a else c"
    return None


@lru_cache(maxsize=4096)
def _parse(expression: str) -> ast.Expression:
    return ast.parse(expression, mode="eval")


def check_expression(text: str, function_names: frozenset[str]) -> list[str]:
    """Return every reason `text` is not a safe expression (empty when it is).

    Cached: models evaluate the same few hundred expressions over and over. Callers must not
    mutate the returned list. Over-long texts are answered without being cached, so that
    uploads of huge expressions cannot fill the cache."""
    if len(text.strip()) > MAX_EXPRESSION_LENGTH:
        return [f"the expression is longer than {MAX_EXPRESSION_LENGTH} characters"]
    return _checked(text, function_names)


@lru_cache(maxsize=8192)
def _checked(text: str, function_names: frozenset[str]) -> list[str]:
    expression = strip_wrapper(text)
    if not expression:
        return ["the expression is empty"]
    try:
        tree = _parse(expression)
        depth = _depth(tree)
    except SyntaxError as exc:
        hint = foreign_syntax(text)
        return [f"syntax error: {exc.msg} (column {exc.offset}){f'; {hint}' if hint else ''}"]
    except (RecursionError, MemoryError):
        depth = MAX_DEPTH + 1
    if depth > MAX_DEPTH:
        return [
            f"the expression nests deeper than {MAX_DEPTH} levels (a sum of many terms is "
            f"sum([a, b, c, ...]))"
        ]
    problems: list[str] = []
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        problems.extend(_check_node(node, function_names))
        problems.extend(_check_uncalled(node, function_names, called))
    return problems


# Types simpleeval knows: reached through a name, their methods would escape every check.
_TYPE_NAMES = frozenset({"str", "list", "tuple", "dict", "set", "int", "float", "bool"})


def _check_uncalled(node: ast.AST, function_names: frozenset[str], called: set[int]) -> list[str]:
    """Functions and methods are called, never used as values: `str(now)` would be a memory
    address, `str.join(a, b)` or `key=text.join` would bypass the bounds of a method's call."""
    if isinstance(node, ast.Attribute) and node.attr in ALLOWED_METHODS:  # others: refused
        value = node.value
        if isinstance(value, ast.Name) and (value.id in function_names or value.id in _TYPE_NAMES):
            return [
                f"'{value.id}.{node.attr}': methods are called on values, not through the "
                f"function {value.id!r} (e.g. ', '.join(items))"
            ]
        if id(node) not in called:
            return [f"the method {node.attr!r} is not a value; call it"]
    if isinstance(node, ast.Name) and node.id in function_names and id(node) not in called:
        return [f"a function is not a value; call it: {node.id}(…)"]
    return []


def _depth(tree: ast.AST) -> int:
    """How deep the syntax tree nests, without recursion (a 3,000-term sum nests 3,000 deep)."""
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, level + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _check_node(node: ast.AST, function_names: frozenset[str]) -> list[str]:
    if not isinstance(node, ALLOWED_NODES):
        return [f"{type(node).__name__} is not allowed in expressions"]
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        return [f"name {node.id!r} starts with '_'"]
    if isinstance(node, ast.comprehension) and node.is_async:
        return ["async comprehensions are not allowed"]
    if isinstance(node, ast.Attribute):
        if node.attr.startswith("_") or node.attr not in ALLOWED_METHODS:
            return [f"attribute {node.attr!r} is not allowed"]
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id not in function_names:
            return [f"function {func.id!r} is not available"]
        if not isinstance(func, ast.Name | ast.Attribute):
            return ["only named functions and string/dict methods may be called"]
    return []


@lru_cache(maxsize=2048)
def check_script(text: str, function_names: frozenset[str]) -> list[str]:
    """Scripts are `name = expression` lines only; return every problem found (cached)."""
    lines = [
        line for line in text.splitlines() if line.strip() and not line.strip().startswith("#")
    ]
    if len(lines) > MAX_SCRIPT_LINES:
        return [f"the script has more than {MAX_SCRIPT_LINES} lines"]
    try:
        module = ast.parse(text)
    except SyntaxError as exc:
        return [f"syntax error on line {exc.lineno}: {exc.msg}"]
    except (RecursionError, MemoryError):
        return [f"the script nests deeper than {MAX_DEPTH} levels"]
    if _depth(module) > MAX_DEPTH + 2:
        return [
            f"the script nests deeper than {MAX_DEPTH} levels (a sum of many terms is "
            f"sum([a, b, c, ...]))"
        ]
    problems: list[str] = []
    for stmt in module.body:
        if not (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
        ):
            problems.append(f'line {stmt.lineno}: only "name = expression" lines are allowed')
            continue
        name = stmt.targets[0].id
        if name.startswith("_"):
            problems.append(f"line {stmt.lineno}: names starting with '_' are not allowed")
        elif name in CONSTANT_NAMES or name in function_names:
            problems.append(
                f"line {stmt.lineno}: {name!r} is a name of the expression language; choose "
                f"another variable name"
            )
        for reason in check_expression(ast.unparse(stmt.value), function_names):
            problems.append(f"line {stmt.lineno}: {reason}")
    return problems


@lru_cache(maxsize=2048)
def assignments(script: str) -> tuple[tuple[str, str], ...]:
    """The (name, expression text) pairs of a checked script."""
    pairs = []
    for stmt in ast.parse(script).body:
        assert isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)
        pairs.append((stmt.targets[0].id, ast.unparse(stmt.value)))
    return tuple(pairs)


class ExpressionEvaluator:
    """Evaluates checked expressions and assignment scripts against instance variables."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self.functions: dict[str, Callable[..., Any]] = {**BASE_FUNCTIONS, **(functions or {})}
        self.function_names = frozenset(self.functions)
        self._operators = _operators()
        # simpleeval's evaluator costs more to build than most expressions cost to evaluate:
        # each thread reuses its own (one per nesting level, should a function evaluate too).
        self._idle = threading.local()

    def add_functions(self, functions: Mapping[str, Callable[..., Any]]) -> None:
        self.functions.update(functions)
        self.function_names = frozenset(self.functions)
        self._idle = threading.local()  # evaluators built before know only the old functions

    def _evaluator(self) -> BoundedEval:
        idle: list[BoundedEval] | None = getattr(self._idle, "evaluators", None)
        if idle:
            return idle.pop()
        return BoundedEval(operators=self._operators, functions=dict(self.functions))

    def _release(self, evaluator: BoundedEval) -> None:
        evaluator.names = {}
        idle = getattr(self._idle, "evaluators", None)
        if idle is None:
            idle = self._idle.evaluators = []
        idle.append(evaluator)

    def check(self, text: str) -> list[str]:
        return check_expression(text, self.function_names)

    def check_script(self, text: str) -> list[str]:
        return check_script(text, self.function_names)

    def evaluate(self, text: str, variables: Mapping[str, Any]) -> Any:
        expression = strip_wrapper(text)
        problems = self.check(expression)
        if problems:
            raise ExpressionError(f"{expression!r}: {'; '.join(problems)}")
        return self._run(expression, self._names(variables))

    def execute(self, script: str, variables: dict[str, Any]) -> None:
        """Run `name = expression` lines; all lines are checked before any runs."""
        problems = self.check_script(script)
        if problems:
            raise ExpressionError("; ".join(problems))
        names = self._names(variables)  # each line sees the lines before it
        results: dict[str, Any] = {}
        for name, expression in assignments(script):
            results[name] = names[name] = self._run(expression, names, target=name)
        variables.update(results)

    def _names(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        """The variables as the expression sees them: the language's own names (true, null,
        len, now…) cannot be shadowed by a variable of the same name."""
        names = {**variables, **CONSTANT_NAMES}
        for reserved in self.function_names.intersection(names):
            del names[reserved]
        return names

    def _run(self, expression: str, names: dict[str, Any], target: str | None = None) -> Any:
        """Evaluate a checked expression (`target`: the variable a script line assigns)."""
        evaluator = self._evaluator()
        evaluator.names = names
        try:
            result = evaluator.eval(expression, previously_parsed=_parse(expression).body)
        except InvalidExpression as exc:
            raise ExpressionError(f"{expression!r}: {exc}") from exc
        except (TypeError, ValueError, KeyError, IndexError, ArithmeticError) as exc:
            raise ExpressionError(f"{expression!r}: {error_cause(exc)}") from exc
        except RecursionError:
            raise ExpressionError(f"{expression!r}: nested too deeply to evaluate") from None
        finally:
            self._release(evaluator)
        if isinstance(result, int) and not isinstance(result, bool) and abs(result) > MAX_INTEGER:
            raise ExpressionError(f"{expression!r}: the result has more than 100 digits")
        if callable(result):
            raise ExpressionError(f"{expression!r}: a function is not a value; call it")
        if isinstance(result, float) and not math.isfinite(result):
            raise ExpressionError(f"{expression!r}: the result is not a finite number")
        if type(_parse(expression).body) is not ast.Name:  # a variable's value was checked
            problem = text_problem(result, stored=target is not None)
            if problem is not None:
                where, what = problem
                shown = f"{target}{where}" if target else f"the result{where}"
                raise ExpressionError(f"{expression!r}: {shown} {what}")
        return result


# A lone surrogate (not text: no answer nor database can hold it) or a NUL (PostgreSQL cannot
# store one in text); the API refuses both in every value it is given.
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


def _text_fault(text: str) -> str | None:
    if text.isascii():
        return None if "\x00" not in text else "holds a NUL character, which cannot be stored"
    found = _NOT_TEXT.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "holds a NUL character, which cannot be stored"
    return f"holds a lone surrogate ({found.group()!r}), which is not text"


def text_problem(value: Any, *, stored: bool = False) -> tuple[str, str] | None:
    """(where, what) for the first string in `value` (a string, or nested in lists and dicts,
    keys included) that holds a lone surrogate or a NUL, `where` written as subscripts
    (`['a'][0]`, "" for the value itself); None when every string is text a database stores.
    `stored` (a value a script line assigns, kept as a variable): also the first part that is
    no JSON value the case can store as it is: a key that is not text (`{1: 'a'}` would lose a
    value to `{'1': 'b'}`), a function, bytes, a set, a complex number, a key view, a number
    that is not finite…"""
    seen: set[int] = set()
    # Each entry: the item and its path as a chain (parent's chain, subscript), spelt on a find.
    stack: list[tuple[Any, Any]] = [(value, None)]
    while stack:
        item, path = stack.pop()
        kind = type(item)
        if kind is str:
            fault = _text_fault(item)
            if fault is not None:
                return _spelt(path), fault
        elif kind in _STORED_SCALARS:
            continue
        elif stored and kind is float:
            if not math.isfinite(item):
                return _spelt(path), "is not a finite number"
        elif isinstance(item, list | tuple | set | frozenset | dict) and not (
            stored and isinstance(item, set | frozenset)
        ):
            if id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, dict):
                for key, child in item.items():
                    if stored and type(key) is not str:
                        return _spelt(path), (
                            f"has a key that is not text ({_shown(key)}): the keys of an object "
                            f"a case stores are text, write {str(key)!r}"
                        )
                    fault = _text_fault(key) if isinstance(key, str) else None
                    if fault is not None:
                        return _spelt(path), f"has a key that {fault}"
                    stack.append((child, (path, key)))
            elif isinstance(item, list | tuple):
                stack.extend((child, (path, i)) for i, child in enumerate(item))
            else:
                stack.extend((child, path) for child in item)
        elif isinstance(item, str):  # a subclass of str
            fault = _text_fault(item)
            if fault is not None:
                return _spelt(path), fault
        elif stored and not isinstance(item, _STORED_TYPES):
            what = "a function" if callable(item) else f"{_shown(item)}, a {kind.__name__}"
            return _spelt(path), (
                f"is {what}, not a value a case can store (text, a number, "
                f"true/false, null, a list, an object with text keys, a time or a duration)"
            )
    return None


_STORED_SCALARS = frozenset({int, bool, type(None)})
# What the engine's serializer stores besides JSON values (a time, a date, a duration).
_STORED_TYPES = (int, float, datetime.datetime, datetime.date, datetime.timedelta)


def _shown(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:
        text = type(value).__name__
    return text if len(text) <= 40 else f"{text[:37]}..."


def _spelt(path: Any) -> str:
    steps: list[str] = []
    while path is not None:
        path, step = path
        steps.append(f"[{step!r}]")
    return "".join(reversed(steps))


def _operators() -> dict[type[ast.AST], Callable[..., Any]]:
    from simpleeval import DEFAULT_OPERATORS

    ops: dict[type[ast.AST], Callable[..., Any]] = dict(DEFAULT_OPERATORS)
    ops[ast.Pow] = _safe_pow
    for node in (ast.Add, ast.Sub, ast.FloorDiv):
        ops[node] = _sized(ops[node])
    ops[ast.Mod] = _sized(safe_mod)
    mult = ops[ast.Mult]  # simpleeval's safe_mult bounds string repetition; keep it
    ops[ast.Mult] = lambda a, b: _check_size(
        _sized(operator.mul)(a, b) if isinstance(a, int) and isinstance(b, int) else mult(a, b)
    )
    for unsupported in (ast.BitAnd, ast.BitOr, ast.BitXor, ast.LShift, ast.RShift, ast.Invert):
        ops.pop(unsupported, None)
    return ops
