"""Staff accounts: creation, listing, disabling, password checks with lockout, and TOTP.

A failed login is counted in the database (not in memory), so a restart or a second server process
does not reset the lockout. Every change to an account is audited (never with the password).
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor import InvalidToken
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from core.access.passwords import check_strength, hash_password, needs_rehash, verify_password
from core.access.permissions import Role
from core.db.values import as_utc
from core.errors import AjandaError, Conflict, FieldError, NotFound

if TYPE_CHECKING:
    from core.context import AppContext

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,99}$")
ACCOUNT_COLUMNS = (
    "id, username, display_name, role, staff, totp_enabled, failed_logins, locked_until, disabled_at,"
    " last_login_at, created_at"
)


class LoginFailed(AjandaError):
    """Wrong username, password or code, or a locked or disabled account: one answer for all, so
    the reply does not tell which usernames exist."""


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    display_name: str
    role: Role
    staff_id: int | None
    totp_enabled: bool
    failed_logins: int
    locked_until: datetime | None
    disabled_at: datetime | None
    last_login_at: datetime | None
    created_at: datetime

    @property
    def active(self) -> bool:
        return self.disabled_at is None


def _account(row: Any) -> Account:
    return Account(
        id=int(row["id"]),
        username=row["username"],
        display_name=row["display_name"],
        role=Role(row["role"]),
        staff_id=int(row["staff"]) if row["staff"] is not None else None,
        totp_enabled=bool(row["totp_enabled"]),
        failed_logins=int(row["failed_logins"]),
        locked_until=row["locked_until"],
        disabled_at=row["disabled_at"],
        last_login_at=row["last_login_at"],
        created_at=row["created_at"],
    )


def clean_username(username: str, field: str = "username") -> str:
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise FieldError(
            field, "2 to 100 characters: letters, digits and . _ @ - (starting with a letter or digit)"
        )
    return name


def parse_role(role: str, field: str = "role") -> Role:
    try:
        return Role(role)
    except ValueError:
        raise FieldError(field, f"one of {', '.join(r.value for r in Role)}") from None


async def create_account(
    ctx: AppContext,
    username: str,
    password: str,
    role: Role,
    display_name: str | None = None,
    staff_id: int | None = None,
) -> Account:
    name = clean_username(username)
    check_strength(password)
    if role is Role.STAFF and staff_id is None:
        raise FieldError("staff", "a staff account must be linked to a staff member (their calendar)")
    if staff_id is not None and await ctx.db.fetchval("SELECT id FROM staff WHERE id = ?", staff_id) is None:
        raise FieldError("staff", f"no staff member {staff_id}")
    display = " ".join((display_name or name).split())[:200]
    hashed = await hash_password(password)
    now = datetime.now(UTC)
    async with ctx.db.transaction():
        if await ctx.db.fetchval("SELECT id FROM account WHERE username = ?", name) is not None:
            raise Conflict(f"an account named {name!r} already exists", {"field": "username"})
        rows = await ctx.db.fetch(
            "INSERT INTO account (username, display_name, role, staff, password_hash, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            name, display, role.value, staff_id, hashed, now, now,
        )  # fmt: skip
        account_id = int(rows[0]["id"])
        await ctx.audit.record(
            "account", account_id, "created", {"username": name, "role": role.value, "staff": staff_id}
        )
    return await load_account(ctx, account_id)


async def load_account(ctx: AppContext, account_id: int) -> Account:
    rows = await ctx.db.fetch(f"SELECT {ACCOUNT_COLUMNS} FROM account WHERE id = ?", account_id)
    if not rows:
        raise NotFound("account", account_id)
    return _account(rows[0])


async def find_account(ctx: AppContext, username: str) -> Account:
    if "\x00" in username:
        raise NotFound("account", username.replace("\x00", ""))
    rows = await ctx.db.fetch(
        f"SELECT {ACCOUNT_COLUMNS} FROM account WHERE username = ?", username.strip().lower()
    )
    if not rows:
        raise NotFound("account", username)
    return _account(rows[0])


async def list_accounts(ctx: AppContext) -> list[Account]:
    rows = await ctx.db.fetch(f"SELECT {ACCOUNT_COLUMNS} FROM account ORDER BY username")
    return [_account(row) for row in rows]


async def owner_exists(ctx: AppContext) -> bool:
    """Whether an active owner account exists (then the bootstrap token no longer works)."""
    found = await ctx.db.fetchval(
        "SELECT id FROM account WHERE role = 'owner' AND disabled_at IS NULL LIMIT 1"
    )
    return found is not None


async def disable_account(ctx: AppContext, account_id: int) -> Account:
    """Disable an account and end its sessions; the last active owner cannot be disabled."""
    async with ctx.db.transaction():
        account = await load_account(ctx, account_id)
        if account.disabled_at is not None:
            return account
        if account.role is Role.OWNER:
            # PostgreSQL: lock the active owners' rows, so two parallel disables cannot each see the
            # other owner and leave none (SQLite's write transaction already serialises them).
            lock = " FOR UPDATE" if ctx.db.kind == "postgres" else ""
            owners = await ctx.db.fetch(
                f"SELECT id FROM account WHERE role = 'owner' AND disabled_at IS NULL ORDER BY id{lock}"
            )
            if len(owners) <= 1:
                raise Conflict("this is the only active owner; add another owner first", {"field": "id"})
        now = datetime.now(UTC)
        await ctx.db.execute(
            "UPDATE account SET disabled_at = ?, updated_at = ? WHERE id = ?", now, now, account_id
        )
        await ctx.db.execute("DELETE FROM account_session WHERE account = ?", account_id)
        await ctx.audit.record("account", account_id, "disabled", {"username": account.username})
    return await load_account(ctx, account_id)


async def set_password(ctx: AppContext, account_id: int, password: str) -> None:
    """Change a password; every session of the account ends (a stolen session does not outlive it)."""
    check_strength(password)
    hashed = await hash_password(password)
    async with ctx.db.transaction():
        await load_account(ctx, account_id)
        await ctx.db.execute(
            "UPDATE account SET password_hash = ?, failed_logins = 0, locked_until = NULL, updated_at = ?"
            " WHERE id = ?",
            hashed, datetime.now(UTC), account_id,
        )  # fmt: skip
        await ctx.db.execute("DELETE FROM account_session WHERE account = ?", account_id)
        await ctx.audit.record("account", account_id, "password_changed", {})


async def authenticate(ctx: AppContext, username: str, password: str, code: str | None) -> Account:
    """The account for these credentials, or LoginFailed. Counts failures and locks the account
    for `access.lockout_minutes` after `access.max_failed_logins` in a row."""
    name = username.strip().lower()
    rows = (
        await ctx.db.fetch(
            f"SELECT {ACCOUNT_COLUMNS}, password_hash, totp_enc, totp_last_step FROM account"
            " WHERE username = ?",
            name,
        )
        if "\x00" not in name
        else []
    )
    row = rows[0] if rows else None
    ok = await verify_password(password, row["password_hash"] if row is not None else None)
    if row is None:
        raise LoginFailed("wrong username or password")
    account = _account(row)
    now = datetime.now(UTC)
    if account.disabled_at is not None:
        raise LoginFailed("wrong username or password")
    if account.locked_until is not None and as_utc(account.locked_until) > now:
        raise LoginFailed("wrong username or password")
    step: int | None = None
    if ok and account.totp_enabled:
        secret = ctx.cipher.decrypt(row["totp_enc"], "account.totp")
        step = totp_step(secret, code, now) if secret is not None and code is not None else None
        last = row["totp_last_step"]
        # A code is good once: one seen (or an older one) is refused, as RFC 6238 asks.
        ok = step is not None and (last is None or step > int(last))
    if not ok:
        await _count_failure(ctx, account, now)
        raise LoginFailed("wrong username or password")
    rehashed = await hash_password(password) if needs_rehash(row["password_hash"]) else None
    async with ctx.db.transaction():
        # Succeeds only if no parallel guess locked the account (or used this code) meanwhile.
        sql = (
            "UPDATE account SET failed_logins = 0, locked_until = NULL, last_login_at = ?"
            " WHERE id = ? AND disabled_at IS NULL AND (locked_until IS NULL OR locked_until <= ?)"
        )
        args: list[Any] = [now, account.id, now]
        if step is not None:
            sql = sql.replace(" WHERE", ", totp_last_step = ? WHERE", 1)
            sql += " AND (totp_last_step IS NULL OR totp_last_step < ?)"
            args = [now, step, account.id, now, step]
        done = await ctx.db.fetch(sql + " RETURNING id", *args)
        if not done:
            raise LoginFailed("wrong username or password")
        if rehashed is not None:
            await ctx.db.execute("UPDATE account SET password_hash = ? WHERE id = ?", rehashed, account.id)
        await ctx.audit.record("account", account.id, "login", {})
    return account


async def confirm_password(ctx: AppContext, account_id: int, password: str) -> None:
    """For changes a stolen session must not make on its own (password, second factor): the password
    again, with failures counted towards the same lockout as sign-in."""
    rows = await ctx.db.fetch(
        f"SELECT {ACCOUNT_COLUMNS}, password_hash FROM account WHERE id = ?", account_id
    )
    if not rows:
        raise NotFound("account", account_id)
    account = _account(rows[0])
    now = datetime.now(UTC)
    if account.locked_until is not None and as_utc(account.locked_until) > now:
        raise FieldError("current_password", "too many wrong passwords: try again later")
    if not await verify_password(password, rows[0]["password_hash"]):
        await _count_failure(ctx, account, now)
        raise FieldError("current_password", "does not match")


async def _count_failure(ctx: AppContext, account: Account, now: datetime) -> None:
    """One more failure (an atomic increment: parallel guesses are all counted); lock at the limit."""
    settings = ctx.settings.access
    async with ctx.db.transaction():
        rows = await ctx.db.fetch(
            "UPDATE account SET failed_logins = failed_logins + 1 WHERE id = ? RETURNING failed_logins",
            account.id,
        )
        if int(rows[0]["failed_logins"]) >= settings.max_failed_logins:
            until = now + timedelta(minutes=settings.lockout_minutes)
            await ctx.db.execute(
                "UPDATE account SET failed_logins = 0, locked_until = ? WHERE id = ?", until, account.id
            )
            await ctx.audit.record("account", account.id, "locked", {"until": until.isoformat()})


# --------------------------------------------------------------------------------------------------
# Second factor (TOTP, RFC 6238: 6 digits, 30 s, SHA-1, as every authenticator app expects)


def _totp(secret_b32: str) -> TOTP:
    key = base64.b32decode(secret_b32)
    return TOTP(key, 6, SHA1(), 30, enforce_key_length=False)


def totp_step(secret_b32: str, code: str, now: datetime | None = None) -> int | None:
    """The time step of a matching code (the current one, or 30 s before or after for clock drift),
    or None when the code matches none of them."""
    digits = "".join(code.split())
    if not digits.isdigit() or len(digits) != 6:
        return None
    at = int((now or datetime.now(UTC)).timestamp())
    totp = _totp(secret_b32)
    for drift in (0, -30, 30):
        try:
            totp.verify(digits.encode(), at + drift)
            return (at + drift) // 30
        except InvalidToken:
            continue
    return None


def totp_code(secret_b32: str, at: datetime | None = None) -> str:
    return _totp(secret_b32).generate(int((at or datetime.now(UTC)).timestamp())).decode()


async def start_totp(ctx: AppContext, account_id: int) -> tuple[str, str]:
    """A new secret (stored encrypted, not yet required) and its otpauth:// URI for the app's QR code."""
    account = await load_account(ctx, account_id)
    if account.totp_enabled:
        raise Conflict("a second factor is already on; turn it off first", {"field": "totp"})
    secret = base64.b32encode(os.urandom(20)).decode()
    async with ctx.db.transaction():
        await ctx.db.execute(
            "UPDATE account SET totp_enc = ?, updated_at = ? WHERE id = ?",
            ctx.cipher.encrypt(secret, "account.totp"), datetime.now(UTC), account_id,
        )  # fmt: skip
        await ctx.audit.record("account", account_id, "totp_started", {})
    issuer = quote(ctx.settings.business.name)
    uri = f"otpauth://totp/{issuer}:{quote(account.username)}?secret={secret}&issuer={issuer}&digits=6&period=30"
    return secret, uri


async def confirm_totp(ctx: AppContext, account_id: int, code: str) -> None:
    """Turn the second factor on once the app shows a matching code (so nobody locks themselves out)."""
    enc = await ctx.db.fetchval("SELECT totp_enc FROM account WHERE id = ?", account_id)
    secret = ctx.cipher.decrypt(enc, "account.totp") if enc else None
    if secret is None:
        raise FieldError("code", "start the set-up first")
    step = totp_step(secret, code)
    if step is None:
        raise FieldError("code", "does not match; check the time on the phone and try the next code")
    async with ctx.db.transaction():
        await ctx.db.execute(
            "UPDATE account SET totp_enabled = ?, totp_last_step = ?, updated_at = ? WHERE id = ?",
            True, step, datetime.now(UTC), account_id,
        )  # fmt: skip
        await ctx.audit.record("account", account_id, "totp_enabled", {})


async def disable_totp(ctx: AppContext, account_id: int) -> None:
    async with ctx.db.transaction():
        await load_account(ctx, account_id)
        await ctx.db.execute(
            "UPDATE account SET totp_enabled = ?, totp_enc = NULL, totp_last_step = NULL, updated_at = ?"
            " WHERE id = ?",
            False, datetime.now(UTC), account_id,
        )  # fmt: skip
        await ctx.audit.record("account", account_id, "totp_disabled", {})
