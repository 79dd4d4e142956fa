"""FastAPI dependencies: the shared context and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPBearer

from bpmn_service.context import AppContext
from bpmn_service.identity import Principal


# The dependencies below do no I/O (the users file is checked with a stat every two seconds): as
# coroutines they run on the event loop instead of each taking a trip through the thread pool,
# which a sync dependency costs on every request.
async def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[AppContext, Depends(get_context)]


class BearerPrincipal(HTTPBearer):
    """The authenticated caller, from `Authorization: Bearer <token>`, in one dependency.

    As an `HTTPBearer` it declares the API's bearer scheme in the OpenAPI document (Swagger UI's
    Authorize); as one dependency that reads the header itself it costs FastAPI one resolution
    per request instead of three (the scheme's, the context's and this), the most frequent
    calls' largest share of routing work."""

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        token = token.strip()
        # As HTTPBearer(auto_error=False) reads it: no bearer token is an anonymous caller.
        credentials = token if scheme.lower() == "bearer" and token else None
        ctx: AppContext = request.app.state.ctx
        principal = ctx.users.authenticate(credentials)
        request.state.user_id = principal.user_id
        return principal


get_principal = BearerPrincipal(
    auto_error=False, scheme_name="HTTPBearer", description="A token from the users file"
)

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
