"""Lane name -> candidate groups, per process key with a "*" fallback (lane-groups.toml)."""

from __future__ import annotations

import tomllib
from pathlib import Path


class LaneGroups:
    def __init__(self, mapping: dict[str, dict[str, list[str]]]) -> None:
        self._mapping = mapping

    @classmethod
    def load(cls, path: Path) -> LaneGroups:
        if not path.exists():
            return cls({})
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"lane groups file {path} is not valid TOML: {exc}") from None
        mapping: dict[str, dict[str, list[str]]] = {}
        for key, lanes in data.items():
            if not isinstance(lanes, dict):
                raise ValueError(f"lane groups file {path}: [{key}] must be a table")
            for lane, groups in lanes.items():
                if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
                    raise ValueError(
                        f"lane groups file {path}: {key}.{lane} must be a list of groups"
                    )
            mapping[key] = {lane: list(groups) for lane, groups in lanes.items()}
        return cls(mapping)

    def groups_for(self, process_key: str, lane: str | None) -> list[str]:
        if lane is None:
            return []
        for scope in (process_key, "*"):
            groups = self._mapping.get(scope, {}).get(lane)
            if groups:
                return groups
        return []

    def has_groups(self, process_key: str, lane: str | None) -> bool:
        return bool(self.groups_for(process_key, lane))
