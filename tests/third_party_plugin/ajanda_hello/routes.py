"""HTTP routes, mounted by the core under /p/hello/; each declares a permission or PUBLIC.

Handlers are built per app instance and close over its context, so two apps in one process never see
each other's configuration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar import get

from ajanda_hello.tables import HelloVisit
from core import PUBLIC, Permission, requires

if TYPE_CHECKING:
    from core.context import AppContext


class Greeting(msgspec.Struct, frozen=True):
    greeting: str
    times: int
    text: str


class VisitCount(msgspec.Struct, frozen=True):
    count: int


def route_handlers(context: AppContext) -> list[Any]:
    @get("/greet", opt=PUBLIC, sync_to_thread=False)
    def greet() -> Greeting:
        """The configured greeting; public, so it works without a token."""
        config = context.plugin_config("hello")
        return Greeting(greeting=config.greeting, times=config.times, text=config.text())

    @get("/visits", opt=requires(Permission.PLUGINS_READ))
    async def visits() -> VisitCount:
        """How many visits were recorded; for roles that may read plugin data."""
        return VisitCount(count=await HelloVisit.count())

    return [greet, visits]
