"""Recording a customer's feedback on a visit, and reading it back for their card."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from core.audit.records import Actor, acting_as
from core.db.values import as_utc
from core.errors import Conflict, FieldError, NotFound

if TYPE_CHECKING:
    from core.context import AppContext

COMMENT_FIELD = "feedback.comment"
MAX_COMMENT = 2000


class Feedback(msgspec.Struct, kw_only=True):
    booking: int
    rating: int
    comment: str | None
    at: datetime


async def record_feedback(ctx: AppContext, booking_id: int, rating: int, comment: str) -> None:
    if not 1 <= rating <= 5:
        raise FieldError("rating", "must be 1 to 5")
    if len(comment) > MAX_COMMENT:
        raise FieldError("comment", f"at most {MAX_COMMENT} characters")
    rows = await ctx.db.fetch("SELECT status, customer FROM booking WHERE id = ?", booking_id)
    if not rows:
        raise NotFound("booking", booking_id)
    if rows[0]["status"] != "completed":
        raise Conflict("feedback is for a visit that took place")
    customer = rows[0]["customer"]
    now = ctx.clock.now()
    sealed = ctx.cipher.encrypt(comment.strip() or None, COMMENT_FIELD)
    with acting_as(Actor("customer_link", f"booking:{booking_id}")):
        async with ctx.db.transaction():
            await ctx.db.execute(
                "INSERT INTO booking_feedback (booking, customer, rating, comment_enc, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (booking)"
                " DO UPDATE SET rating = excluded.rating, comment_enc = excluded.comment_enc,"
                " updated_at = excluded.updated_at",
                booking_id, customer, rating, sealed, now, now,
            )  # fmt: skip
            await ctx.audit.record(
                "booking",
                booking_id,
                "feedback",
                {"rating": rating, "comment": "[redacted]" if comment else None},
            )


async def feedback_of(ctx: AppContext, customer_id: int) -> list[Feedback]:
    rows = await ctx.db.fetch(
        "SELECT booking, rating, comment_enc, updated_at FROM booking_feedback WHERE customer = ?"
        " ORDER BY updated_at DESC, id DESC LIMIT 50",
        customer_id,
    )
    return [
        Feedback(
            booking=int(r["booking"]), rating=int(r["rating"]),
            comment=ctx.cipher.decrypt(r["comment_enc"], COMMENT_FIELD),
            at=as_utc(r["updated_at"]) or r["updated_at"],
        )
        for r in rows
    ]  # fmt: skip
