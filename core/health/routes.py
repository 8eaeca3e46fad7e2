"""GET /healthz: is the database reachable, is a worker alive, is work piling up."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
from litestar import Request, Response, get

from core.notifications.log import overdue
from core.outbox.worker import workers_alive
from core.plugins import core_version
from core.web.auth import context_of

FAILED_DAYS = 7


class JobCounts(msgspec.Struct):
    due: int
    running: int
    dead: int


class MessageCounts(msgspec.Struct):
    # Due more than `[messages] overdue_minutes` ago and still waiting to go out.
    overdue: int
    # Gave up after every retry within the last FAILED_DAYS (see the message log; "resend" queues
    # them again). Older failures stay in the log but no longer count: a reminder for a visit long
    # past is not worth an alert, and a count that only grows cannot be alerted on.
    failed: int


class Health(msgspec.Struct):
    status: str  # ok | degraded | down
    database: bool
    workers_alive: int
    jobs: JobCounts | None
    version: str
    messages: MessageCounts | None = None


@get("/healthz", opt={"public": True}, operation_id="health", tags=["system"])
async def healthz(request: Request[Any, Any, Any]) -> Response[Health]:
    """Database reachable, workers alive, due and dead jobs, overdue and failed messages.

    200 with status `ok` or `degraded` (no worker alive, dead jobs waiting for someone, or overdue
    messages); 503 when the database cannot be reached.
    """
    ctx = context_of(request)
    version = core_version()
    if not await ctx.db.ping():
        return Response(Health("down", False, 0, None, version), status_code=503)
    counts = await ctx.outbox.counts()
    alive = await workers_alive(ctx)
    messages = MessageCounts(
        overdue=await overdue(ctx),
        failed=int(
            await ctx.db.fetchval(
                "SELECT COUNT(*) FROM message WHERE status = 'failed' AND updated_at >= ?",
                ctx.clock.now() - timedelta(days=FAILED_DAYS),
            )
            or 0
        ),
    )
    status = "ok" if alive and counts["dead"] == 0 and messages.overdue == 0 else "degraded"
    return Response(Health(status, True, alive, JobCounts(**counts), version, messages))
