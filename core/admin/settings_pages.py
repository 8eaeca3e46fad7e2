"""The admin settings pages: services, staff, hours, closures, and each plugin's settings."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Template

from core.access.permissions import Permission, requires
from core.web.pages import PAGE_FORM, page


class SettingsPages(Controller):
    path = "/admin/settings"
    include_in_schema = False

    @get("/", opt={**requires(Permission.SCHEDULING_READ), **PAGE_FORM})
    async def settings_home(self, request: Request[Any, Any, Any]) -> Template:
        return page(request, "admin/settings.html")
