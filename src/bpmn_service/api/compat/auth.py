"""Who calls /engine-rest: HTTP Basic (user id and token as the password) or a Bearer token.

Camunda clients and Camunda Modeler authenticate with a user name and password, so Basic carries
the user id of the users file as the name and that user's token as the password; both must match.
Bearer carries the token alone, exactly as on /api/v1.
"""

from __future__ import annotations

import base64
import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.http import HTTPBase

from bpmn_service.api.deps import ContextDep
from bpmn_service.errors import Unauthenticated
from bpmn_service.identity import Principal

# Declared for the OpenAPI description (Swagger's Authorize button); the header is read below.
basic_scheme = HTTPBase(scheme="basic", auto_error=False, description="user id and token")
bearer_scheme = HTTPBearer(auto_error=False, description="a token from the users file")
Declared = Annotated[HTTPAuthorizationCredentials | None, Depends(basic_scheme)]
DeclaredBearer = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


async def camunda_principal(  # no I/O: runs on the event loop, not the thread pool
    ctx: ContextDep, request: Request, _basic: Declared, _bearer: DeclaredBearer
) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and credentials:
        principal = ctx.users.authenticate(credentials)
    elif scheme.lower() == "basic" and credentials:
        user_id, token = _basic_credentials(credentials)
        try:
            principal = ctx.users.authenticate(token)
        except Unauthenticated:  # the password is the token: say which part was wrong
            raise Unauthenticated(
                "invalid Basic credentials: the password must be the user's token"
            ) from None
        if not hmac.compare_digest(principal.user_id.encode(), user_id.encode()):
            raise Unauthenticated("the user name does not match the token's user")
    else:
        raise Unauthenticated(
            "missing credentials: send 'Authorization: Basic <user id:token>' or 'Bearer <token>'"
        )
    request.state.user_id = principal.user_id
    return principal


def _basic_credentials(credentials: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except ValueError:  # not base64 (binascii.Error), not ASCII, or not UTF-8 inside
        raise Unauthenticated("the Basic credentials are not base64 of 'user:token'") from None
    user_id, colon, token = decoded.partition(":")
    if not colon or not user_id or not token:
        raise Unauthenticated("the Basic credentials must be 'user id:token'")
    return user_id, token


CamundaPrincipalDep = Annotated[Principal, Depends(camunda_principal)]
