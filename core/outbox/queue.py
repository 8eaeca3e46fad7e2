"""Putting jobs on the durable outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from core.db.database import Database

# A job's last error is encrypted: a provider's refusal often quotes the phone number or address.
ERROR_FIELD = "job.last_error"


class Outbox:
    def __init__(self, db: Database, default_max_attempts: int) -> None:
        self.db = db
        self.default_max_attempts = default_max_attempts

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
        now = datetime.now(UTC)
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

    async def cancel(self, dedupe_key: str) -> bool:
        """Drop a job that has not started (e.g. a reminder for a cancelled booking)."""
        async with self.db.transaction():
            rows = await self.db.fetch(
                "DELETE FROM ajanda_job WHERE dedupe_key = ? AND status = 'pending' RETURNING id",
                dedupe_key,
            )
        return bool(rows)

    async def counts(self, now: datetime | None = None) -> dict[str, int]:
        """Due, running, dead and overdue job counts for /healthz and the admin."""
        now = now or datetime.now(UTC)
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
