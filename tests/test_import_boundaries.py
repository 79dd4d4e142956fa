"""Layering, checked on the source: who may import the engine libraries, the web framework and
which part of the service.

docs/architecture.md: engine/ is the only package that imports SpiffWorkflow and lxml (and the
expression interpreter, simpleeval); only api/ (and the application factory) imports FastAPI.
The service's own parts form layers, each importing only the layers below it:

    cli, main                      entry points: compose everything; nothing imports them
    api, simulation,               the applications on the service layer; none imports another
      reference_workers
    services                       use cases
    context                        the per-process composition of settings, database and engine
    check_config                   the offline check's configuration (engine only, no database)
    engine, db                     SpiffWorkflow and the database; neither imports the other
    everything else (config,       foundation: plain modules that import only each other
      errors, timelimits, ...)

api/ reaches the database and the engine only through services/; simulation/ drives the engine
directly (live instances) and writes its throwaway history database itself. A new top-level
module is foundation until it is given a layer here. Every import statement counts, including
imports inside functions and under TYPE_CHECKING.
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


def is_module(name: str) -> bool:
    return (SOURCE / name).is_dir() or (SOURCE / f"{name}.py").is_file()


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
            # `from bpmn_service import engine` imports the subpackage (`__version__` is a name).
            if module == PACKAGE:
                found.update(
                    f"{PACKAGE}.{alias.name}" for alias in node.names if is_module(alias.name)
                )
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


# What each part of the service may import besides itself and the foundation modules.
ENTRY_POINTS = frozenset({"cli", "main"})
MAY_IMPORT: dict[str, frozenset[str]] = {
    "api": frozenset({"services", "context"}),
    "simulation": frozenset({"services", "context", "engine", "db"}),
    "reference_workers": frozenset({"services", "context"}),
    "services": frozenset({"context", "engine", "db"}),
    "context": frozenset({"engine", "db"}),
    "check_config": frozenset({"engine"}),
    "engine": frozenset(),
    "db": frozenset(),
}


def unit(module: str) -> str:
    """The part of the service a module belongs to: its subpackage or top-level module."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


UNITS = {unit(m) for m in MODULES} - {""}
FOUNDATION = UNITS - ENTRY_POINTS - set(MAY_IMPORT)


def test_the_layers_name_the_parts_that_exist() -> None:
    assert set(MAY_IMPORT) | ENTRY_POINTS <= UNITS
    assert {"config", "errors", "timelimits", "workcalendar", "worker"} <= FOUNDATION
    # The walker sees what the rules are about.
    assert f"{PACKAGE}.db.models" in MODULES[f"{PACKAGE}.simulation.history"]
    assert f"{PACKAGE}.services.deployments" in MODULES[f"{PACKAGE}.simulation.history"]
    assert f"{PACKAGE}.api" in {".".join(n.split(".")[:2]) for n in MODULES[f"{PACKAGE}.main"]}


@pytest.mark.parametrize("part", sorted(UNITS - ENTRY_POINTS))
def test_each_part_imports_only_the_layers_below_it(part: str) -> None:
    allowed = {part} | MAY_IMPORT.get(part, frozenset()) | FOUNDATION
    offenders = {
        module: sorted(n for n in names if n.startswith(f"{PACKAGE}.") and unit(n) not in allowed)
        for module, names in MODULES.items()
        if unit(module) == part
    }
    assert {m: n for m, n in offenders.items() if n} == {}


def test_no_module_imports_another_modules_private_names() -> None:
    """A helper another module needs is public in a module named for its job (see runner.py and
    instance_view.py), not reached for with an underscore."""
    offenders = []
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if not (node.level or (node.module or "").startswith(PACKAGE)):
                continue
            offenders += [
                f"{module_name(path)}: {node.module or '.'}.{alias.name}"
                for alias in node.names
                if alias.name.startswith("_") and not alias.name.startswith("__")
            ]
    assert offenders == []
