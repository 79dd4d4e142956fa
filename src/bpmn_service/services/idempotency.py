"""Idempotency-Key: a retried start or completion returns the first answer and does nothing twice.

The key's record is written in the same transaction as the effect, so after a crash either both
exist or neither does. Concurrent retries race on the record's primary key: the loser's effect is
rolled back and it answers with the winner's stored response.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bpmn_service.db.models import IdempotencyRecord
from bpmn_service.errors import IdempotencyMismatch

RETENTION = timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class Idempotency:
    """An Idempotency-Key scoped to its caller and operation, with the request's fingerprint."""

    scope: str
    key: str
    request_hash: str

    @classmethod
    def of(cls, key: str | None, *, user: str, operation: str, body: Any) -> Idempotency | None:
        if key is None:
            return None
        digest = hashlib.sha256(
            json.dumps(body, sort_keys=True, default=str, ensure_ascii=False).encode()
        ).hexdigest()
        return cls(scope=f"{user}:{operation}", key=key, request_hash=digest)


@dataclass(frozen=True, slots=True)
class Replay:
    """The stored first response to a retried request."""

    status_code: int
    body: dict[str, Any]


def lookup(session: Session, idem: Idempotency | None) -> Replay | None:
    if idem is None:
        return None
    record = session.get(IdempotencyRecord, (idem.scope, idem.key))
    if record is None:
        return None
    if record.request_hash != idem.request_hash:
        raise IdempotencyMismatch(
            f"Idempotency-Key {idem.key!r} was already used with a different request",
            details={"key": idem.key},
        )
    return Replay(record.status_code, record.response_body)


def remember(
    session: Session,
    idem: Idempotency | None,
    status_code: int,
    body: dict[str, Any],
    now: datetime,
) -> None:
    if idem is None:
        return
    session.add(
        IdempotencyRecord(
            scope=idem.scope,
            key=idem.key,
            request_hash=idem.request_hash,
            status_code=status_code,
            response_body=body,
            created_at=now,
            expires_at=now + RETENTION,
        )
    )
    session.flush()


def replay_after_race(ctx_sessions: Any, idem: Idempotency | None) -> Replay | None:
    """After a failed attempt, the stored response of a concurrent retry that won, if any."""
    if idem is None:
        return None
    with ctx_sessions() as session:
        return lookup(session, idem)
