"""Server-side login sessions, kept in the database so they survive a restart and are shared by
every server process. The browser holds a random token; the database only its SHA-256 hash.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from core.access.permissions import Role
from core.access.principal import Principal
from core.db.values import as_utc

if TYPE_CHECKING:
    from core.context import AppContext

COOKIE = "ajanda_session"
# last_seen_at is written at most this often per session (every request would be a write).
TOUCH_EVERY = timedelta(minutes=1)


def token_hash(token: str) -> str:
    """Session and API tokens are 256-bit random values, so a plain hash is enough (no KDF needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(ctx: AppContext, account_id: int) -> str:
    """A new session for the account; returns the token for the cookie (shown nowhere else)."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    expires = now + timedelta(days=ctx.settings.access.session_max_days)
    await ctx.db.execute(
        "INSERT INTO account_session (token_hash, account, created_at, expires_at, last_seen_at)"
        " VALUES (?, ?, ?, ?, ?)",
        token_hash(token), account_id, now, expires, now,
    )  # fmt: skip
    return token


async def session_principal(ctx: AppContext, token: str) -> Principal | None:
    """The signed-in account for a session token; None when unknown, expired, idle too long or the
    account is disabled."""
    rows = await ctx.db.fetch(
        "SELECT s.id AS session_id, s.expires_at, s.last_seen_at, a.id, a.username, a.display_name,"
        " a.role, a.staff, a.disabled_at FROM account_session s JOIN account a ON a.id = s.account"
        " WHERE s.token_hash = ?",
        token_hash(token),
    )
    if not rows:
        return None
    row = rows[0]
    now = datetime.now(UTC)
    idle = timedelta(hours=ctx.settings.access.session_idle_hours)
    last_seen = as_utc(row["last_seen_at"])
    if row["disabled_at"] is not None or as_utc(row["expires_at"]) <= now or last_seen + idle <= now:
        await ctx.db.execute("DELETE FROM account_session WHERE id = ?", row["session_id"])
        return None
    if now - last_seen >= TOUCH_EVERY:
        await ctx.db.execute(
            "UPDATE account_session SET last_seen_at = ? WHERE id = ?", now, row["session_id"]
        )
    return Principal(
        kind="user",
        id=int(row["id"]),
        name=row["username"],
        role=Role(row["role"]),
        staff_id=int(row["staff"]) if row["staff"] is not None else None,
        session_id=int(row["session_id"]),
        display_name=row["display_name"] or None,
    )


async def close_session(ctx: AppContext, token: str) -> None:
    await ctx.db.execute("DELETE FROM account_session WHERE token_hash = ?", token_hash(token))


async def purge_sessions(ctx: AppContext) -> int:
    """Delete sessions past their end or idle too long (the worker's sweep), so abandoned ones do not
    pile up; a presented one is checked on its own anyway."""
    now = datetime.now(UTC)
    idle_since = now - timedelta(hours=ctx.settings.access.session_idle_hours)
    rows = await ctx.db.fetch(
        "DELETE FROM account_session WHERE expires_at <= ? OR last_seen_at <= ? RETURNING id", now, idle_since
    )
    return len(rows)
