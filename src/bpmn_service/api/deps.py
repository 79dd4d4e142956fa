"""FastAPI dependencies: the shared context and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bpmn_service.context import AppContext
from bpmn_service.identity import Principal

bearer = HTTPBearer(auto_error=False, description="A token from the users file")


# The dependencies below do no I/O (the users file is checked with a stat every two seconds): as
# coroutines they run on the event loop instead of each taking a trip through the thread pool,
# which a sync dependency costs on every request.
async def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[AppContext, Depends(get_context)]


async def get_principal(
    ctx: ContextDep,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    principal = ctx.users.authenticate(credentials.credentials if credentials else None)
    request.state.user_id = principal.user_id
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="retries with the same key return the first response; reuse with another "
        "request body is 409",
    ),
]
