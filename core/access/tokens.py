"""API tokens for integrations: scoped to a role, shown once, stored hashed, revocable.

A token looks like `ajt_<id>_<secret>`; the id lets an admin name it in a list and revoke it
without ever seeing the secret again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.access.permissions import Role
from core.access.principal import Principal
from core.access.sessions import token_hash
from core.audit.records import current_actor
from core.db.values import as_utc
from core.errors import FieldError, NotFound

if TYPE_CHECKING:
    from core.context import AppContext

PREFIX = "ajt_"
# last_used_at is written at most once a minute per token.
TOUCH_SECONDS = 60


@dataclass(frozen=True)
class ApiToken:
    id: int
    name: str
    role: Role
    prefix: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def _token(row: Any) -> ApiToken:
    return ApiToken(
        id=int(row["id"]),
        name=row["name"],
        role=Role(row["role"]),
        prefix=row["prefix"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
    )


COLUMNS = "id, name, role, prefix, created_by, created_at, revoked_at, last_used_at"


async def create_token(ctx: AppContext, name: str, role: Role) -> tuple[ApiToken, str]:
    """(the token's record, the secret to hand over once)."""
    label = " ".join(name.split())
    if not label or len(label) > 100:
        raise FieldError("name", "1 to 100 characters")
    secret = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    async with ctx.db.transaction():
        rows = await ctx.db.fetch(
            "INSERT INTO api_token (name, role, prefix, token_hash, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            label, role.value, "", token_hash(secret), str(current_actor()), now,
        )  # fmt: skip
        token_id = int(rows[0]["id"])
        shown = f"{PREFIX}{token_id}_{secret}"
        await ctx.db.execute(
            "UPDATE api_token SET prefix = ?, token_hash = ? WHERE id = ?",
            f"{PREFIX}{token_id}_", token_hash(shown), token_id,
        )  # fmt: skip
        await ctx.audit.record("api_token", token_id, "created", {"name": label, "role": role.value})
    return await load_token(ctx, token_id), shown


async def load_token(ctx: AppContext, token_id: int) -> ApiToken:
    rows = await ctx.db.fetch(f"SELECT {COLUMNS} FROM api_token WHERE id = ?", token_id)
    if not rows:
        raise NotFound("api_token", token_id)
    return _token(rows[0])


async def list_tokens(ctx: AppContext) -> list[ApiToken]:
    rows = await ctx.db.fetch(f"SELECT {COLUMNS} FROM api_token ORDER BY id")
    return [_token(row) for row in rows]


async def revoke_token(ctx: AppContext, token_id: int) -> ApiToken:
    async with ctx.db.transaction():
        token = await load_token(ctx, token_id)
        if token.revoked_at is None:
            await ctx.db.execute(
                "UPDATE api_token SET revoked_at = ? WHERE id = ?", datetime.now(UTC), token_id
            )
            await ctx.audit.record("api_token", token_id, "revoked", {"name": token.name})
    return await load_token(ctx, token_id)


async def token_principal(ctx: AppContext, presented: str) -> Principal | None:
    """The principal for a presented API token; None when unknown or revoked."""
    if not presented.startswith(PREFIX):
        return None
    rows = await ctx.db.fetch(
        "SELECT id, name, role, revoked_at, last_used_at FROM api_token WHERE token_hash = ?",
        token_hash(presented),
    )
    if not rows or rows[0]["revoked_at"] is not None:
        return None
    row = rows[0]
    now = datetime.now(UTC)
    last = row["last_used_at"]
    if last is None or (now - as_utc(last)).total_seconds() >= TOUCH_SECONDS:
        await ctx.db.execute("UPDATE api_token SET last_used_at = ? WHERE id = ?", now, row["id"])
    return Principal(kind="token", id=int(row["id"]), name=row["name"], role=Role(row["role"]))
