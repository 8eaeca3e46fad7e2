"""The feedback page a thank-you message links to: a signed link, a rating and an optional comment.

The link carries the same kind of signed, expiring token as the self-service link (it names the booking
and nothing about the person). The page speaks the customer's language.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template

from core.access.permissions import PUBLIC
from core.bookings.links import BadLink, signer
from core.context import AppContext
from core.errors import FieldError, NotFound
from core.feedback.service import MAX_COMMENT, record_feedback
from core.web.auth import context_of
from core.web.pages import PAGE_FORM, page, page_language


class FeedbackForm(msgspec.Struct, kw_only=True):
    rating: Annotated[str, msgspec.Meta(max_length=2)] = ""
    comment: Annotated[str, msgspec.Meta(max_length=MAX_COMMENT)] = ""


async def _visit(ctx: AppContext, token: str) -> tuple[int, str, str]:
    """(booking id, service name, customer's language) of a valid link; 404 otherwise."""
    try:
        booking_id = signer(ctx).verify(token, ctx.clock.now())
    except BadLink:
        raise NotFound("feedback link", "") from None
    rows = await ctx.db.fetch(
        "SELECT s.name, c.language FROM booking b JOIN service s ON s.id = b.service"
        " LEFT JOIN customer c ON c.id = b.customer WHERE b.id = ?",
        booking_id,
    )
    if not rows:
        raise NotFound("feedback link", "")
    return booking_id, rows[0]["name"], rows[0]["language"] or ctx.settings.business.default_language


def _page(request: Request[Any, Any, Any], lang: str, status: int = 200, **values: Any) -> Template:
    """In the customer's own language unless they switch (the link is theirs, not the browser's)."""
    return page(request, "feedback.html", status=status, lang=page_language(request, lang), **values)


class FeedbackController(Controller):
    path = "/feedback"
    include_in_schema = False

    @get("/{token:str}", opt={**PUBLIC, **PAGE_FORM})
    async def form(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Template:
        _booking, service, lang = await _visit(context_of(request), token)
        return _page(request, lang, token=token, service=service, done=False, invalid=False)

    @post("/{token:str}", opt={**PUBLIC, **PAGE_FORM}, status_code=200)
    async def answer(
        self, request: Request[Any, Any, Any], token: FromPath[str], data: URLEncodedBody[FeedbackForm]
    ) -> Template:
        ctx = context_of(request)
        booking_id, service, lang = await _visit(ctx, token)
        try:
            await record_feedback(
                ctx, booking_id, int(data.rating) if data.rating.isdigit() else 0, data.comment
            )
        except FieldError:
            return _page(request, lang, 422, token=token, service=service, done=False, invalid=True)
        return _page(request, lang, token=token, service=service, done=True, invalid=False)
