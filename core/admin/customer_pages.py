"""The admin customer list and card."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Template

from core.access.permissions import Permission, requires
from core.web.pages import PAGE_FORM, page


class CustomerPages(Controller):
    path = "/admin/customers"
    include_in_schema = False

    @get("/", opt={**requires(Permission.CUSTOMERS_READ), **PAGE_FORM})
    async def customers(self, request: Request[Any, Any, Any]) -> Template:
        return page(request, "admin/customers.html")
