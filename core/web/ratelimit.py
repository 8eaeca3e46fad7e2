"""Rate limits for the public endpoints (Litestar's limiter, a file-backed store, proxy-aware keys).

Only handlers marked `opt={"public": True}` are limited: admin calls carry credentials instead. The
counter lives in a file store so a restart or a second worker process does not reset it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Any

from litestar import Request
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.stores.file import FileStore

from core.config import Settings

STORE_NAME = "ajanda_rate_limit"
LOGIN_STORE_NAME = "ajanda_login_rate_limit"


def client_address(request: Request[Any, Any, Any], trusted: frozenset[str]) -> str:
    """The caller's address; X-Forwarded-For counts only when the direct peer is a trusted proxy."""
    peer = request.client.host if request.client else "unknown"
    if peer not in trusted:
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):  # the right-most address not added by one of our proxies
        if hop not in trusted:
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return peer


def _store(settings: Settings, folder: str) -> FileStore:
    directory = Path(settings.base_dir) / settings.server.state_dir / folder
    directory.mkdir(parents=True, exist_ok=True)
    return FileStore(directory, create_directories=True)


def _limiter(
    settings: Settings,
    per_minute: int,
    store: str,
    folder: str,
    check: Callable[[Request[Any, Any, Any]], bool],
) -> tuple[RateLimitConfig | None, dict[str, Any]]:
    if per_minute == 0:
        return None, {}
    trusted = frozenset(settings.server.trusted_proxies)
    config = RateLimitConfig(
        rate_limit=("minute", per_minute),
        identifier_for_request=lambda request: client_address(request, trusted),
        check_throttle_handler=check,
        store=store,
    )
    return config, {store: _store(settings, folder)}


def _limited(request: Request[Any, Any, Any]) -> bool:
    """Public routes count; static files (CSS, scripts) do not: a page load is one request, not five."""
    opt = request.route_handler.opt
    return bool(opt.get("public")) and not opt.get("static")


def rate_limit(settings: Settings) -> tuple[RateLimitConfig | None, dict[str, Any]]:
    """The limiter config and the stores it needs (none when the limit is 0)."""
    return _limiter(
        settings,
        settings.server.rate_limit_per_minute,
        STORE_NAME,
        "rate-limit",
        lambda request: (
            bool(request.route_handler.opt.get("public")) and not request.route_handler.opt.get("static")
        ),
    )


def login_rate_limit(settings: Settings) -> tuple[RateLimitConfig | None, dict[str, Any]]:
    """A stricter limit on sign-in attempts (POST /login) per client address, in its own store so it
    does not share a counter with the public limit; the per-account lockout is in the database."""
    return _limiter(
        settings,
        settings.access.login_rate_per_minute,
        LOGIN_STORE_NAME,
        "login-rate-limit",
        lambda request: request.method == "POST",
    )
