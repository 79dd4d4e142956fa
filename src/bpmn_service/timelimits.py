"""SLA time limits (working days) as versioned configuration: ``config/time-limits.toml``.

A *regime* is a named, versioned table of limits — ``SERC2009`` (the 2009 《供电监管办法》),
``SG_COMMIT`` (State Grid commitments), ``TOBE_TARGET`` (the streamlined process's targets) —
with a ``version``, an ``effective_from`` date and a ``source`` text. Each limit id (``A-T-SCHEME``,
``B-T-COSIGN``, ``CF-T-RESOLVE`` …) maps customer categories (RES, LV, HV_S, HV_D) to working
days; a category left out has no limit. ``[processes]`` maps a process key to a regime name.

Several versions of one regime name may coexist. Lookups take an optional ``at`` date (use the
date the clock started) and choose the newest version whose ``effective_from <= at``; without
``at`` they use today's date (``date.today()``).

Turn a limit into a deadline with :meth:`bpmn_service.workcalendar.WorkCalendar.add_working_days`::

    days = limits.limit("yekuo_current", "A-T-SCHEME", "LV")   # 8.0
    if days is not None:
        due = calendar.add_working_days(accepted_at, days)
        warn = calendar.add_working_days(accepted_at, 0.8 * days)
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

CATEGORIES: tuple[str, ...] = ("RES", "LV", "HV_S", "HV_D")
"""Customer categories: residential, LV non-residential, HV single source, HV dual source."""
CATEGORY_NAMES: Mapping[str, str] = MappingProxyType(
    {"RES": "居民", "LV": "低压非居民", "HV_S": "高压单电源", "HV_D": "高压双电源"}
)
"""What users call each category (config/time-limits.toml and docs/processes.md name them so)."""

_REGIME_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_LIMIT_ID = re.compile(r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*")
_REGIME_KEYS = {"name", "version", "effective_from", "source", "limits"}
_OPTIONAL_REGIME_KEYS = {"escalate_to"}
# Keys of a limit row besides the categories: what the limit is called (shown to users), the
# groups its breach is escalated to (督办), overriding the regime's escalate_to, and the share of
# the limit at which the reminder comes (default 0.8).
_ROW_KEYS = {"name", "escalate_to", "warn"}
WARN_SHARE = 0.8
_GROUP = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class Regime:
    """One version of a named limit table."""

    name: str
    version: str
    effective_from: date
    source: str
    limits: Mapping[str, Mapping[str, float]] = field(default_factory=dict, hash=False)
    names: Mapping[str, str] = field(default_factory=dict, hash=False)
    escalations: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    warn_shares: Mapping[str, float] = field(default_factory=dict, hash=False)

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"

    def limit(self, limit_id: str, category: str) -> float | None:
        """Working days for ``limit_id`` and ``category``; None when the category has no limit.

        An unknown limit id or category is a ValueError (a typo, not "no limit").
        """
        if category not in CATEGORIES:
            raise ValueError(
                f"unknown customer category {category!r}; expected one of {CATEGORIES}"
            )
        try:
            per_category = self.limits[limit_id]
        except KeyError:
            raise ValueError(
                f"regime {self.label} has no limit id {limit_id!r}; known: {sorted(self.limits)}"
            ) from None
        return per_category.get(category)

    def name_of(self, limit_id: str) -> str:
        """What the limit is called (its row's ``name``), or its id when the row names none."""
        return self.names.get(limit_id, limit_id)

    def escalate_to(self, limit_id: str) -> tuple[str, ...]:
        """The groups a breach of ``limit_id`` is escalated to (督办); may be empty."""
        return self.escalations.get(limit_id, ())

    def warn_share(self, limit_id: str) -> float:
        """The share of the limit at which its reminder comes (the row's ``warn``, or 0.8)."""
        return self.warn_shares.get(limit_id, WARN_SHARE)


class TimeLimits:
    """Regimes plus the process-key → regime-name map; validated on construction."""

    def __init__(self, regimes: Iterable[Regime], processes: Mapping[str, str]) -> None:
        by_name: dict[str, list[Regime]] = {}
        for regime in regimes:
            versions = by_name.setdefault(regime.name, [])
            for other in versions:
                if other.version == regime.version:
                    raise ValueError(f"regime {regime.label} is defined twice")
                if other.effective_from == regime.effective_from:
                    raise ValueError(
                        f"regimes {other.label} and {regime.label} have the same "
                        f"effective_from {regime.effective_from}; a lookup could not choose"
                    )
            versions.append(regime)
        for versions in by_name.values():
            versions.sort(key=lambda r: r.effective_from)
        for key, name in processes.items():
            if name not in by_name:
                raise ValueError(
                    f"processes.{key} = {name!r} names no regime; defined: {sorted(by_name)}"
                )
        self._regimes = by_name
        self._processes = dict(processes)

    @classmethod
    def load(cls, path: Path) -> TimeLimits:
        """Read and validate a time-limits file; ValueError names the offending key."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML: {exc}") from exc
        try:
            return cls._from_dict(data)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    @classmethod
    def _from_dict(cls, data: dict[str, Any]) -> TimeLimits:
        unknown = set(data) - {"processes", "regimes"}
        if unknown:
            raise ValueError(f"unknown top-level key(s) {sorted(unknown)}")
        processes = data.get("processes")
        if not isinstance(processes, dict) or not processes:
            raise ValueError("[processes] is missing or empty")
        for key, name in processes.items():
            if not isinstance(name, str):
                raise ValueError(f"processes.{key} must be a regime name (a string)")
        raw_regimes = data.get("regimes")
        if not isinstance(raw_regimes, list) or not raw_regimes:
            raise ValueError("no [[regimes]] defined")
        return cls([_parse_regime(i, raw) for i, raw in enumerate(raw_regimes)], processes)

    # -- lookups ------------------------------------------------------------------------------

    def process_keys(self) -> tuple[str, ...]:
        return tuple(self._processes)

    def regime_of(self, process_key: str, at: date | None = None) -> Regime:
        """The regime version in force for ``process_key`` on ``at`` (default: today)."""
        try:
            name = self._processes[process_key]
        except KeyError:
            raise ValueError(
                f"unknown process key {process_key!r}; known: {sorted(self._processes)}"
            ) from None
        return self.regime(name, at)

    def regime(self, name: str, at: date | None = None) -> Regime:
        """The newest version of regime ``name`` with ``effective_from <= at`` (default: today)."""
        if name not in self._regimes:
            raise ValueError(f"unknown regime {name!r}; defined: {sorted(self._regimes)}")
        when = date.today() if at is None else at
        in_force = [r for r in self._regimes[name] if r.effective_from <= when]
        if not in_force:
            first = self._regimes[name][0]
            raise ValueError(
                f"regime {name} has no version in force on {when}; "
                f"the earliest ({first.label}) starts {first.effective_from}"
            )
        return in_force[-1]

    def limit(
        self, process_key: str, limit_id: str, category: str, at: date | None = None
    ) -> float | None:
        """Working days allowed; None when the regime sets no limit for ``category``."""
        return self.regime_of(process_key, at).limit(limit_id, category)

    def limit_ids(self, process_key: str, at: date | None = None) -> tuple[str, ...]:
        """The limit ids of the process's regime, in file order."""
        return tuple(self.regime_of(process_key, at).limits)


def _parse_regime(index: int, raw: Any) -> Regime:
    where = f"regimes[{index}]"
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be a table")
    name = raw.get("name")
    if isinstance(name, str):
        where = f"regimes[{index}] ({name})"
    unknown = set(raw) - _REGIME_KEYS - _OPTIONAL_REGIME_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}")
    missing = _REGIME_KEYS - set(raw)
    if missing:
        raise ValueError(f"{where}: missing key(s) {sorted(missing)}")
    if not isinstance(name, str) or not _REGIME_NAME.fullmatch(name):
        raise ValueError(f"{where}.name = {name!r} must be UPPER_SNAKE like 'SERC2009'")
    version = raw["version"]
    if not isinstance(version, str) or not version.strip():
        raise ValueError(f'{where}.version must be a non-empty string (quote numbers: "1")')
    source = raw["source"]
    if not isinstance(source, str) or not source.strip():
        raise ValueError(f"{where}.source must be a non-empty string")
    effective_from = _parse_date(raw["effective_from"], f"{where}.effective_from")
    limits = raw["limits"]
    if not isinstance(limits, dict) or not limits:
        raise ValueError(f"{where}.limits must be a non-empty table")
    default_groups = _parse_groups(raw.get("escalate_to", []), f"{where}.escalate_to")
    parsed: dict[str, dict[str, float]] = {}
    names: dict[str, str] = {}
    escalations: dict[str, tuple[str, ...]] = {}
    warn_shares: dict[str, float] = {}
    for limit_id, row in limits.items():
        key = f"{where}.limits.{limit_id}"
        if not _LIMIT_ID.fullmatch(limit_id):
            raise ValueError(f"{key}: limit id must look like 'A-T-SCHEME'")
        if not isinstance(row, dict) or not set(row) - _ROW_KEYS:
            raise ValueError(f"{key} must be a table like {{ RES = 3, LV = 8 }}")
        per_category = {k: v for k, v in row.items() if k not in _ROW_KEYS}
        if "name" in row:
            if not isinstance(row["name"], str) or not row["name"].strip():
                raise ValueError(f"{key}.name must be a non-empty string")
            names[limit_id] = row["name"].strip()
        if "warn" in row:
            share = row["warn"]
            if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share < 1:
                raise ValueError(f"{key}.warn = {share!r} must be a share between 0 and 1")
            warn_shares[limit_id] = float(share)
        escalations[limit_id] = (
            _parse_groups(row["escalate_to"], f"{key}.escalate_to")
            if "escalate_to" in row
            else default_groups
        )
        parsed[limit_id] = {}
        for category, days in per_category.items():
            if category not in CATEGORIES:
                raise ValueError(f"{key}.{category}: unknown category; expected {CATEGORIES}")
            if (
                isinstance(days, bool)
                or not isinstance(days, int | float)
                or not math.isfinite(days)
                or days <= 0
            ):
                raise ValueError(f"{key}.{category} = {days!r} must be a number of days > 0")
            parsed[limit_id][category] = float(days)
    return Regime(
        name=name,
        version=version,
        effective_from=effective_from,
        source=source.strip(),
        limits=MappingProxyType({k: MappingProxyType(v) for k, v in parsed.items()}),
        names=MappingProxyType(names),
        escalations=MappingProxyType(escalations),
        warn_shares=MappingProxyType(warn_shares),
    )


def _parse_groups(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(
        isinstance(g, str) and _GROUP.fullmatch(g) for g in value
    ):
        raise ValueError(f'{key} = {value!r} must be a list of group names like ["leadership"]')
    return tuple(value)


def _parse_date(value: Any, key: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{key} = {value!r} must be a date like 2010-01-01")
