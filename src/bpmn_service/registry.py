"""The licensed construction-unit registry behind recommend_construction_units().

Recommending is not designating (三不指定): the list rotates, seeded by the application number, so
every licensed unit is offered equally often, and the customer may still pick any other unit.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path
from typing import Any

VOLTAGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(kv|v)\s*$", re.IGNORECASE)
# The highest voltage (kV) each licence class may build (承装(修、试)电力设施许可证管理办法); 一级
# has no limit. A unit's max_voltage_kv above its class's is a mistake in the file, and would
# recommend the unit for work its licence does not allow.
CLASS_LIMIT_KV = {"一级": None, "二级": 330.0, "三级": 110.0, "四级": 35.0, "五级": 10.0}
_CLASS = re.compile(r"(一级|二级|三级|四级|五级)")


class ConstructionUnitRegistry:
    def __init__(self, units: list[dict[str, Any]]) -> None:
        self._units = units

    @classmethod
    def load(cls, path: Path) -> ConstructionUnitRegistry:
        if not path.exists():
            return cls([])
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        units = data.get("units", [])
        for i, unit in enumerate(units):
            missing = {"name", "license_no", "license_class", "max_voltage_kv"} - set(unit)
            if missing:
                raise ValueError(f"registry {path}: unit #{i + 1} lacks {sorted(missing)}")
            _check_licence(path, i, unit)
        return cls(units)

    def recommend(self, key: str, voltage: str, count: int = 3) -> list[dict[str, Any]]:
        kv = _kilovolts(voltage)
        eligible = sorted(
            (u for u in self._units if float(u["max_voltage_kv"]) >= kv),
            key=lambda u: u["license_no"],
        )
        if not eligible:
            return []
        count = max(0, min(int(count), len(eligible)))
        start = int(hashlib.sha256(str(key).encode()).hexdigest(), 16) % len(eligible)
        picked = [eligible[(start + i) % len(eligible)] for i in range(count)]
        return [
            {
                "name": u["name"],
                "licenseNo": u["license_no"],
                "licenseClass": u["license_class"],
                "region": u.get("region", ""),
            }
            for u in picked
        ]


def _check_licence(path: Path, index: int, unit: dict[str, Any]) -> None:
    name = f"registry {path}: unit #{index + 1} ({unit['name']})"
    try:
        cap = float(unit["max_voltage_kv"])
    except (TypeError, ValueError):
        raise ValueError(f"{name}: max_voltage_kv must be a number of kV") from None
    found = _CLASS.search(str(unit["license_class"]))
    limit = CLASS_LIMIT_KV[found.group(1)] if found else None
    if found and limit is not None and cap > limit:
        raise ValueError(
            f"{name}: max_voltage_kv {cap:g} is above what {unit['license_class']} allows "
            f"({limit:g} kV): lower it, or correct the licence class"
        )


def _kilovolts(voltage: str) -> float:
    match = VOLTAGE.match(str(voltage))
    if not match:
        raise ValueError(f"voltage {voltage!r} is not like '380V' or '10kV'")
    value = float(match.group(1))
    return value if match.group(2).lower() == "kv" else value / 1000
