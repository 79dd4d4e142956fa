"""The engine is pinned to one SpiffWorkflow release and knows every upstream function it
replaces, copies or builds on (engine/upstream.py); an upgrade that changes any of them fails here
until the override is reviewed and its fingerprint recorded again."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import tomllib
from pathlib import Path

import bpmn_service.engine as engine_package
from bpmn_service.engine import upstream

ROOT = Path(__file__).resolve().parents[2]


def test_the_installed_spiffworkflow_is_the_pinned_release() -> None:
    assert upstream.installed_version() == upstream.PINNED_VERSION
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"SpiffWorkflow=={upstream.PINNED_VERSION}" in dependencies


def test_no_overridden_upstream_function_has_changed() -> None:
    assert upstream.drift() == []


def test_a_changed_upstream_function_is_reported() -> None:
    entry = upstream.OVERRIDES[0]
    changed = upstream.Override(entry.target, entry.how, entry.where, entry.why, "0" * 16)
    original = upstream.OVERRIDES
    try:
        upstream.OVERRIDES = (changed,)
        (problem,) = upstream.drift()
    finally:
        upstream.OVERRIDES = original
    assert entry.target in problem and entry.where in problem


def _upstream_methods_overridden() -> dict[str, str]:
    """Every SpiffWorkflow method that one of the engine's classes defines again, with the
    engine class that does."""
    found: dict[str, str] = {}
    for info in pkgutil.iter_modules(engine_package.__path__):
        module = importlib.import_module(f"{engine_package.__name__}.{info.name}")
        for cls in vars(module).values():
            if not isinstance(cls, type) or not cls.__module__.startswith("bpmn_service"):
                continue
            spiff = [k for k in cls.__mro__ if k.__module__.startswith("SpiffWorkflow")]
            if not spiff:
                continue
            for own in cls.__mro__:
                if not own.__module__.startswith("bpmn_service"):
                    continue
                for name, value in vars(own).items():
                    if not (inspect.isfunction(value) or isinstance(value, staticmethod)):
                        continue
                    definer = next((k for k in spiff if name in vars(k)), None)
                    if definer is not None:
                        target = f"{definer.__module__}:{definer.__qualname__}.{name}"
                        found[target] = f"{own.__module__}.{own.__qualname__}"
    return found


def test_every_overridden_upstream_method_is_fingerprinted() -> None:
    recorded = {entry.target for entry in upstream.OVERRIDES}
    overridden = _upstream_methods_overridden()
    assert overridden  # the scan finds the engine's classes
    missing = {t: by for t, by in overridden.items() if t not in recorded}
    assert missing == {}


def test_every_entry_says_why() -> None:
    for entry in upstream.OVERRIDES:
        assert entry.how in {"replaced", "copied", "extended", "relied on"}, entry
        assert entry.why and entry.where and len(entry.fingerprint) == 16, entry
