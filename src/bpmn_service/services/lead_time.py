"""Where a case's lead time ends: the user tasks a model marks with ``leadTimeEnd``.

The 获得电力 (Doing Business "getting electricity") time runs from the application to power-on;
archiving and the customer's evaluation come after it. A model says which step is power-on
with the extension property ``leadTimeEnd = true`` on that user task (docs/authoring.md), so an
analyst who moves or renames the step moves the measurement with it, without code. The markers
are read from each deployed version's BPMN text, which never changes once deployed, so they are
worked out once per version and process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpmn_service.db.models import ProcessDefinition
from bpmn_service.engine.report_marks import LEAD_TIME_END, lead_time_ends as marked_elements

__all__ = ["LEAD_TIME_END", "lead_time_ends", "marked_elements"]

_marked: dict[str, frozenset[str]] = {}  # definition id → marked element ids
_lock = threading.Lock()


def lead_time_ends(
    session: Session, key: str | None = None, version: int | None = None
) -> list[tuple[str, str]]:
    """(definition id, element id) of every marked task of the deployed versions (of a key and
    version, where given)."""
    query = select(ProcessDefinition.id, ProcessDefinition.key)
    if key is not None:
        query = query.where(ProcessDefinition.key == key)
    if version is not None:
        query = query.where(ProcessDefinition.version == version)
    definitions = dict(session.execute(query).tuples().all())
    with _lock:
        unknown = [d for d in definitions if d not in _marked]
    if unknown:
        texts = session.execute(
            select(ProcessDefinition.id, ProcessDefinition.bpmn_xml).where(
                ProcessDefinition.id.in_(unknown)
            )
        ).tuples()
        found = {d: marked_elements(xml, definitions[d]) for d, xml in texts}
        with _lock:
            _marked.update(found)
    with _lock:
        return sorted(_pairs(definitions, _marked))


def _pairs(
    definitions: Iterable[str], marked: dict[str, frozenset[str]]
) -> Iterable[tuple[str, str]]:
    for definition_id in definitions:
        for element_id in marked.get(definition_id, ()):
            yield definition_id, element_id
