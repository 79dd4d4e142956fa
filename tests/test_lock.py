"""The lock files pin every dependency pyproject.toml declares, at versions it allows.

A dependency added to pyproject.toml without `make lock` fails here with the name to relock, before
an installation from the lock (make install, CI, the Docker image) would miss it.
"""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import ROOT

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", re.MULTILINE)


def pins(name: str) -> dict[str, str]:
    text = (ROOT / name).read_text(encoding="utf-8")
    return {canonicalize_name(n): v for n, v in PIN.findall(text)}


def declared() -> tuple[list[Requirement], list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = [Requirement(r) for r in project["dependencies"]]
    dev = [Requirement(r) for r in project["optional-dependencies"]["dev"]]
    return runtime, dev


@pytest.mark.parametrize(
    ("lock", "with_dev"), [("requirements.lock", False), ("requirements-dev.lock", True)]
)
def test_every_declared_dependency_is_pinned_at_an_allowed_version(
    lock: str, with_dev: bool
) -> None:
    pinned = pins(lock)
    runtime, dev = declared()
    problems = []
    for requirement in runtime + (dev if with_dev else []):
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement.name} is not in {lock}")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement.name}=={version} does not satisfy {requirement}")
    assert not problems, "run `make lock`: " + "; ".join(problems)


def test_every_pin_carries_a_hash() -> None:
    for lock in ("requirements.lock", "requirements-dev.lock"):
        text = (ROOT / lock).read_text(encoding="utf-8")
        for block in re.split(r"\n(?=[A-Za-z0-9])", text):
            if PIN.match(block):
                assert "--hash=sha256:" in block, (lock, block.splitlines()[0])


def test_the_dev_lock_runs_what_the_image_runs() -> None:
    runtime, dev_lock = pins("requirements.lock"), pins("requirements-dev.lock")
    differing = {n: (v, dev_lock.get(n)) for n, v in runtime.items() if dev_lock.get(n) != v}
    assert not differing, f"run `make lock`: the two lock files pin differently: {differing}"
