"""Step-duration distributions (working days) and categorical draws, parsed from scenario values.

A duration is written in the scenario as

* a number: a fixed duration (``0.5``);
* ``[min, mode, max]``: triangular (the §10 tables);
* ``{ triangular = [min, mode, max] }``, ``{ lognormal = [median, sigma] }`` (optionally
  ``{ lognormal = [median, sigma], max = 60 }`` to cut the tail), ``{ uniform = [low, high] }``
  or ``{ fixed = x }``.

Every parameter must be a finite number >= 0; a triangular needs min <= mode <= max.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any


class SpecError(ValueError):
    """A scenario value that is not a valid distribution or probability table."""


@dataclass(frozen=True, slots=True)
class Duration:
    kind: str  # fixed | triangular | lognormal | uniform
    params: tuple[float, ...]
    cap: float | None = None

    def sample(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            return self.params[0]
        if self.kind == "triangular":
            low, mode, high = self.params
            if high <= low:
                return low
            return rng.triangular(low, high, mode)
        if self.kind == "uniform":
            return rng.uniform(self.params[0], self.params[1])
        median, sigma = self.params
        value = median * math.exp(rng.gauss(0.0, sigma)) if median > 0 else 0.0
        return min(value, self.cap) if self.cap is not None else value

    @property
    def mean(self) -> float:
        if self.kind == "fixed":
            return self.params[0]
        if self.kind == "triangular":
            return sum(self.params) / 3
        if self.kind == "uniform":
            return (self.params[0] + self.params[1]) / 2
        median, sigma = self.params
        return median * math.exp(sigma * sigma / 2)

    def scaled(self, factor: float) -> Duration:
        if self.kind == "lognormal":
            cap = self.cap * factor if self.cap is not None else None
            return Duration(self.kind, (self.params[0] * factor, self.params[1]), cap)
        return Duration(self.kind, tuple(p * factor for p in self.params), self.cap)

    def describe(self) -> str:
        values = "/".join(f"{p:g}" for p in self.params)
        return values if self.kind == "triangular" else f"{self.kind} {values}"


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(f"{what} must be a number, not {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise SpecError(f"{what} must be finite")
    if number < 0:
        raise SpecError(f"{what} must not be negative ({number:g})")
    return number


def _numbers(value: Any, count: int, what: str) -> tuple[float, ...]:
    if not isinstance(value, list) or len(value) != count:
        raise SpecError(f"{what} needs a list of {count} numbers, not {value!r}")
    return tuple(_number(v, f"{what} value") for v in value)


def parse_duration(value: Any) -> Duration:
    """A Duration from a scenario value; SpecError says what is wrong."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Duration("fixed", (_number(value, "a duration"),))
    if isinstance(value, list):
        return _triangular(_numbers(value, 3, "a triangular duration [min, mode, max]"))
    if isinstance(value, dict):
        kinds = [k for k in ("fixed", "triangular", "lognormal", "uniform") if k in value]
        extra = set(value) - {"fixed", "triangular", "lognormal", "uniform", "max"}
        if len(kinds) != 1 or extra:
            raise SpecError(
                "a duration table needs exactly one of fixed, triangular, lognormal, uniform "
                f"(and optionally max for lognormal), not {sorted(value)}"
            )
        kind = kinds[0]
        if "max" in value and kind != "lognormal":
            raise SpecError("max applies to lognormal durations only")
        if kind == "fixed":
            return Duration("fixed", (_number(value["fixed"], "fixed"),))
        if kind == "triangular":
            return _triangular(_numbers(value["triangular"], 3, "triangular"))
        if kind == "uniform":
            low, high = _numbers(value["uniform"], 2, "uniform")
            if low > high:
                raise SpecError(f"uniform needs low <= high, not {low:g} > {high:g}")
            return Duration("uniform", (low, high))
        median, sigma = _numbers(value["lognormal"], 2, "lognormal [median, sigma]")
        cap = _number(value["max"], "max") if "max" in value else None
        return Duration("lognormal", (median, sigma), cap)
    raise SpecError(
        f"a duration must be a number, [min, mode, max] or a table such as "
        f"{{ lognormal = [1.0, 0.3] }}, not {value!r}"
    )


def _triangular(params: tuple[float, ...]) -> Duration:
    low, mode, high = params
    if not low <= mode <= high:
        raise SpecError(
            f"a triangular duration needs min <= mode <= max, not {low:g}/{mode:g}/{high:g}"
        )
    return Duration("triangular", params)


@dataclass(frozen=True, slots=True)
class Choice:
    """A categorical draw: values (as written, strings) with probabilities summing to 1."""

    values: tuple[str, ...]
    weights: tuple[float, ...]

    def sample(self, rng: random.Random) -> str:
        u = rng.random()
        acc = 0.0
        for value, weight in zip(self.values, self.weights, strict=True):
            acc += weight
            if u < acc:
                return value
        return self.values[-1]

    def probability(self, value: str) -> float:
        for v, w in zip(self.values, self.weights, strict=True):
            if v == value:
                return w
        return 0.0

    def tilted(self, value: str, factor: float) -> Choice:
        """The same table with ``value``'s probability times ``factor`` (capped at 1), the
        others rescaled so that they still add up to 1 (sensitivity runs)."""
        p = self.probability(value)
        new = min(1.0, p * factor)
        rest = 1.0 - p
        weights = tuple(
            new if v == value else (w * (1.0 - new) / rest if rest > 0 else 0.0)
            for v, w in zip(self.values, self.weights, strict=True)
        )
        return Choice(self.values, weights)


PROBABILITY_TOLERANCE = 1e-6


def parse_choice(value: Any) -> Choice:
    if not isinstance(value, dict) or not value:
        raise SpecError(f"a probability table must map values to probabilities, not {value!r}")
    weights = []
    for option, p in value.items():
        if isinstance(p, bool) or not isinstance(p, int | float) or not math.isfinite(p):
            raise SpecError(f"the probability of {option!r} must be a number, not {p!r}")
        if not 0.0 <= float(p) <= 1.0:
            raise SpecError(f"the probability of {option!r} must be between 0 and 1, not {p}")
        weights.append(float(p))
    total = sum(weights)
    if abs(total - 1.0) > PROBABILITY_TOLERANCE:
        listed = ", ".join(f"{k} = {v}" for k, v in value.items())
        raise SpecError(f"probabilities must add up to 1, but {listed} add up to {total:g}")
    return Choice(tuple(str(k) for k in value), tuple(weights))
