"""What the deployed processes say about messages: which they send themselves, and which
variables each one they catch may carry. Both are read from the BPMN once per file (checksum).

* A message a deployed process throws itself (a stage clock's stop signal, a complaint linked to
  its case) comes from that process; a caller sending it could, say, stop a time limit's clock.
  Only an administrator may send one, to repair a case by hand.
* A catching element (message catch, boundary or start event, receive task) may name the
  variables its message carries in a `variables` property, as a throw event names those it
  sends. A message to an instance of that process may then set only those variables: a portal
  that reports a construction finished cannot also set, say, the result of an inspection.
  Without the property a message may carry any variables (Camunda's behaviour).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpmn_service.db.models import ProcessDefinition
from bpmn_service.engine import message_contracts, thrown_messages
from bpmn_service.errors import FieldError, Forbidden, InvalidVariables


@dataclass(frozen=True, slots=True)
class _Messages:
    thrown: frozenset[str]
    carried: dict[str, frozenset[str] | None]  # message -> its variables (None: any)


_BY_CHECKSUM: dict[str, _Messages] = {}


# Sent by services/clocks.py (which imports this value) when a declared time limit is breached.
ESCALATION_MESSAGE = "time_limit_breached"


def _messages(session: Session, definition_id: str, checksum: str) -> _Messages:
    found = _BY_CHECKSUM.get(checksum)
    if found is None:
        xml = (
            session.scalar(
                select(ProcessDefinition.bpmn_xml).where(ProcessDefinition.id == definition_id)
            )
            or ""
        )
        found = _BY_CHECKSUM[checksum] = _Messages(thrown_messages(xml), message_contracts(xml))
    return found


def refuse_internal(session: Session, name: str) -> None:
    """Forbidden when a deployed process throws message `name` itself, or when the service sends
    it (a time limit's breach: nobody outside may start an escalation)."""
    if name == ESCALATION_MESSAGE:
        raise Forbidden(
            f"message {name!r} is sent by the service when a time limit runs out, not by API "
            f"callers",
            details={"message_name": name},
        )
    rows = session.execute(
        select(ProcessDefinition.id, ProcessDefinition.key, ProcessDefinition.checksum)
    )
    for definition_id, key, checksum in rows.all():
        if name in _messages(session, definition_id, checksum).thrown:
            raise Forbidden(
                f"message {name!r} is sent by process {key!r} itself, not by API callers",
                details={"message_name": name, "process_key": key},
            )


def check_message_variables(
    session: Session, definition_id: str, name: str, variables: dict[str, Any]
) -> None:
    """InvalidVariables naming every variable that message `name` may not carry into an instance
    of the definition."""
    if not variables:
        return
    row = session.execute(
        select(ProcessDefinition.key, ProcessDefinition.checksum).where(
            ProcessDefinition.id == definition_id
        )
    ).one_or_none()
    if row is None:
        return
    key, checksum = row
    allowed = _messages(session, definition_id, checksum).carried.get(name)
    if allowed is None:
        return
    carried = ", ".join(sorted(allowed)) or "none"
    errors = [
        FieldError(
            variable,
            f"is not a variable of message {name!r} in process {key!r} (its variables: {carried})",
        )
        for variable in sorted(set(variables) - allowed)
    ]
    if errors:
        raise InvalidVariables(errors)


def carried_variables(session: Session, definition_id: str, name: str) -> list[str] | None:
    """The variables message `name` may carry into an instance of the definition (None: any)."""
    checksum = session.scalar(
        select(ProcessDefinition.checksum).where(ProcessDefinition.id == definition_id)
    )
    if checksum is None:
        return None
    allowed = _messages(session, definition_id, checksum).carried.get(name)
    return None if allowed is None else sorted(allowed)
