"""The variables a message may carry into an instance, as its process declares them.

A catching element (message catch, boundary or start event, receive task) may name the variables
its message carries in a `variables` property, as a throw event names those it sends. A message
to an instance of that process may then set only those variables: a portal that reports a
construction finished cannot also set, say, the result of an inspection. Without the property a
message may carry any variables (Camunda's behaviour).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpmn_service.db.models import ProcessDefinition
from bpmn_service.engine import message_contracts
from bpmn_service.errors import FieldError, InvalidVariables

_CONTRACTS: dict[str, dict[str, frozenset[str] | None]] = {}  # by the BPMN file's checksum


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
    contracts = _CONTRACTS.get(checksum)
    if contracts is None:
        xml = session.scalar(
            select(ProcessDefinition.bpmn_xml).where(ProcessDefinition.id == definition_id)
        )
        contracts = _CONTRACTS[checksum] = message_contracts(xml or "")
    allowed = contracts.get(name)
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
