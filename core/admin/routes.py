"""Admin API for the core itself: plugins, audit log, outbox jobs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromQuery, QueryParameter

from core.access.permissions import Permission, requires
from core.audit.log import verify
from core.context import AppContext
from core.errors import Conflict, NotFound
from core.outbox.queue import ERROR_FIELD
from core.web.auth import context_of
from core.web.params import PathId, QueryId


class PluginInfo(msgspec.Struct):
    name: str
    version: str
    origin: str
    enabled: bool
    description: str


class AuditRow(msgspec.Struct):
    seq: int
    at: datetime
    actor: str
    entity: str
    entity_id: str
    action: str
    changes: dict[str, Any]


class AuditVerification(msgspec.Struct):
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    problem: str | None


class JobRow(msgspec.Struct):
    id: int
    kind: str
    status: str
    attempts: int
    max_attempts: int
    run_at: datetime
    last_error: str | None


JobStatus = Annotated[
    str | None,
    QueryParameter(pattern="^(pending|running|done|dead)$", description="pending, running, done, dead"),
]
Limit = Annotated[int, QueryParameter(ge=1, le=500)]


class CoreAdminController(Controller):
    path = "/api/v1/admin"
    tags = ["admin"]

    @get("/plugins", operation_id="admin_plugins", opt=requires(Permission.PLUGINS_READ))
    async def plugins(self, request: Request[Any, Any, Any]) -> list[PluginInfo]:
        """Every installed plugin and whether it is enabled."""
        ctx = context_of(request)
        enabled = set(ctx.plugins.names)
        return [
            PluginInfo(d.name, d.version, d.origin, d.name in enabled, d.description)
            for d in ctx.plugins.discovered.values()
        ]

    @get("/audit", operation_id="admin_audit", opt=requires(Permission.AUDIT_READ))
    async def audit(
        self,
        request: Request[Any, Any, Any],
        entity: FromQuery[str | None] = None,
        entity_id: FromQuery[str | None] = None,
        before_seq: QueryId = None,
        limit: Limit = 100,
    ) -> list[AuditRow]:
        """Audit rows, newest first; filter by entity and id, page with `before_seq`."""
        ctx = context_of(request)
        where: list[str] = []
        args: list[Any] = []
        for column, value in (("entity", entity), ("entity_id", entity_id)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if before_seq is not None:
            where.append("seq < ?")
            args.append(before_seq)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = await ctx.db.fetch(
            "SELECT seq, at, actor_kind, actor_id, entity, entity_id, action, changes"
            f" FROM ajanda_audit{clause} ORDER BY seq DESC LIMIT ?",
            *args,
            limit,
        )
        return [
            AuditRow(
                int(r["seq"]),
                r["at"],
                f"{r['actor_kind']}:{r['actor_id']}",
                r["entity"],
                r["entity_id"],
                r["action"],
                msgspec.json.decode(r["changes"]),
            )
            for r in rows
        ]

    @get("/audit/verify", operation_id="admin_audit_verify", opt=requires(Permission.AUDIT_READ))
    async def audit_verify(self, request: Request[Any, Any, Any]) -> AuditVerification:
        """Check the whole hash chain and report the first broken link."""
        result = await verify(context_of(request).db)
        return AuditVerification(result.ok, result.checked, result.head_seq, result.head_hash, result.problem)

    @get("/jobs", operation_id="admin_jobs", opt=requires(Permission.JOBS_MANAGE))
    async def jobs(
        self,
        request: Request[Any, Any, Any],
        status: JobStatus = None,
        limit: Limit = 100,
    ) -> list[JobRow]:
        """Outbox jobs, newest first, optionally by status."""
        ctx = context_of(request)
        clause, args = ("WHERE status = ?", [status]) if status else ("", [])
        rows = await ctx.db.fetch(f"{_JOB_SELECT} {clause} ORDER BY id DESC LIMIT ?", *args, limit)
        return [_job_row(ctx, r) for r in rows]

    @post(
        "/jobs/{job_id:int}/retry",
        operation_id="admin_job_retry",
        opt=requires(Permission.JOBS_MANAGE),
        status_code=200,
    )
    async def retry(self, request: Request[Any, Any, Any], job_id: PathId) -> JobRow:
        """Give a dead job a fresh set of attempts, now."""
        ctx = context_of(request)
        async with ctx.db.transaction():
            rows = await ctx.db.fetch("SELECT status FROM ajanda_job WHERE id = ?", job_id)
            if not rows:
                raise NotFound("job", job_id)
            if rows[0]["status"] != "dead":
                raise Conflict(f"job {job_id} is {rows[0]['status']}, only dead jobs can be retried")
            await ctx.db.execute(
                "UPDATE ajanda_job SET status = 'pending', attempts = 0, run_at = ?,"
                " finished_at = NULL WHERE id = ?",
                datetime.now(UTC),
                job_id,
            )
            await ctx.audit.record("job", job_id, "retried", {"status": ["dead", "pending"]})
            rows = await ctx.db.fetch(f"{_JOB_SELECT} WHERE id = ?", job_id)
        return _job_row(ctx, rows[0])


_JOB_SELECT = "SELECT id, kind, status, attempts, max_attempts, run_at, last_error FROM ajanda_job"


def _job_row(ctx: AppContext, r: Any) -> JobRow:
    return JobRow(
        int(r["id"]), r["kind"], r["status"], int(r["attempts"]), int(r["max_attempts"]),
        r["run_at"], ctx.cipher.decrypt(r["last_error"], ERROR_FIELD),
    )  # fmt: skip
