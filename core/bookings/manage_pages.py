"""The customer's own page from the signed link: see, reschedule, cancel, join the waitlist."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.params import FromPath
from litestar.response import Template

from core.access.permissions import PUBLIC
from core.web.pages import PAGE_FORM, page


class ManagePages(Controller):
    path = "/manage"
    include_in_schema = False
    opt = {**PUBLIC, **PAGE_FORM}

    @get("/{token:str}")
    async def view(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Template:
        return page(request, "manage/view.html", token=token)
