"""CSRF protection for browser requests, with Litestar's own double-submit middleware.

It applies to every request that carries a login session cookie (the only credential a browser sends
by itself) and to the sign-in form (`opt={"form": True}`). API calls with a bearer token and the
public booking API carry no ambient credential, so they are not checked: an integration does not have
to fetch a CSRF cookie first.
"""

from __future__ import annotations

from litestar.config.csrf import CSRFConfig
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from core.access.sessions import COOKIE
from core.config import Settings

CSRF_COOKIE = "ajanda_csrf"
CSRF_HEADER = "x-csrf-token"
_SESSION = COOKIE.encode()


def _has_session_cookie(scope: Scope) -> bool:
    """Read the way Litestar reads cookies (names trimmed), so the check and the sign-in agree."""
    for name, value in scope["headers"]:
        if name == b"cookie" and any(
            part.partition(b"=")[0].strip() == _SESSION for part in value.split(b";")
        ):
            return True
    return False


def csrf_middleware(settings: Settings) -> object:
    config = CSRFConfig(
        secret=settings.security.secret_key.reveal(),
        cookie_name=CSRF_COOKIE,
        header_name=CSRF_HEADER,
        cookie_secure=settings.access.secure_cookies,
        cookie_samesite="lax",
    )

    def factory(app: ASGIApp) -> ASGIApp:
        checked = CSRFMiddleware(app=app, config=config)

        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            handler = scope.get("route_handler")
            form = handler is not None and bool(handler.opt.get("form"))
            if scope["type"] == "http" and (form or _has_session_cookie(scope)):
                await checked(scope, receive, send)
            else:
                await app(scope, receive, send)

        return middleware

    return factory
