"""Importing the engine leaves SpiffWorkflow as it is for any other code in the process: every
class attribute and module global of every loaded SpiffWorkflow module is the one SpiffWorkflow
defines (compared with a process that imports SpiffWorkflow alone), and a stock workflow runs on
SpiffWorkflow's own code."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskIterator, TaskState

import bpmn_service.engine  # noqa: F401  (what is imported is the point)
from bpmn_service.engine.workflow import ServiceWorkflow

DATA = Path(__file__).resolve().parent / "bpmn"

_SNAPSHOT = r"""
import importlib, json, sys, types
def describe(value):
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    if isinstance(value, property):
        return ["property", describe(value.fget), describe(value.fset)]
    if isinstance(value, (types.FunctionType, type, types.BuiltinFunctionType)):
        return [type(value).__name__, value.__module__, value.__qualname__]
    if isinstance(value, types.ModuleType):
        return ["module", value.__name__]
    return [type(value).__module__, type(value).__qualname__]
def snapshot(names):
    out = {}
    for name in names:
        module = importlib.import_module(name)
        for key, value in sorted(vars(module).items()):
            if key.startswith("__") or isinstance(value, types.ModuleType):
                continue  # submodules appear on their package in the order they are imported
            out[f"{name}:{key}"] = describe(value)
            if isinstance(value, type) and value.__module__ == name:
                for attr, member in sorted(vars(value).items()):
                    if attr.startswith("__") and attr not in ("__init__", "__next__", "__iter__"):
                        continue
                    out[f"{name}:{key}.{attr}"] = describe(member)
    return out
"""


def _snapshot_here(names: list[str]) -> dict[str, Any]:
    scope: dict[str, Any] = {}
    exec(_SNAPSHOT, scope)  # the same code as in the clean process
    return json.loads(json.dumps(scope["snapshot"](names)))


def test_spiffworkflow_modules_are_unchanged_by_the_engine() -> None:
    names = sorted(
        name
        for name, module in sys.modules.items()
        if name.startswith("SpiffWorkflow") and isinstance(module, types.ModuleType)
    )
    clean = subprocess.run(
        [
            sys.executable,
            "-c",
            _SNAPSHOT + "print(json.dumps(snapshot(json.loads(sys.argv[1]))))",
            json.dumps(names),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    expected = json.loads(clean.stdout)
    here = _snapshot_here(names)
    changed = {
        k: (expected.get(k), here.get(k))
        for k in set(expected) | set(here)
        if expected.get(k) != here.get(k)
    }
    assert changed == {}


def test_a_stock_workflow_runs_on_spiffworkflows_own_code() -> None:
    assert Task._set_state.__module__ == "SpiffWorkflow.task"
    assert TaskIterator.__next__.__module__ == "SpiffWorkflow.util.task"
    parser = BpmnParser()
    parser.add_bpmn_file(str(DATA / "parallel_join.bpmn"))
    stock = BpmnWorkflow(parser.get_spec("parallel_join"))
    assert type(stock.task_tree) is Task
    stock.do_engine_steps()
    for task in stock.get_tasks(state=TaskState.READY, manual=True):
        task.run()
        stock.do_engine_steps()
    assert stock.is_completed()
    assert all(type(t) is Task for t in stock.tasks.values())
    assert not isinstance(stock, ServiceWorkflow)
