"""The outbox and worker in-process: transactional enqueue, dedupe, backoff, dead jobs, concurrency.
(Crash safety with real processes is in test_outbox_crash.py.)"""

from __future__ import annotations

import asyncio
import types
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core import PluginMeta, hookimpl
from core.context import AppContext
from core.outbox.queue import ERROR_FIELD
from core.outbox.worker import Worker, backoff_delay
from tests.conftest import admin_headers, api_client


def job_plugin(handlers: dict[str, Any]) -> types.ModuleType:
    module = types.ModuleType("jobs")
    module.PLUGIN = PluginMeta(name="jobs", version="1")  # type: ignore[attr-defined]
    module.register_job_handlers = hookimpl(lambda: handlers)  # type: ignore[attr-defined]
    return module


async def _job(ctx: AppContext, job_id: int) -> Any:
    """The job's row, its last error decrypted (it is stored encrypted)."""
    row = dict((await ctx.db.fetch("SELECT * FROM ajanda_job WHERE id = ?", job_id))[0])
    if row["last_error"] is not None:
        assert "provider down" not in row["last_error"]
        row["last_error"] = ctx.cipher.decrypt(row["last_error"], ERROR_FIELD)
    return row


async def test_enqueue_is_part_of_the_transaction_and_deduplicated(context: AppContext) -> None:
    with pytest.raises(RuntimeError):
        async with context.db.transaction():
            await context.outbox.enqueue("jobs.ok", {"n": 1}, dedupe_key="booking:1:reminder:48h")
            raise RuntimeError
    assert await context.db.fetchval("SELECT COUNT(*) FROM ajanda_job") == 0
    first = await context.outbox.enqueue("jobs.ok", {"n": 1}, dedupe_key="booking:1:reminder:48h")
    again = await context.outbox.enqueue("jobs.ok", {"n": 1}, dedupe_key="booking:1:reminder:48h")
    assert first is not None and again is None
    assert await context.outbox.cancel("booking:1:reminder:48h")
    assert await context.db.fetchval("SELECT COUNT(*) FROM ajanda_job") == 0


async def test_failures_back_off_then_die_with_the_last_error(make_settings, start_context) -> None:
    calls: list[int] = []

    def flaky(payload: dict[str, Any], context: AppContext) -> None:
        calls.append(payload["n"])
        raise ConnectionError(f"provider down ({len(calls)})")

    settings = make_settings(
        plugins={"enabled": ["jobs"]}, worker={"max_attempts": 3, "backoff_base": 60, "backoff_max": 600}
    )
    ctx = await start_context(settings, {"jobs": job_plugin({"jobs.flaky": flaky})})
    job_id = await ctx.outbox.enqueue("jobs.flaky", {"n": 1})
    assert job_id is not None
    worker = Worker(ctx)
    for attempt in (1, 2):
        before = datetime.now(UTC)
        assert await worker.run_once() == 1
        row = await _job(ctx, job_id)
        assert row["status"] == "pending" and row["attempts"] == attempt
        assert row["last_error"] == f"ConnectionError: provider down ({attempt})"
        wait = (row["run_at"] - before).total_seconds()
        expected = 60 * 2 ** (attempt - 1)
        assert expected * 0.85 <= wait <= expected * 1.15 + 1
        assert await worker.run_once() == 0  # not due yet
        async with ctx.db.transaction():  # let time pass
            await ctx.db.execute("UPDATE ajanda_job SET run_at = ? WHERE id = ?", before, job_id)
    assert await worker.run_once() == 1
    row = await _job(ctx, job_id)
    assert row["status"] == "dead" and row["attempts"] == 3
    assert row["last_error"] == "ConnectionError: provider down (3)"
    assert (await ctx.outbox.counts())["dead"] == 1
    audit = await ctx.db.fetch("SELECT entity, action FROM ajanda_audit WHERE entity = 'job'")
    assert [(r["entity"], r["action"]) for r in audit] == [("job", "dead")]


async def test_unknown_job_kind_fails_visibly(context: AppContext) -> None:
    job_id = await context.outbox.enqueue("nobody.handles", {}, max_attempts=1)
    assert job_id is not None
    await Worker(context).run_once()
    row = await _job(context, job_id)
    assert row["status"] == "dead" and "no handler for job kind 'nobody.handles'" in row["last_error"]


async def test_dead_job_can_be_retried_from_the_admin_api(make_settings, start_context) -> None:
    done: list[int] = []
    settings = make_settings(plugins={"enabled": ["jobs"]})
    ctx = await start_context(settings, {"jobs": job_plugin({"jobs.ok": lambda p, c: done.append(1)})})
    job_id = await ctx.outbox.enqueue("jobs.ok", {})
    async with ctx.db.transaction():
        await ctx.db.execute("UPDATE ajanda_job SET status = 'dead', attempts = 8 WHERE id = ?", job_id)
    async with api_client(ctx) as client:
        dead = await client.get("/api/v1/admin/jobs?status=dead", headers=admin_headers(settings))
        assert [j["id"] for j in dead.json()] == [job_id]
        response = await client.post(f"/api/v1/admin/jobs/{job_id}/retry", headers=admin_headers(settings))
        assert response.status_code == 200 and response.json()["status"] == "pending"
        again = await client.post(f"/api/v1/admin/jobs/{job_id}/retry", headers=admin_headers(settings))
        assert again.status_code == 409
    await Worker(ctx).run_once()
    assert done == [1] and (await _job(ctx, job_id))["status"] == "done"
    retried = await ctx.db.fetch("SELECT actor_kind, actor_id FROM ajanda_audit WHERE action = 'retried'")
    assert [(r["actor_kind"], r["actor_id"]) for r in retried] == [("token", "bootstrap-admin")]


async def test_two_workers_never_run_the_same_job(make_settings, start_context) -> None:
    seen: list[int] = []

    async def record(payload: dict[str, Any], context: AppContext) -> None:
        seen.append(payload["n"])
        await asyncio.sleep(0)

    settings = make_settings(plugins={"enabled": ["jobs"]}, worker={"batch_size": 7})
    ctx = await start_context(settings, {"jobs": job_plugin({"jobs.record": record})})
    async with ctx.db.transaction():
        for n in range(100):
            await ctx.outbox.enqueue("jobs.record", {"n": n})
    # A second context is a second pool of connections, as a second process would have.
    other = await start_context(settings, {"jobs": job_plugin({"jobs.record": record})})

    async def drain(worker: Worker) -> None:
        while await worker.run_once():
            pass

    await asyncio.gather(drain(Worker(ctx, "a")), drain(Worker(other, "b")), drain(Worker(ctx, "c")))
    assert sorted(seen) == list(range(100))
    assert await ctx.db.fetchval("SELECT COUNT(*) FROM ajanda_job WHERE status = 'done'") == 100


async def test_expired_lease_makes_a_claimed_job_claimable_again(context: AppContext) -> None:
    job_id = await context.outbox.enqueue("nobody.handles", {})
    first = Worker(context, "crashed")
    assert [r["id"] for r in await first.claim()] == [job_id]
    assert await Worker(context, "other").claim() == []  # leased
    async with context.db.transaction():
        await context.db.execute(
            "UPDATE ajanda_job SET locked_until = ? WHERE id = ?",
            datetime.now(UTC) - timedelta(seconds=1),
            job_id,
        )
    reclaimed = await Worker(context, "other").claim()
    assert [(r["id"], r["attempts"]) for r in reclaimed] == [(job_id, 2)]


def test_backoff_doubles_and_is_capped() -> None:
    assert backoff_delay(1, 30, 3600, jitter=0) == 30
    assert backoff_delay(4, 30, 3600, jitter=0) == 240
    assert backoff_delay(20, 30, 3600, jitter=0) == 3600


async def test_errors_stored_before_encryption_are_sealed_by_the_migration(context: AppContext) -> None:
    job_id = await context.outbox.enqueue("old.kind", {})
    plain = "SMTPRecipientsRefused: 550 <ayse@example.com> mailbox unavailable"
    async with context.db.transaction():
        await context.db.execute("UPDATE ajanda_job SET last_error = ? WHERE id = ?", plain, job_id)
        await context.db.execute("DELETE FROM ajanda_migration WHERE name = 'm0014_job_error_encrypted'")
    assert [m.name for m in await context.migrate()] == ["m0014_job_error_encrypted"]
    stored = await context.db.fetchval("SELECT last_error FROM ajanda_job WHERE id = ?", job_id)
    assert "ayse@example.com" not in stored
    assert (await _job(context, job_id))["last_error"] == plain


async def test_finished_jobs_are_deleted_after_keep_done_days_and_the_rest_stay(
    make_settings, start_context
) -> None:
    settings = make_settings(plugins={"enabled": ["jobs"]}, worker={"keep_done_days": 7})
    ctx = await start_context(settings, {"jobs": job_plugin({"jobs.ok": lambda p, c: None})})
    ctx.clock.set(datetime(2026, 3, 1, 12, tzinfo=UTC))
    old = await ctx.outbox.enqueue("jobs.ok", {}, dedupe_key="jobs:old")
    dead = await ctx.outbox.enqueue("nobody.handles", {}, max_attempts=1)
    later = await ctx.outbox.enqueue("jobs.ok", {}, run_at=datetime(2026, 4, 1, tzinfo=UTC))
    worker = Worker(ctx)
    assert await worker.run_once() == 2  # `old` done, `dead` dead; `later` is not due
    ctx.clock.advance(timedelta(days=6))
    recent = await ctx.outbox.enqueue("jobs.ok", {})
    assert await worker.run_once() == 1
    ctx.clock.advance(timedelta(days=1, minutes=1))  # `old` finished 7 days and a minute ago
    await worker.sweep(force=True)
    left = {r["id"]: r["status"] for r in await ctx.db.fetch("SELECT id, status FROM ajanda_job")}
    assert left == {dead: "dead", later: "pending", recent: "done"}
    # Its dedupe key went with it: the same work can be queued again.
    assert await ctx.outbox.enqueue("jobs.ok", {}, dedupe_key="jobs:old") is not None
    assert old not in left
