"""The format of a stored instance state, its version, and the migrations between versions.

A stored state is SpiffWorkflow's serialized workflow (serializer format 1.5 of SpiffWorkflow
3.2.0) with the spec named instead of embedded (serialization.py), plus `state_format`, the
service's own version of that whole text. Every state the service writes has the current
version; loading an older one upgrades it through MIGRATIONS, one version at a time, before
SpiffWorkflow's serializer sees it. A state newer than this engine knows is refused, never
guessed at. `process_instance.state_format` repeats the version of each stored row, so an
operator can count what an upgrade will migrate.

The versions:

1. Until the engine had its own classes (commit 09647aa and before): SpiffWorkflow's dict, spec by
   name, no `state_format` key. Always SpiffWorkflow serializer 1.5.
2. The same content, restored into the engine's own classes (workflow.py, specs.py) under
   SpiffWorkflow's type names, with `state_format: 2`.
3. Compacted task trees (compaction.py): finished tasks nothing reads again are dropped, so a
   task's parent is its nearest kept ancestor and the root's child may be any task; `compacted`
   counts the engine tasks dropped so far. An engine of format 2 must not read such a state.
   The upgrade from 2 adds `compacted: 0`; the tree is compacted the next time the instance
   advances.

To change the format: bump STATE_FORMAT, add the function that upgrades a dict of the previous
version in place to MIGRATIONS, write fixtures with the old engine (make_state_fixtures.py) and
keep every older fixture: tests/engine/test_stored_states.py loads them all and runs them to the
end. A SpiffWorkflow upgrade that changes its serializer
format is such a change: its own migrations (SpiffWorkflow.bpmn.serializer.migration) run inside
the new step, checked by the same fixtures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

STATE_FORMAT = 3
KEY = "state_format"
COMPACTED = "compacted"
SPIFF_SERIALIZER_VERSION = "1.5"


class StateFormatError(ValueError):
    """A stored state this engine cannot read."""


def _from_1(dct: dict[str, Any]) -> None:
    version = dct.get("serializer_version")
    if version != SPIFF_SERIALIZER_VERSION:
        raise StateFormatError(
            f"a state of format 1 must be SpiffWorkflow serializer {SPIFF_SERIALIZER_VERSION}, "
            f"this one says {version!r}"
        )


def _from_2(dct: dict[str, Any]) -> None:
    dct[COMPACTED] = 0


# version N → the function that upgrades a dict of version N to N + 1, in place
MIGRATIONS: dict[int, Callable[[dict[str, Any]], None]] = {1: _from_1, 2: _from_2}


def version_of(dct: dict[str, Any]) -> int:
    version = dct.get(KEY, 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise StateFormatError(f"the stored state has an invalid {KEY}: {version!r}")
    return version


def upgrade(dct: dict[str, Any]) -> dict[str, Any]:
    """`dct` (a parsed stored state of any known version) upgraded in place to STATE_FORMAT."""
    version = version_of(dct)
    if version > STATE_FORMAT:
        raise StateFormatError(
            f"the stored state has format {version}, written by a newer version of the service; "
            f"this one reads formats up to {STATE_FORMAT}"
        )
    while version < STATE_FORMAT:
        MIGRATIONS[version](dct)
        version += 1
        dct[KEY] = version
    return dct
