"""Static files (CSS, the vendored htmx, images) through the theme chain, public and not rate-limited.

Assets carry `?v=<version>` in their URLs, so browsers may keep them for a long time.
"""

from __future__ import annotations

from typing import Any

from litestar.datastructures import CacheControlHeader
from litestar.router import Router
from litestar.static_files import create_static_files_router

from core.themes import ThemeChain


def static_router(chain: ThemeChain) -> Router:
    return create_static_files_router(
        path="/static",
        directories=list[Any](chain.folders("static")),
        opt={"public": True, "static": True},
        include_in_schema=False,
        cache_control=CacheControlHeader(max_age=30 * 86400, public=True),
    )
