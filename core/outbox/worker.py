"""The outbox worker: claims due jobs, runs them, retries with exponential backoff.

Claiming sets a lease (`locked_until`); a worker that dies (kill -9, power loss) leaves its claims behind,
and those jobs become claimable again when the lease runs out, so no job is lost. Delivery is
therefore at-least-once: handlers make their side effect idempotent (dedupe keys) where running twice
would matter. On PostgreSQL any number of workers claim with `FOR UPDATE SKIP LOCKED`; on SQLite the
claim runs inside an IMMEDIATE transaction, which serialises claimers across processes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from core.audit.records import Actor, acting_as
from core.outbox.queue import ERROR_FIELD
from core.outbox.running import Deferred, RunningJob, current_job

if TYPE_CHECKING:
    from core.context import AppContext

log = logging.getLogger("ajanda.worker")

HEARTBEAT_EVERY = 5.0
SWEEP_EVERY = 20.0
# Finished jobs deleted per sweep at most (one sweep every SWEEP_EVERY seconds).
PURGE_BATCH = 500


def backoff_delay(attempts: int, base: float, cap: float, jitter: float = 0.1) -> float:
    """Seconds to wait after the `attempts`-th failure: base, 2*base, 4*base... capped, +-10%."""
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return delay * (1 + random.uniform(-jitter, jitter))


class Worker:
    def __init__(self, context: AppContext, worker_id: str | None = None) -> None:
        self.context = context
        self.db = context.db
        self.config = context.settings.worker
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.started_at = datetime.now(UTC)
        self._last_beat = 0.0
        self._last_sweep = -SWEEP_EVERY
        self._last_campaigns: float | None = None
        self.stopping = asyncio.Event()

    # ---------------------------------------------------------------------------------------------
    async def heartbeat(self, force: bool = False) -> None:
        loop_time = asyncio.get_running_loop().time()
        if not force and loop_time - self._last_beat < HEARTBEAT_EVERY:
            return
        self._last_beat = loop_time
        now = datetime.now(UTC)
        async with self.db.transaction():
            await self.db.execute(
                "INSERT INTO ajanda_worker (worker_id, host, pid, started_at, seen_at)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (worker_id) DO UPDATE SET seen_at = excluded.seen_at",
                self.worker_id,
                socket.gethostname(),
                os.getpid(),
                self.started_at,
                now,
            )

    async def sweep(self, force: bool = False) -> None:
        """Time-driven work that needs no job row: cancel bookings whose hold has run out, delete
        login sessions that have ended and old finished jobs, and (every `[messages]
        campaign_every_minutes`) queue the recall and win-back messages that have fallen due (their
        dedupe keys make a scan by several workers harmless).

        (Each cancellation frees its slot and, in the same transaction, queues the waitlist offer.)
        """
        loop_time = asyncio.get_running_loop().time()
        if not force and loop_time - self._last_sweep < SWEEP_EVERY:
            return
        self._last_sweep = loop_time
        from core.access.sessions import purge_sessions
        from core.bookings.service import BookingService
        from core.notifications.campaigns import scan_campaigns

        expired = await BookingService(self.context).expire_holds()
        if expired:
            log.info("%d expired hold(s) released", expired)
        ended = await purge_sessions(self.context)
        if ended:
            log.info("%d ended login session(s) deleted", ended)
        purged = await self.purge_done()
        if purged:
            log.info("%d finished job(s) older than %d days deleted", purged, self.config.keep_done_days)
        every = self.context.settings.messages.campaign_every_minutes * 60
        if self._last_campaigns is None or loop_time - self._last_campaigns >= every:
            self._last_campaigns = loop_time
            queued = await scan_campaigns(self.context)
            if queued:
                log.info("%d recall / win-back message(s) queued", queued)

    async def purge_done(self) -> int:
        """Delete up to PURGE_BATCH done jobs that finished more than `[worker] keep_done_days` ago.

        A batch per sweep keeps each delete short (SQLite holds its write lock meanwhile); a backlog
        after an upgrade goes in a few hours. Dead jobs stay: they wait for a person. Their dedupe keys
        go with them, so the same key can be queued again after that time (docs/writing_plugins.md).
        """
        before = self.context.clock.now() - timedelta(days=self.config.keep_done_days)
        async with self.db.transaction():
            rows = await self.db.fetch(
                "DELETE FROM ajanda_job WHERE id IN (SELECT id FROM ajanda_job"
                " WHERE status = 'done' AND finished_at < ? ORDER BY finished_at LIMIT ?) RETURNING id",
                before,
                PURGE_BATCH,
            )
        return len(rows)

    async def claim(self, limit: int | None = None) -> list[Any]:
        now = self.context.clock.now()
        lease_until = now + timedelta(seconds=self.config.lease)
        lock = " FOR UPDATE SKIP LOCKED" if self.db.kind == "postgres" else ""
        async with self.db.transaction():
            rows = await self.db.fetch(
                "UPDATE ajanda_job SET status = 'running', locked_by = ?, locked_until = ?,"
                " attempts = attempts + 1"
                " WHERE id IN (SELECT id FROM ajanda_job"
                "  WHERE (status = 'pending' AND run_at <= ?)"
                "     OR (status = 'running' AND locked_until <= ?)"
                f"  ORDER BY run_at, id LIMIT ?{lock})"
                " RETURNING id, kind, payload, attempts, max_attempts, run_at",
                self.worker_id,
                lease_until,
                now,
                now,
                limit or self.config.batch_size,
            )
        # UPDATE ... RETURNING does not keep the subquery's order on PostgreSQL: oldest due first.
        return sorted(rows, key=lambda r: (r["run_at"], r["id"]))

    async def run_job(self, job: Any) -> bool:
        """Run one claimed job; True when it succeeded."""
        kind = job["kind"]
        handler = self.context.job_handlers.get(kind)
        running = RunningJob(int(job["id"]), kind, int(job["attempts"]), int(job["max_attempts"]))
        token = current_job.set(running)
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {kind!r} (is its plugin enabled?)")
            payload = msgspec.json.decode(job["payload"])
            with acting_as(Actor("system", f"job:{kind}")):
                result = handler(payload, self.context)
                if asyncio.iscoroutine(result):
                    await asyncio.wait_for(result, timeout=self.config.lease * 0.8)
        except Deferred as later:
            await self._defer(job, later)
            return True
        except Exception as err:
            await self._failed(job, err)
            return False
        finally:
            current_job.reset(token)
        await self._finish(job)
        return True

    async def _defer(self, job: Any, later: Deferred) -> None:
        log.info("job %s (%s) deferred: %s", job["id"], job["kind"], later.why)
        async with self.db.transaction():
            await self.db.execute(
                "UPDATE ajanda_job SET status = 'pending', run_at = ?, attempts = attempts - 1,"
                " locked_by = NULL, locked_until = NULL WHERE id = ? AND locked_by = ?",
                later.until.astimezone(UTC),
                job["id"],
                self.worker_id,
            )

    async def _finish(self, job: Any) -> None:
        async with self.db.transaction():
            await self.db.execute(
                "UPDATE ajanda_job SET status = 'done', finished_at = ?, locked_by = NULL,"
                " locked_until = NULL WHERE id = ? AND locked_by = ?",
                self.context.clock.now(),
                job["id"],
                self.worker_id,
            )

    async def _failed(self, job: Any, err: BaseException) -> None:
        error = self.context.cipher.encrypt(f"{type(err).__name__}: {err}"[:2000], ERROR_FIELD)
        attempts = int(job["attempts"])
        now = self.context.clock.now()
        async with self.db.transaction():
            if attempts >= int(job["max_attempts"]):
                log.error("job %s (%s) is dead after %d attempts", job["id"], job["kind"], attempts)
                await self.db.execute(
                    "UPDATE ajanda_job SET status = 'dead', last_error = ?, finished_at = ?,"
                    " locked_by = NULL, locked_until = NULL WHERE id = ? AND locked_by = ?",
                    error,
                    now,
                    job["id"],
                    self.worker_id,
                )
                await self.context.audit.record(
                    "job", job["id"], "dead", {"kind": job["kind"], "attempts": attempts}
                )
                return
            delay = backoff_delay(attempts, self.config.backoff_base, self.config.backoff_max)
            log.warning(
                "job %s (%s) attempt %d failed: %s; retry in %.0f s",
                job["id"], job["kind"], attempts, type(err).__name__, delay,
            )  # fmt: skip
            await self.db.execute(
                "UPDATE ajanda_job SET status = 'pending', last_error = ?, run_at = ?,"
                " locked_by = NULL, locked_until = NULL WHERE id = ? AND locked_by = ?",
                error,
                now + timedelta(seconds=delay),
                job["id"],
                self.worker_id,
            )

    async def run_once(self) -> int:
        """Claim one batch and run it; returns how many jobs were claimed."""
        await self.heartbeat()
        await self.sweep()
        jobs = await self.claim()
        for job in jobs:
            if self.stopping.is_set():
                break  # unfinished claims come back when their lease runs out
            await self.run_job(job)
        return len(jobs)

    async def run_forever(self) -> None:
        log.info("worker %s started", self.worker_id)
        await self.heartbeat(force=True)
        while not self.stopping.is_set():
            try:
                claimed = await self.run_once()
            except Exception:
                log.exception("worker poll failed; retrying")
                claimed = 0
            if claimed == 0:
                try:
                    await asyncio.wait_for(self.stopping.wait(), self.config.poll_interval)
                except TimeoutError:
                    pass
        await self._deregister()
        log.info("worker %s stopped", self.worker_id)

    async def _deregister(self) -> None:
        try:
            async with self.db.transaction():
                await self.db.execute("DELETE FROM ajanda_worker WHERE worker_id = ?", self.worker_id)
        except Exception:
            log.debug("could not remove worker heartbeat")

    def stop(self) -> None:
        self.stopping.set()


async def workers_alive(context: AppContext, within: float | None = None) -> int:
    """Workers whose heartbeat is recent enough to count as alive."""
    window = within or max(3 * HEARTBEAT_EVERY, 3 * context.settings.worker.poll_interval)
    since = datetime.now(UTC) - timedelta(seconds=window)
    value = await context.db.fetchval("SELECT COUNT(*) FROM ajanda_worker WHERE seen_at >= ?", since)
    return int(value or 0)
