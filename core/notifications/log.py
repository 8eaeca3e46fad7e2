"""The message log: what was sent to whom, on which channel, when, and every attempt it took."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from core.db.values import as_utc
from core.errors import Conflict, NotFound
from core.notifications.planner import SEND_JOB
from core.notifications.sender import ERROR_FIELD, MESSAGE_COLUMNS

if TYPE_CHECKING:
    from core.context import AppContext


class AttemptOut(msgspec.Struct, kw_only=True):
    channel: str
    medium: str
    status: str  # sending | sent | failed
    error: str | None  # what the provider said
    started_at: datetime
    finished_at: datetime | None


class MessageOut(msgspec.Struct, kw_only=True):
    id: int
    kind: str
    category: str
    recipient: str
    customer: int | None
    booking: int | None
    staff: int | None
    # queued | sending | sent | retrying | failed | suppressed
    status: str
    channel: str | None
    medium: str | None
    language: str
    # Why it was suppressed or failed (a short code: "no marketing consent", "frequency cap"...).
    detail: str
    attempts: int
    due_at: datetime
    sent_at: datetime | None
    created_at: datetime
    tries: list[AttemptOut] | None = None


def message_out(row: Any) -> MessageOut:
    return MessageOut(
        id=int(row["id"]), kind=row["kind"], category=row["category"], recipient=row["recipient"],
        customer=row["customer"], booking=row["booking"], staff=row["staff"], status=row["status"],
        channel=row["channel"], medium=row["medium"], language=row["language"], detail=row["detail"],
        attempts=int(row["attempts"]), due_at=as_utc(row["due_at"]) or row["due_at"],
        sent_at=as_utc(row["sent_at"]), created_at=as_utc(row["created_at"]) or row["created_at"],
    )  # fmt: skip


FILTERS = ("status", "kind", "customer", "booking", "channel", "medium")


async def list_messages(
    ctx: AppContext,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
    **filters: Any,
) -> list[MessageOut]:
    """Newest first; `before_id` pages backwards."""
    where, args = [], []
    for name in FILTERS:
        if filters.get(name) is not None:
            where.append(f"{name} = ?")
            args.append(filters[name])
    for clause, value in (("created_at >= ?", since), ("created_at < ?", until), ("id < ?", before_id)):
        if value is not None:
            where.append(clause)
            args.append(value)
    sql = f"SELECT {MESSAGE_COLUMNS}, created_at FROM message"
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = await ctx.db.fetch(f"{sql} ORDER BY id DESC LIMIT ?", *args, limit)
    return [message_out(r) for r in rows]


async def get_message(ctx: AppContext, message_id: int) -> MessageOut:
    rows = await ctx.db.fetch(f"SELECT {MESSAGE_COLUMNS}, created_at FROM message WHERE id = ?", message_id)
    if not rows:
        raise NotFound("message", message_id)
    out = message_out(rows[0])
    tries = await ctx.db.fetch(
        "SELECT channel, medium, status, error_enc, started_at, finished_at FROM message_attempt"
        " WHERE message = ? ORDER BY id",
        message_id,
    )
    out.tries = [
        AttemptOut(
            channel=t["channel"], medium=t["medium"], status=t["status"],
            error=ctx.cipher.decrypt(t["error_enc"], ERROR_FIELD),
            started_at=as_utc(t["started_at"]) or t["started_at"], finished_at=as_utc(t["finished_at"]),
        )
        for t in tries
    ]  # fmt: skip
    return out


async def resend(ctx: AppContext, message_id: int) -> MessageOut:
    """Queue the message again now, whatever became of it (e.g. failed while the provider was down).
    Its checks run again at sending time: a reminder for a booking cancelled since is not resent."""
    rows = await ctx.db.fetch("SELECT id, status, payload, attempts FROM message WHERE id = ?", message_id)
    if not rows:
        raise NotFound("message", message_id)
    row = rows[0]
    if row["status"] in ("queued", "sending"):
        raise Conflict("the message is already on its way")
    payload = msgspec.json.decode(row["payload"])
    now = ctx.clock.now()
    payload.update(resend=True, due=now.isoformat())
    async with ctx.db.transaction():
        await ctx.db.execute(
            "UPDATE message SET status = 'queued', detail = 'resend requested', updated_at = ? WHERE id = ?",
            now,
            message_id,
        )
        await ctx.outbox.enqueue(
            SEND_JOB, payload, dedupe_key=f"msg:{payload['key']}:resend:{int(now.timestamp() * 1000)}"
        )
        await ctx.audit.record("message", message_id, "resend", {"kind": payload["kind"]})
    return await get_message(ctx, message_id)


async def overdue(ctx: AppContext) -> int:
    """Messages whose time has come more than `[messages] overdue_minutes` ago and that are still waiting."""
    cutoff = ctx.clock.now() - timedelta(minutes=ctx.settings.messages.overdue_minutes)
    value = await ctx.db.fetchval(
        "SELECT COUNT(*) FROM ajanda_job WHERE kind = ? AND status IN ('pending', 'running') AND run_at <= ?",
        SEND_JOB,
        cutoff,
    )
    return int(value or 0)
