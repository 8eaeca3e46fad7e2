"""Sign-in pages, the caller's own account (`/api/v1/me`), and owner-only account and token admin."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromQuery, JSONBody, URLEncodedBody
from litestar.response import Redirect, Template

from core.access.accounts import (
    Account,
    LoginFailed,
    authenticate,
    confirm_password,
    confirm_totp,
    create_account,
    disable_account,
    disable_totp,
    list_accounts,
    load_account,
    parse_role,
    set_password,
    start_totp,
)
from core.access.permissions import PUBLIC, Permission, requires
from core.access.principal import Principal
from core.access.sessions import COOKIE, close_session, open_session
from core.access.tokens import ApiToken, create_token, list_tokens, revoke_token
from core.context import AppContext
from core.errors import Conflict
from core.web.auth import context_of, principal_of
from core.web.pages import PAGE_FORM, page
from core.web.params import BodyId, PathId

NO_NUL = "^[^\x00]*$"  # PostgreSQL text cannot hold NUL: refuse it as bad input, not a 500
SELF = requires(Permission.ACCOUNT_SELF)  # the CSRF check applies even without a session cookie


class LoginForm(msgspec.Struct, kw_only=True):
    username: Annotated[str, msgspec.Meta(max_length=100)] = ""
    password: Annotated[str, msgspec.Meta(max_length=1024)] = ""
    code: Annotated[str, msgspec.Meta(max_length=20)] = ""
    next: Annotated[str, msgspec.Meta(max_length=500)] = ""


def safe_next(target: str) -> str:
    """Only paths on this site (no `//host` or `https://...`): a login link cannot send people away."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/admin"


class LoginController(Controller):
    path = "/"
    include_in_schema = False

    @get("/login", opt={**PUBLIC, **PAGE_FORM})
    async def login_page(self, request: Request[Any, Any, Any], next: FromQuery[str] = "") -> Template:
        return page(request, "login.html", next=safe_next(next), failed=False, username="")

    @post("/login", opt={**PUBLIC, **PAGE_FORM}, status_code=303)
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: URLEncodedBody[LoginForm],
    ) -> Response[Any]:
        """Check the password (and code), open a session and go on; a failure says the same thing
        whatever was wrong."""
        ctx = context_of(request)
        try:
            account = await authenticate(ctx, data.username, data.password, data.code or None)
        except LoginFailed:
            return page(
                request,
                "login.html",
                status=401,
                next=safe_next(data.next),
                failed=True,
                username=data.username[:100],
            )
        token = await open_session(ctx, account.id)
        cookie = Cookie(
            key=COOKIE,
            value=token,
            path="/",
            httponly=True,
            samesite="lax",
            secure=ctx.settings.access.secure_cookies,
            max_age=int(ctx.settings.access.session_max_days * 86400),
        )
        return Redirect(safe_next(data.next), status_code=303, cookies=[cookie])

    @post("/logout", opt=requires(Permission.ACCOUNT_SELF), status_code=303)
    async def logout(self, request: Request[Any, Any, Any]) -> Response[Any]:
        token = request.cookies.get(COOKIE)
        if token:
            await close_session(context_of(request), token)
        response: Response[Any] = Redirect("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response


# --------------------------------------------------------------------------------------------------
# JSON API


class MeOut(msgspec.Struct, kw_only=True):
    kind: str
    id: int
    name: str
    role: str
    staff: int | None
    permissions: list[str]
    totp_enabled: bool | None = None
    # An account's own name as the pages show it (`name` is the username or the token's name).
    display_name: str | None = None


class PasswordIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    current_password: Annotated[str, msgspec.Meta(max_length=1024)]
    new_password: Annotated[str, msgspec.Meta(max_length=1024)]


class CurrentPasswordIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    current_password: Annotated[str, msgspec.Meta(max_length=1024)]


class TotpStartOut(msgspec.Struct, kw_only=True):
    secret: str
    uri: str


class CodeIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: Annotated[str, msgspec.Meta(max_length=20)]


class AccountIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    username: Annotated[str, msgspec.Meta(max_length=100)]
    password: Annotated[str, msgspec.Meta(max_length=1024)]
    role: str
    display_name: Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)] | None = None
    staff: BodyId | None = None


class AccountOut(msgspec.Struct, kw_only=True):
    id: int
    username: str
    display_name: str
    role: str
    staff: int | None
    totp_enabled: bool
    locked_until: datetime | None
    disabled_at: datetime | None
    last_login_at: datetime | None
    created_at: datetime


class TokenIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Annotated[str, msgspec.Meta(max_length=100, pattern=NO_NUL)]
    role: str


class TokenOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    role: str
    prefix: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    # Only in the answer to the create call: the token itself, never shown again.
    token: str | None = None


def account_out(account: Account) -> AccountOut:
    return AccountOut(
        id=account.id, username=account.username, display_name=account.display_name,
        role=account.role.value, staff=account.staff_id, totp_enabled=account.totp_enabled,
        locked_until=account.locked_until, disabled_at=account.disabled_at,
        last_login_at=account.last_login_at, created_at=account.created_at,
    )  # fmt: skip


def token_out(token: ApiToken, secret: str | None = None) -> TokenOut:
    return TokenOut(
        id=token.id, name=token.name, role=token.role.value, prefix=token.prefix,
        created_by=token.created_by, created_at=token.created_at, revoked_at=token.revoked_at,
        last_used_at=token.last_used_at, token=secret,
    )  # fmt: skip


def _user(principal: Principal) -> int:
    """The account id of a signed-in person; tokens have no password or second factor."""
    if principal.kind != "user":
        raise Conflict("only a signed-in account has a password and a second factor", {"field": "kind"})
    return principal.id


async def _confirmed(ctx: AppContext, principal: Principal, password: str) -> int:
    """The caller's account id once its password is given again (failures count towards lockout)."""
    account_id = _user(principal)
    await confirm_password(ctx, account_id, password)
    return account_id


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["access"]

    @get("/", operation_id="me", opt=requires(Permission.ACCOUNT_SELF))
    async def me(self, request: Request[Any, Any, Any]) -> MeOut:
        """Who the caller is and what their role allows."""
        principal = principal_of(request)
        totp = None
        if principal.kind == "user":
            totp = (await load_account(context_of(request), principal.id)).totp_enabled
        return MeOut(
            kind=principal.kind, id=principal.id, name=principal.name, role=principal.role.value,
            staff=principal.staff_id, totp_enabled=totp, display_name=principal.display_name,
            permissions=sorted(p.value for p in Permission if principal.can(p)),
        )  # fmt: skip

    @post("/password", operation_id="change_password", opt=requires(Permission.ACCOUNT_SELF), status_code=204)
    async def change_password(self, request: Request[Any, Any, Any], data: JSONBody[PasswordIn]) -> None:
        """Change one's password (the current one is asked again); every session ends, this one too."""
        ctx = context_of(request)
        account_id = await _confirmed(ctx, principal_of(request), data.current_password)
        await set_password(ctx, account_id, data.new_password)

    @post("/totp", operation_id="start_totp", opt=requires(Permission.ACCOUNT_SELF), status_code=200)
    async def totp_start(self, request: Request[Any, Any, Any]) -> TotpStartOut:
        """A new second-factor secret for the authenticator app; on only after `/totp/confirm`."""
        secret, uri = await start_totp(context_of(request), _user(principal_of(request)))
        return TotpStartOut(secret=secret, uri=uri)

    @post(
        "/totp/confirm", operation_id="confirm_totp", opt=requires(Permission.ACCOUNT_SELF), status_code=204
    )
    async def totp_confirm(self, request: Request[Any, Any, Any], data: JSONBody[CodeIn]) -> None:
        await confirm_totp(context_of(request), _user(principal_of(request)), data.code)

    @post(
        "/totp/disable", operation_id="disable_totp", opt=requires(Permission.ACCOUNT_SELF), status_code=204
    )
    async def totp_disable(self, request: Request[Any, Any, Any], data: JSONBody[CurrentPasswordIn]) -> None:
        """Turn the second factor off (the password is asked again)."""
        ctx = context_of(request)
        await disable_totp(ctx, await _confirmed(ctx, principal_of(request), data.current_password))


class AccountController(Controller):
    path = "/api/v1/users"
    tags = ["access"]

    @get("/", operation_id="list_users", opt=requires(Permission.USERS_MANAGE))
    async def index(self, request: Request[Any, Any, Any]) -> list[AccountOut]:
        return [account_out(a) for a in await list_accounts(context_of(request))]

    @post("/", operation_id="create_user", opt=requires(Permission.USERS_MANAGE), status_code=201)
    async def create(self, request: Request[Any, Any, Any], data: JSONBody[AccountIn]) -> AccountOut:
        account = await create_account(
            context_of(request), data.username, data.password, parse_role(data.role),
            data.display_name, data.staff,
        )  # fmt: skip
        return account_out(account)

    @post(
        "/{account_id:int}/disable",
        operation_id="disable_user",
        opt=requires(Permission.USERS_MANAGE),
        status_code=200,
    )
    async def disable(self, request: Request[Any, Any, Any], account_id: PathId) -> AccountOut:
        """Disable an account and end its sessions (the last owner cannot be disabled)."""
        return account_out(await disable_account(context_of(request), account_id))


class TokenController(Controller):
    path = "/api/v1/tokens"
    tags = ["access"]

    @get("/", operation_id="list_tokens", opt=requires(Permission.USERS_MANAGE))
    async def index(self, request: Request[Any, Any, Any]) -> list[TokenOut]:
        return [token_out(t) for t in await list_tokens(context_of(request))]

    @post("/", operation_id="create_token", opt=requires(Permission.USERS_MANAGE), status_code=201)
    async def create(self, request: Request[Any, Any, Any], data: JSONBody[TokenIn]) -> TokenOut:
        """A token with the given role. `token` in this answer is the only time it is shown."""
        token, secret = await create_token(context_of(request), data.name, parse_role(data.role))
        return token_out(token, secret)

    @post(
        "/{token_id:int}/revoke",
        operation_id="revoke_token",
        opt=requires(Permission.USERS_MANAGE),
        status_code=200,
    )
    async def revoke(self, request: Request[Any, Any, Any], token_id: PathId) -> TokenOut:
        return token_out(await revoke_token(context_of(request), token_id))
