"""`ajanda user ...` and `ajanda token ...`: accounts and API tokens from the server's shell.

Whoever can run these can read the config file (and its keys) anyway, so the shell is trusted the
way the owner is; the audit log records these changes as made by `system:cli`.
"""

from __future__ import annotations

import json
from typing import Any

import click

from core.access.accounts import (
    create_account,
    disable_account,
    find_account,
    list_accounts,
    parse_role,
)
from core.access.permissions import Role
from core.access.tokens import create_token, list_tokens, revoke_token
from core.audit.records import CLI, acting_as
from core.cli.main import config_option, settings_for, with_context

ROLES = click.Choice([r.value for r in Role])


def _run(config_path: str | None, work: Any) -> Any:
    """Run `work(ctx)` on a migrated database, as the CLI actor."""
    settings = settings_for(config_path, allow_embedded=True)

    async def main(ctx: Any) -> Any:
        await ctx.migrate()
        with acting_as(CLI):
            return await work(ctx)

    return with_context(settings, main, start=False)


@click.group("user")
def user_group() -> None:
    """Staff accounts that sign in to the admin pages."""


@user_group.command("add")
@click.argument("username")
@click.option("--role", type=ROLES, required=True, help="owner, manager, receptionist or staff.")
@click.option("--name", "display_name", help="Name shown in the admin pages (default: the username).")
@click.option("--staff", "staff_id", type=int, help="Staff member id whose calendar a staff account sees.")
@click.password_option(
    "--password", envvar="AJANDA_NEW_PASSWORD", help="Asked twice when not given (or $AJANDA_NEW_PASSWORD)."
)
@config_option
def user_add(
    username: str,
    role: str,
    display_name: str | None,
    staff_id: int | None,
    password: str,
    config_path: str | None,
) -> None:
    """Add an account. The first owner account ends the bootstrap token's rights."""

    async def work(ctx: Any) -> Any:
        return await create_account(ctx, username, password, parse_role(role), display_name, staff_id)

    account = _run(config_path, work)
    click.echo(f"account {account.id} {account.username} ({account.role.value}) added")


@user_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per account.")
@config_option
def user_list(as_json: bool, config_path: str | None) -> None:
    """Every account with its role and state."""
    accounts = _run(config_path, list_accounts)
    for a in accounts:
        state = "disabled" if a.disabled_at else "active"
        if as_json:
            row = {"id": a.id, "username": a.username, "role": a.role.value, "staff": a.staff_id}
            click.echo(json.dumps({**row, "state": state, "totp": a.totp_enabled}))
        else:
            extra = f" staff={a.staff_id}" if a.staff_id else ""
            totp = " totp" if a.totp_enabled else ""
            click.echo(f"{a.id}\t{a.username}\t{a.role.value}\t{state}{extra}{totp}")
    if not accounts and not as_json:
        click.echo("no accounts yet: add the first owner with `ajanda user add NAME --role owner`")


@user_group.command("disable")
@click.argument("username")
@config_option
def user_disable(username: str, config_path: str | None) -> None:
    """Disable an account and end its sessions at once (the last owner cannot be disabled)."""

    async def work(ctx: Any) -> Any:
        return await disable_account(ctx, (await find_account(ctx, username)).id)

    account = _run(config_path, work)
    click.echo(f"account {account.username} disabled")


@click.group("token")
def token_group() -> None:
    """API tokens for integrations (shown once, stored hashed)."""


@token_group.command("create")
@click.argument("name")
@click.option("--role", type=ROLES, required=True, help="What the token may do: a role's permissions.")
@config_option
def token_create(name: str, role: str, config_path: str | None) -> None:
    """Create a token and print it. This is the only time it is shown."""

    async def work(ctx: Any) -> Any:
        return await create_token(ctx, name, parse_role(role))

    token, secret = _run(config_path, work)
    click.echo(
        f"token {token.id} ({token.role.value}) created; copy it now, it is not shown again:", err=True
    )
    click.echo(secret)


@token_group.command("list")
@config_option
def token_list(config_path: str | None) -> None:
    """Every token with its role and state (never the secret)."""
    for t in _run(config_path, list_tokens):
        state = "revoked" if t.revoked_at else "active"
        used = t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else "never used"
        click.echo(f"{t.id}\t{t.prefix}…\t{t.name}\t{t.role.value}\t{state}\t{used}")


@token_group.command("revoke")
@click.argument("token_id", type=int)
@config_option
def token_revoke(token_id: int, config_path: str | None) -> None:
    """Revoke a token; the next request with it is refused."""

    async def work(ctx: Any) -> Any:
        return await revoke_token(ctx, token_id)

    token = _run(config_path, work)
    click.echo(f"token {token.id} ({token.name}) revoked")
