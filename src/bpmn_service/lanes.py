"""Lane name -> candidate groups, per process key with a "*" fallback (lane-groups.toml)."""

from __future__ import annotations

import difflib
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

    def hint_for(self, process_key: str, lane: str) -> str | None:
        """Why a lane of `process_key` found no groups, when the file suggests it: the lane is
        listed under other processes only (a process given a new key), or a listed lane's name
        is close to it (a lane renamed, a space added in the Modeler)."""
        elsewhere = sorted(
            scope for scope, lanes in self._mapping.items() if lanes.get(lane) and scope != "*"
        )
        if elsewhere:
            listed = ", ".join(f"[{scope}]" for scope in elsewhere)
            return (
                f"lane-groups.toml lists {lane!r} only under {listed}: add it under "
                f'[{process_key}] or ["*"]'
            )
        names = {
            name
            for scope in (process_key, "*")
            for name, groups in self._mapping.get(scope, {}).items()
            if groups
        }
        stripped = [name for name in names if name.strip() == lane.strip()]
        found = stripped or difflib.get_close_matches(lane, sorted(names), n=1, cutoff=0.6)
        if found:
            return f"did you mean the lane {found[0]!r}, which lane-groups.toml lists?"
        return None
