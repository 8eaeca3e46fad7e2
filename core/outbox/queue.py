"""Putting jobs on the durable outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from core.clock import Clock
from core.db.database import Database

# A job's last error is encrypted: a provider's refusal often quotes the phone number or address.
ERROR_FIELD = "job.last_error"


class NewJob(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    payload: dict[str, Any]
    run_at: datetime | None = None
    dedupe_key: str | None = None
    max_attempts: int | None = None


class Outbox:
    def __init__(self, db: Database, default_max_attempts: int, clock: Clock | None = None) -> None:
        self.db = db
        self.default_max_attempts = default_max_attempts
        self.clock = clock or Clock()

    async def enqueue(
        self,
        kind: str,
        payload: dict[str, Any] | None = None,
        *,
        run_at: datetime | None = None,
        dedupe_key: str | None = None,
        max_attempts: int | None = None,
    ) -> int | None:
        """Add a job in the current transaction, so it exists exactly when the change commits.

        Returns the job id, or None when a job with the same `dedupe_key` already exists.
        """
        now = self.clock.now()
        async with self.db.transaction():
            rows = await self.db.fetch(
                "INSERT INTO ajanda_job (kind, payload, status, run_at, attempts, max_attempts,"
                " dedupe_key, created_at) VALUES (?, ?, 'pending', ?, 0, ?, ?, ?)"
                " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
                kind,
                msgspec.json.encode(payload or {}).decode(),
                (run_at or now).astimezone(UTC),
                max_attempts or self.default_max_attempts,
                dedupe_key,
                now,
            )
        return int(rows[0]["id"]) if rows else None

    async def enqueue_many(self, jobs: list[NewJob]) -> None:
        """Several jobs in one statement (a booking's confirmation, reminders and staff notice), in the
        current transaction; those whose dedupe key exists already are skipped."""
        if not jobs:
            return
        now = self.clock.now()
        marks = ", ".join(["(?, ?, 'pending', ?, 0, ?, ?, ?)"] * len(jobs))
        args: list[Any] = []
        for job in jobs:
            args += [
                job.kind,
                msgspec.json.encode(job.payload).decode(),
                (job.run_at or now).astimezone(UTC),
                job.max_attempts or self.default_max_attempts,
                job.dedupe_key,
                now,
            ]
        async with self.db.transaction():
            await self.db.execute(
                "INSERT INTO ajanda_job (kind, payload, status, run_at, attempts, max_attempts,"
                f" dedupe_key, created_at) VALUES {marks} ON CONFLICT (dedupe_key) DO NOTHING",
                *args,
            )

    async def cancel_keys(self, dedupe_keys: list[str]) -> int:
        """Drop the jobs with these keys that have not started; returns how many were dropped."""
        if not dedupe_keys:
            return 0
        marks = ", ".join("?" * len(dedupe_keys))
        async with self.db.transaction():
            rows = await self.db.fetch(
                f"DELETE FROM ajanda_job WHERE dedupe_key IN ({marks}) AND status = 'pending' RETURNING id",
                *dedupe_keys,
            )
        return len(rows)

    async def cancel(self, dedupe_key: str) -> bool:
        """Drop a job that has not started (e.g. a reminder for a cancelled booking)."""
        return await self.cancel_keys([dedupe_key]) > 0

    async def counts(self, now: datetime | None = None) -> dict[str, int]:
        """Due, running, dead and overdue job counts for /healthz and the admin."""
        now = now or self.clock.now()
        rows = await self.db.fetch(
            "SELECT"
            " SUM(CASE WHEN status = 'pending' AND run_at <= ? THEN 1 ELSE 0 END) AS due,"
            " SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END) AS running,"
            " SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END) AS dead"
            " FROM ajanda_job WHERE status IN ('pending', 'running', 'dead')",
            now,
        )
        row = rows[0] if rows else {}
        return {k: int(row[k] or 0) for k in ("due", "running", "dead")}
