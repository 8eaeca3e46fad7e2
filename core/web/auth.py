"""Who is calling: the bootstrap admin token for now (accounts and roles come with the access issue).

Routes are protected by default; a handler opts out with `opt={"public": True}`.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

from core.audit.records import Actor, set_actor
from core.context import AppContext


def context_of(connection: ASGIConnection[Any, Any, Any, Any]) -> AppContext:
    ctx: AppContext = connection.app.state.context
    return ctx


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return token.strip()


async def admin_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Allow public handlers; everything else needs the admin token.

    Async on purpose: Litestar runs a sync guard in a worker thread, where the actor set here would
    be lost to the handler's audit rows.
    """
    if handler.opt.get("public"):
        return
    expected = context_of(connection).settings.security.admin_token
    token = bearer_token(connection)
    if expected is None or token is None or not hmac.compare_digest(token, expected.reveal()):
        raise NotAuthorizedException(
            "Admin rights required: send `Authorization: Bearer <admin token>`.",
            headers={"WWW-Authenticate": 'Bearer realm="ajanda"'},
        )
    set_actor(Actor("token", "bootstrap-admin"))
