"""Layering, checked on the source: who may import the engine libraries and the web framework.

docs/architecture.md: engine/ is the only package that imports SpiffWorkflow and lxml (and the
expression interpreter, simpleeval); imports flow api → services → {engine, db}. Every import
statement counts, including imports inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = "bpmn_service"
SOURCE = ROOT / "src" / PACKAGE
ENGINE_LIBRARIES = {"SpiffWorkflow", "simpleeval", "lxml"}
WEB_LIBRARIES = {"fastapi", "starlette"}
# The application factory composes the FastAPI app from api/; it is the one place outside api/
# that has to name the framework.
WEB_COMPOSITION_ROOT = {f"{PACKAGE}.main"}


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Absolute dotted names of everything a module imports (relative imports resolved)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base)
                module = f"{prefix}.{node.module}" if node.module else prefix
                if node.module is None:
                    found.update(f"{prefix}.{alias.name}" for alias in node.names)
                    continue
            else:
                module = node.module or ""
            found.add(module)
            # `from bpmn_service import engine` imports the subpackage.
            if module == PACKAGE:
                found.update(f"{PACKAGE}.{alias.name}" for alias in node.names)
    return found


MODULES = {module_name(p): imports_of(p) for p in sorted(SOURCE.rglob("*.py"))}


def top(name: str) -> str:
    return name.split(".")[0]


def in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_source_tree_was_found() -> None:
    assert f"{PACKAGE}.engine.parsing" in MODULES
    assert f"{PACKAGE}.api.routes.tasks" in MODULES
    assert len(MODULES) > 20
    # The walker sees relative and function-level imports.
    assert "SpiffWorkflow.bpmn.parser.BpmnParser" in MODULES[f"{PACKAGE}.engine.camunda_ext"]
    assert f"{PACKAGE}.services.uow" in MODULES[f"{PACKAGE}.services.tasks"]
    assert "uvicorn" in MODULES[f"{PACKAGE}.cli"]


def test_only_the_engine_imports_spiffworkflow_simpleeval_and_lxml() -> None:
    offenders = {
        module: sorted(n for n in names if top(n) in ENGINE_LIBRARIES)
        for module, names in MODULES.items()
        if not in_package(module, f"{PACKAGE}.engine")
    }
    assert {m: n for m, n in offenders.items() if n} == {}
    used = {top(n) for m, names in MODULES.items() for n in names if in_package(m, PACKAGE)}
    assert ENGINE_LIBRARIES <= used


def test_only_the_api_imports_fastapi_and_starlette() -> None:
    offenders = {
        module: sorted(n for n in names if top(n) in WEB_LIBRARIES)
        for module, names in MODULES.items()
        if not in_package(module, f"{PACKAGE}.api") and module not in WEB_COMPOSITION_ROOT
    }
    assert {m: n for m, n in offenders.items() if n} == {}


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("engine", ["api", "services", "db", "context"]),
        ("db", ["api", "services", "engine"]),
        ("services", ["api"]),
        ("api", ["engine"]),
    ],
)
def test_imports_flow_from_api_to_services_to_engine_and_db(
    layer: str, forbidden: list[str]
) -> None:
    offenders = {
        module: sorted(n for n in names if any(in_package(n, f"{PACKAGE}.{f}") for f in forbidden))
        for module, names in MODULES.items()
        if in_package(module, f"{PACKAGE}.{layer}")
    }
    assert {m: n for m, n in offenders.items() if n} == {}
