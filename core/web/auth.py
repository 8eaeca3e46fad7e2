"""Who is calling and whether their role allows the route.

Every route declares `opt=requires(Permission.X)` or `opt=PUBLIC`; `check_route_permissions` refuses
to build an app with a route that declares neither (a plugin's included), so nothing is reachable by
accident. Callers prove who they are with an API token (`Authorization: Bearer ajt_...`), a login
session cookie, or, until the first owner account exists, the bootstrap token from the config.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.enums import HttpMethod
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.handlers.http_handlers import HTTPRouteHandler
from litestar.openapi.spec import Reference, SecurityRequirement, SecurityScheme

from core.access.accounts import owner_exists
from core.access.permissions import Permission, Role
from core.access.principal import Principal
from core.access.sessions import COOKIE, session_principal
from core.access.tokens import PREFIX, token_principal
from core.audit.records import set_actor
from core.context import AppContext
from core.errors import AjandaError

BOOTSTRAP = Principal(kind="bootstrap", id=0, name="bootstrap-admin", role=Role.OWNER)


def context_of(connection: ASGIConnection[Any, Any, Any, Any]) -> AppContext:
    ctx: AppContext = connection.app.state.context
    return ctx


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The authenticated caller of a protected route (set by the guard)."""
    principal: Principal = connection.scope["state"]["ajanda_principal"]
    return principal


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return token.strip()


def is_generated_options(handler: BaseRouteHandler) -> bool:
    """Litestar's automatic OPTIONS handlers (CORS preflight): they answer nothing but the methods."""
    return (
        isinstance(handler, HTTPRouteHandler)
        and handler.http_methods == {HttpMethod.OPTIONS}
        and not handler.include_in_schema
    )


def route_permission(handler: BaseRouteHandler) -> Permission | None:
    """The permission a route needs; None for a public one. Raises for a route that declares neither."""
    if handler.opt.get("public") or is_generated_options(handler):
        return None
    declared = handler.opt.get("permission")
    try:
        return Permission(str(declared))
    except ValueError:
        raise AjandaError(
            f"route {handler.handler_name} ({', '.join(sorted(getattr(handler, 'paths', [])))}) declares"
            f" no permission: add opt=requires(Permission.X) or opt=PUBLIC"
        ) from None


# How a caller proves who they are, as the OpenAPI description names it (components.securitySchemes).
SECURITY_SCHEMES: dict[str, SecurityScheme | Reference] = {
    "token": SecurityScheme(
        type="http",
        scheme="bearer",
        description=(
            "An API token (`ajt_...`, made by an owner or admin), or the bootstrap token from the config"
            " until the first owner account exists. What it may do is its role's permissions."
        ),
    ),
    "session": SecurityScheme(
        type="apiKey",
        name=COOKIE,
        security_scheme_in="cookie",
        description=(
            "The admin pages' sign-in session. Requests other than GET also send the `x-csrf-token`"
            " header with the value of the `ajanda_csrf` cookie."
        ),
    ),
}
SIGNED_IN: list[SecurityRequirement] = [{"token": []}, {"session": []}]


def check_route_permissions(app: Litestar) -> None:
    """Refuse to start with a route that declares no permission, and mark every other route in the
    OpenAPI description with the credentials it takes, so clients generated from it send them."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if route_permission(handler) is not None and isinstance(handler, HTTPRouteHandler):
                handler.security = handler.security or SIGNED_IN


async def _bootstrap_allowed(connection: ASGIConnection[Any, Any, Any, Any], ctx: AppContext) -> bool:
    """The bootstrap token works until an owner account exists; once one does, never again in this
    process (checked in the database until then, since `ajanda user add` runs in another process)."""
    state = connection.app.state
    if state.get("owner_exists"):
        return False
    if await owner_exists(ctx):
        state["owner_exists"] = True
        return False
    return True


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    ctx = context_of(connection)
    token = bearer_token(connection)
    if token is not None:
        if token.startswith(PREFIX):
            return await token_principal(ctx, token)
        expected = ctx.settings.security.admin_token
        if (
            expected is not None
            and hmac.compare_digest(token.encode(), expected.reveal().encode())
            and await _bootstrap_allowed(connection, ctx)
        ):
            return BOOTSTRAP
        return None
    session = connection.cookies.get(COOKIE)
    if session:
        return await session_principal(ctx, session)
    return None


async def access_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """401 without valid credentials, 403 when the caller's role lacks the route's permission.

    Async on purpose: Litestar runs a sync guard in a worker thread, where the actor set here would
    be lost to the handler's audit rows.
    """
    permission = route_permission(handler)
    if permission is None:
        return
    principal = await authenticate(connection)
    if principal is None:
        raise NotAuthorizedException(
            "Sign in, or send `Authorization: Bearer <API token>`.",
            headers={"WWW-Authenticate": 'Bearer realm="ajanda"'},
        )
    connection.scope["state"]["ajanda_principal"] = principal
    set_actor(principal.actor())
    if not principal.can(permission):
        raise PermissionDeniedException(
            f"The {principal.role.value} role may not do this (needs {permission.value})."
        )
