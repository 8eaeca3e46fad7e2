"""Accounts and access: every route x every role against the matrix, sign-in with sessions that
survive a restart, CSRF, lockout, the second factor, API tokens and the bootstrap token."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

import httpx
import msgspec
import pytest
from litestar import Litestar, get

from core import PluginMeta, hookimpl
from core.access.accounts import create_account, disable_account, start_totp, totp_code
from core.access.permissions import MATRIX, Permission, Role
from core.access.sessions import token_hash
from core.access.tokens import create_token
from core.app import create_app
from core.config import Settings
from core.context import AppContext
from core.errors import AjandaError
from core.web.auth import is_generated_options, route_permission
from core.web.csrf import CSRF_COOKIE, CSRF_HEADER
from tests.business import add_service, build
from tests.conftest import ROOT, admin_headers

PASSWORD = "uzun ve gizli bir parola"


def app_for(ctx: AppContext) -> Litestar:
    return create_app(ctx.settings, context=ctx, run_worker=False, migrate_on_start=False)


def client_for(app: Litestar) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")


async def sign_in(client: httpx.AsyncClient, username: str, password: str, code: str = "") -> httpx.Response:
    """As a browser does: load the form (CSRF cookie), post it back with the token."""
    page = await client.get("/login")
    assert page.status_code == 200
    token = client.cookies.get(CSRF_COOKIE)
    assert token and token in page.text  # the form carries the token the cookie holds
    form = {"username": username, "password": password, "code": code, "_csrf_token": token, "next": "/admin"}
    return await client.post("/login", data=form)


def csrf(client: httpx.AsyncClient) -> dict[str, str]:
    return {CSRF_HEADER: client.cookies.get(CSRF_COOKIE) or ""}


# --------------------------------------------------------------------------------------------------
# Every route x every role


def routes(app: Litestar) -> list[tuple[str, str, Permission | None]]:
    found = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if is_generated_options(handler):
                continue
            for method in sorted(getattr(handler, "http_methods", ())):
                found.append((method, route.path, route_permission(handler)))
    return found


def concrete(path: str) -> str:
    """Path parameters filled with ids nothing has (allowed calls then end in 404/422, changing nothing)."""
    path = re.sub(r"\{[a-z_]+:int\}", "987654", path)
    return re.sub(r"\{[a-z_]+:(str|path)\}", "nothing-here", path)


async def test_every_route_answers_every_role_as_the_matrix_says(open_context: AppContext) -> None:
    ctx = open_context
    tokens = {role: (await create_token(ctx, f"matrix {role.value}", role))[1] for role in Role}
    app = app_for(ctx)
    table = routes(app)
    pages = {
        route.path
        for route in app.routes
        for handler in getattr(route, "route_handlers", ())
        if handler.opt.get("page")
    }
    assert len(table) > 60  # the walk really covers the API
    problems = []
    async with client_for(app) as client:
        await client.get("/login")  # the CSRF cookie: page forms check it before anything else
        form_header = {"x-csrf-token": client.cookies["ajanda_csrf"]}
        for method, path, permission in table:
            url = concrete(path)
            body = {} if method in ("POST", "PUT", "PATCH") else None
            extra = form_header if path in pages else {}
            anonymous = await client.request(method, url, json=body, headers=extra)
            if permission is None:
                # (a failed sign-in answers 401 too, but it asks for no credentials: no WWW-Authenticate)
                if anonymous.status_code == 401 and "www-authenticate" in anonymous.headers:
                    problems.append(f"{method} {path}: public route asked for credentials")
                continue
            if path in pages:  # an admin page sends a visitor to the sign-in, then comes back
                expected = f"/login?next={quote(url, safe='')}"
                if anonymous.status_code != 303 or anonymous.headers["location"] != expected:
                    problems.append(f"{method} {path}: anonymous not sent to the sign-in")
            elif anonymous.status_code != 401:
                problems.append(f"{method} {path}: anonymous got {anonymous.status_code}, not 401")
            for role, token in tokens.items():
                answer = await client.request(
                    method, url, json=body, headers={"Authorization": f"Bearer {token}", **extra}
                )
                allowed = permission in MATRIX[role]
                if allowed and answer.status_code in (401, 403):
                    problems.append(f"{method} {path}: {role.value} refused ({answer.status_code})")
                if not allowed and answer.status_code != 403:
                    problems.append(f"{method} {path}: {role.value} got {answer.status_code}, not 403")
                if not allowed and permission.value not in answer.text:
                    problems.append(f"{method} {path}: the 403 does not name {permission.value}")
    assert not problems, "\n".join(problems)


async def test_a_route_without_a_permission_stops_the_app_from_being_built(
    open_context: AppContext,
) -> None:
    @get("/forgotten")
    async def forgotten() -> str:
        return "reachable by anyone"

    plugin = ModuleType("careless")
    plugin.PLUGIN = PluginMeta(name="careless", version="1", description="forgets a permission")  # type: ignore[attr-defined]
    plugin.register_routes = hookimpl(lambda context: [forgotten])  # type: ignore[attr-defined]
    settings = msgspec.structs.replace(
        open_context.settings,
        plugins=msgspec.structs.replace(open_context.settings.plugins, enabled=["careless"]),
    )
    with pytest.raises(AjandaError, match=r"forgotten.*declares no permission"):
        create_app(settings, extra_plugins={"careless": plugin}, run_worker=False, migrate_on_start=False)


def test_the_matrix_in_the_docs_is_the_one_enforced() -> None:
    text = (ROOT / "docs" / "access.md").read_text()
    documented: dict[str, dict[str, bool]] = {}
    header: list[str] = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == "Permission":
            header = cells[1:]
        elif header and len(cells) == len(header) + 1 and cells[0].startswith("`"):
            documented[cells[0].strip("`")] = {
                role: cell == "yes" for role, cell in zip(header, cells[1:], strict=True)
            }
    enforced = {p.value: {r.value: p in MATRIX[r] for r in Role} for p in Permission}
    assert documented == enforced


# --------------------------------------------------------------------------------------------------
# Signing in


async def test_a_session_survives_a_restart_and_ends_at_sign_out(
    make_settings: Callable[..., Settings], start_context: Any
) -> None:
    settings = make_settings(server={"rate_limit_per_minute": 0})
    first = await start_context(settings)
    await create_account(first, "ayse", PASSWORD, Role.OWNER, "Ayşe Yılmaz")
    async with client_for(app_for(first)) as browser:
        signed_in = await sign_in(browser, "ayse", PASSWORD)
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/admin"
        cookies = dict(browser.cookies)
    await first.stop()

    second = await start_context(settings)  # a new process on the same database
    async with client_for(app_for(second)) as browser:
        browser.cookies.update(cookies)
        me = await browser.get("/api/v1/me")
        assert me.status_code == 200, me.text
        assert me.json()["name"] == "ayse" and me.json()["role"] == "owner"
        assert me.json()["display_name"] == "Ayşe Yılmaz"
        home = await browser.get("/admin")
        assert "Ayşe Yılmaz" in home.text  # the account's own name, not its username
        out = await browser.post("/logout", headers=csrf(browser))
        assert out.status_code == 303
        browser.cookies.update(cookies)  # the old cookie, replayed
        assert (await browser.get("/api/v1/me")).status_code == 401


async def test_csrf_is_required_for_forms_and_cookie_requests_not_for_tokens(
    open_context: AppContext,
) -> None:
    ctx = open_context
    await create_account(ctx, "resepsiyon", PASSWORD, Role.RECEPTIONIST)
    async with client_for(app_for(ctx)) as browser:
        await browser.get("/login")
        forged = await browser.post("/login", data={"username": "resepsiyon", "password": PASSWORD})
        assert forged.status_code == 403
        assert (await sign_in(browser, "resepsiyon", PASSWORD)).status_code == 303
        body = {"name": "Zeynep Kaya", "phone": "+905321112233"}
        without = await browser.post("/api/v1/customers", json=body)
        assert without.status_code == 403 and "CSRF" in without.json()["detail"]
        with_token = await browser.post("/api/v1/customers", json=body, headers=csrf(browser))
        assert with_token.status_code == 201
    _, token = await create_token(ctx, "integration", Role.RECEPTIONIST)
    async with client_for(app_for(ctx)) as integration:
        answer = await integration.post(
            "/api/v1/customers",
            json={"name": "Ali Demir", "phone": "+905321112244"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 201


async def test_wrong_passwords_lock_the_account_for_a_while(
    make_settings: Callable[..., Settings], start_context: Any
) -> None:
    ctx = await start_context(
        make_settings(
            server={"rate_limit_per_minute": 0}, access={"max_failed_logins": 3, "lockout_minutes": 0.02}
        )
    )
    await create_account(ctx, "mehmet", PASSWORD, Role.MANAGER)
    async with client_for(app_for(ctx)) as browser:
        for _ in range(3):
            wrong = await sign_in(browser, "mehmet", "not the password")
            assert wrong.status_code == 401 and "hatalı" in wrong.text  # Turkish by default
        locked = await sign_in(browser, "mehmet", PASSWORD)
        assert locked.status_code == 401  # the right password, but locked
        unknown = await sign_in(browser, "nobody", PASSWORD)
        assert unknown.text.count('role="alert"') == locked.text.count('role="alert"') == 1
        until = await ctx.db.fetchval("SELECT locked_until FROM account WHERE username = 'mehmet'")
        assert until is not None
        await asyncio.sleep(1.3)
        assert (await sign_in(browser, "mehmet", PASSWORD)).status_code == 303
    audit = await ctx.db.fetch("SELECT action FROM ajanda_audit WHERE entity = 'account' ORDER BY seq")
    assert [r["action"] for r in audit] == ["created", "locked", "login"]


async def test_sign_in_attempts_are_rate_limited_per_address(
    make_settings: Callable[..., Settings], start_context: Any
) -> None:
    ctx = await start_context(make_settings(access={"login_rate_per_minute": 3}))
    async with client_for(app_for(ctx)) as browser:
        statuses = [(await sign_in(browser, "x" * 5, "whatever-password")).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


async def test_second_factor_is_needed_once_turned_on(open_context: AppContext) -> None:
    ctx = open_context
    account = await create_account(ctx, "hekim", PASSWORD, Role.OWNER)
    async with client_for(app_for(ctx)) as browser:
        assert (await sign_in(browser, "hekim", PASSWORD)).status_code == 303
        started = await browser.post("/api/v1/me/totp", headers=csrf(browser))
        assert started.status_code == 200
        secret = started.json()["secret"]
        assert started.json()["uri"].startswith("otpauth://totp/")
        bad = await browser.post("/api/v1/me/totp/confirm", json={"code": "000000"}, headers=csrf(browser))
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "code"
        confirming = totp_code(secret)
        good = await browser.post("/api/v1/me/totp/confirm", json={"code": confirming}, headers=csrf(browser))
        assert good.status_code == 204
    stored = await ctx.db.fetchval("SELECT totp_enc FROM account WHERE id = ?", account.id)
    assert secret not in stored  # encrypted at rest
    async with client_for(app_for(ctx)) as browser:
        assert (await sign_in(browser, "hekim", PASSWORD)).status_code == 401
        stale = totp_code(secret, datetime.now(UTC) - timedelta(minutes=5))
        assert (await sign_in(browser, "hekim", PASSWORD, stale)).status_code == 401
        # The code that confirmed the set-up is spent; the next one (30 s ahead, within drift) works once.
        assert (await sign_in(browser, "hekim", PASSWORD, confirming)).status_code == 401
        following = totp_code(secret, datetime.now(UTC) + timedelta(seconds=30))
        assert (await sign_in(browser, "hekim", PASSWORD, following)).status_code == 303
    async with client_for(app_for(ctx)) as replay:
        assert (await sign_in(replay, "hekim", PASSWORD, following)).status_code == 401
    with pytest.raises(AjandaError, match="already on"):
        await start_totp(ctx, account.id)


async def test_a_disabled_account_loses_its_sessions_at_once(open_context: AppContext) -> None:
    ctx = open_context
    await create_account(ctx, "patron", PASSWORD, Role.OWNER)
    staff_account = await create_account(ctx, "eski", PASSWORD, Role.RECEPTIONIST)
    async with client_for(app_for(ctx)) as owner, client_for(app_for(ctx)) as leaver:
        await sign_in(owner, "patron", PASSWORD)
        await sign_in(leaver, "eski", PASSWORD)
        assert (await leaver.get("/api/v1/me")).status_code == 200
        off = await owner.post(f"/api/v1/users/{staff_account.id}/disable", headers=csrf(owner))
        assert off.status_code == 200 and off.json()["disabled_at"] is not None
        assert (await leaver.get("/api/v1/me")).status_code == 401
        assert (await sign_in(leaver, "eski", PASSWORD)).status_code == 401
        me = (await owner.get("/api/v1/me")).json()
        last_owner = await owner.post(f"/api/v1/users/{me['id']}/disable", headers=csrf(owner))
        assert last_owner.status_code == 409


# --------------------------------------------------------------------------------------------------
# Tokens


async def test_tokens_are_shown_once_stored_hashed_and_revocable(open_context: AppContext) -> None:
    ctx = open_context
    async with client_for(app_for(ctx)) as client:
        boot = admin_headers(ctx.settings)
        made = await client.post(
            "/api/v1/tokens", json={"name": "Muhasebe", "role": "receptionist"}, headers=boot
        )
        assert made.status_code == 201
        token = made.json()["token"]
        token_id = made.json()["id"]
        listed = (await client.get("/api/v1/tokens", headers=boot)).json()
        assert [t["token"] for t in listed] == [None]
        assert token not in str(await ctx.db.fetch("SELECT * FROM api_token"))
        bearer = {"Authorization": f"Bearer {token}"}
        assert (await client.get("/api/v1/customers", headers=bearer)).status_code == 200
        assert (await client.get("/api/v1/admin/audit", headers=bearer)).status_code == 403  # its role
        revoked = await client.post(f"/api/v1/tokens/{token_id}/revoke", headers=boot)
        assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
        assert (await client.get("/api/v1/customers", headers=bearer)).status_code == 401
        near = token[:-1] + ("A" if token[-1] != "A" else "B")
        assert (
            await client.get("/api/v1/customers", headers={"Authorization": f"Bearer {near}"})
        ).status_code == 401
    actors = await ctx.db.fetch(
        "SELECT actor_id, action FROM ajanda_audit WHERE entity = 'api_token' ORDER BY seq"
    )
    assert [(r["actor_id"], r["action"]) for r in actors] == [
        ("bootstrap-admin", "created"),
        ("bootstrap-admin", "revoked"),
    ]


async def test_the_bootstrap_token_works_only_until_an_owner_exists(open_context: AppContext) -> None:
    ctx = open_context
    boot = admin_headers(ctx.settings)
    async with client_for(app_for(ctx)) as client:
        manager = await client.post(
            "/api/v1/users", json={"username": "mudur", "password": PASSWORD, "role": "manager"}, headers=boot
        )
        assert manager.status_code == 201  # a manager is not an owner: the token still works
        assert (await client.get("/api/v1/users", headers=boot)).status_code == 200
        owner = await client.post(
            "/api/v1/users", json={"username": "sahip", "password": PASSWORD, "role": "owner"}, headers=boot
        )
        assert owner.status_code == 201
        refused = await client.get("/api/v1/users", headers=boot)
        assert refused.status_code == 401
        assert (await sign_in(client, "sahip", PASSWORD)).status_code == 303
        assert (await client.get("/api/v1/users")).status_code == 200


async def test_account_input_errors_name_the_field(open_context: AppContext) -> None:
    ctx = open_context
    boot = admin_headers(ctx.settings)
    async with client_for(app_for(ctx)) as client:
        cases = [
            ({"username": "a b", "password": PASSWORD, "role": "owner"}, "username"),
            ({"username": "kisa", "password": "short", "role": "owner"}, "password"),
            ({"username": "rol", "password": PASSWORD, "role": "king"}, "role"),
            ({"username": "personel", "password": PASSWORD, "role": "staff"}, "staff"),
            ({"username": "yok", "password": PASSWORD, "role": "staff", "staff": 4242}, "staff"),
        ]
        for body, field in cases:
            answer = await client.post("/api/v1/users", json=body, headers=boot)
            assert answer.status_code == 422, (body, answer.text)
            assert answer.json()["errors"][0]["field"] == field
        first = await client.post(
            "/api/v1/users", json={"username": "ayni", "password": PASSWORD, "role": "manager"}, headers=boot
        )
        again = await client.post(
            "/api/v1/users", json={"username": "AYNI", "password": PASSWORD, "role": "manager"}, headers=boot
        )
        assert first.status_code == 201 and again.status_code == 409


# --------------------------------------------------------------------------------------------------
# Staff see their own calendar


async def test_a_staff_account_sees_only_its_own_bookings(open_context: AppContext) -> None:
    ctx = open_context
    business = await build(staff=2, hours=("00:00", "23:59"))
    service = await add_service(business, "Kesim")
    mine, theirs = business.staff[0], business.staff[1]
    await create_account(ctx, "berber", PASSWORD, Role.STAFF, staff_id=mine)
    boot = admin_headers(ctx.settings)
    day = (datetime.now(UTC) + timedelta(days=2)).date()
    async with client_for(app_for(ctx)) as client:
        ids = {}
        for staff_id, hour in ((mine, 10), (theirs, 11)):
            made = await client.post(
                "/api/v1/admin/bookings",
                json={
                    "service": service,
                    "staff": staff_id,
                    "start": f"{day.isoformat()}T{hour:02d}:00:00+03:00",
                    "customer": {"name": f"Müşteri {hour}", "phone": f"+9053211100{hour}"},
                },
                headers=boot,
            )
            assert made.status_code == 201, made.text
            ids[staff_id] = made.json()["id"]
        await sign_in(client, "berber", PASSWORD)
        listed = await client.get("/api/v1/admin/bookings", params={"from": day.isoformat()})
        assert [b["id"] for b in listed.json()] == [ids[mine]]
        asked_for_other = await client.get(
            "/api/v1/admin/bookings", params={"from": day.isoformat(), "staff": theirs}
        )
        assert [b["id"] for b in asked_for_other.json()] == [ids[mine]]
        assert (await client.get(f"/api/v1/admin/bookings/{ids[mine]}")).status_code == 200
        assert (await client.get(f"/api/v1/admin/bookings/{ids[theirs]}")).status_code == 404
        cancel = await client.post(
            f"/api/v1/admin/bookings/{ids[mine]}/cancel", json={}, headers=csrf(client)
        )
        assert cancel.status_code == 403
        # Customers: only the ones served (by search, and the card itself).
        customers = (await client.get("/api/v1/customers", params={"q": "Müşteri"})).json()
        assert [c["name"] for c in customers] == ["Müşteri 10"]
        assert (await client.get("/api/v1/customers", params={"q": "+905321110011"})).json() == []
        everyone = (await client.get("/api/v1/customers", params={"q": "Müşteri"}, headers=boot)).json()
        assert len(everyone) == 2
        other_id = next(c["id"] for c in everyone if c["name"] == "Müşteri 11")
        assert (await client.get(f"/api/v1/customers/{other_id}")).status_code == 404
        assert (await client.get("/api/v1/customers/reviews")).json() == []
        # The same customer also booked with the other staff member: the card shows only this one's.
        also = await client.post(
            "/api/v1/admin/bookings",
            json={"service": service, "staff": theirs, "start": f"{day.isoformat()}T15:00:00+03:00",
                  "customer": {"name": "Müşteri 10", "phone": "+905321110010"}},
            headers={**boot, **csrf(client)},  # the browser's session cookie goes along: CSRF applies
        )  # fmt: skip
        assert also.status_code == 201, also.text
        own_card = await client.get(f"/api/v1/customers/{customers[0]['id']}")
        assert own_card.status_code == 200
        assert [b["id"] for b in own_card.json()["bookings"]] == [ids[mine]]
        assert own_card.json()["audit"] == []
        full = await client.get(f"/api/v1/customers/{customers[0]['id']}", headers=boot)
        assert len(full.json()["bookings"]) == 2 and full.json()["audit"]


# --------------------------------------------------------------------------------------------------
# Command line


def test_user_and_token_commands(config_file: Path, make_settings: Callable[..., Settings]) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "AJANDA_CONFIG": str(config_file), "AJANDA_NEW_PASSWORD": PASSWORD}

    def ajanda(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(ROOT / "cli.py"), *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )

    added = ajanda("user", "add", "Ayse", "--role", "owner", "--name", "Ayşe Yılmaz")
    assert added.returncode == 0, added.stderr
    assert "ayse (owner) added" in added.stdout
    again = ajanda("user", "add", "ayse", "--role", "manager")
    assert again.returncode == 1 and again.stderr.strip().splitlines() == [
        "error: an account named 'ayse' already exists"
    ]
    made = ajanda("token", "create", "Muhasebe", "--role", "receptionist")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("ajt_") and "not shown again" in made.stderr
    listed = ajanda("token", "list")
    assert "Muhasebe" in listed.stdout and token not in listed.stdout

    async def call() -> tuple[int, int]:
        from core.context import build_context

        ctx = build_context(make_settings(server={"rate_limit_per_minute": 0}))
        await ctx.start(run_migrations=True)
        try:
            async with client_for(app_for(ctx)) as client:
                bearer = {"Authorization": f"Bearer {token}"}
                customers = (await client.get("/api/v1/customers", headers=bearer)).status_code
                boot = (
                    await client.get("/api/v1/customers", headers=admin_headers(ctx.settings))
                ).status_code
                return customers, boot
        finally:
            await ctx.stop()

    assert asyncio.run(call()) == (200, 401)  # the token works; the bootstrap token no longer does
    token_id = token.split("_")[1]
    assert ajanda("token", "revoke", token_id).returncode == 0
    assert asyncio.run(call())[0] == 401
    users = ajanda("user", "list", "--json")
    assert '"username": "ayse"' in users.stdout and '"state": "active"' in users.stdout
    last = ajanda("user", "disable", "ayse")
    assert last.returncode == 1 and "only active owner" in last.stderr
    unknown = ajanda("user", "disable", "nobody")
    assert unknown.returncode == 1 and "nobody" in unknown.stderr


async def test_the_worker_deletes_ended_sessions(open_context: AppContext) -> None:
    from core.access.sessions import open_session, session_principal
    from core.outbox.worker import Worker

    ctx = open_context
    account = await create_account(ctx, "gece", PASSWORD, Role.RECEPTIONIST)
    live = await open_session(ctx, account.id)
    idle = await open_session(ctx, account.id)
    ended = await open_session(ctx, account.id)
    long_ago = datetime.now(UTC) - timedelta(days=30)
    await ctx.db.execute(
        "UPDATE account_session SET last_seen_at = ? WHERE token_hash = ?", long_ago, token_hash(idle)
    )
    await ctx.db.execute(
        "UPDATE account_session SET expires_at = ? WHERE token_hash = ?", long_ago, token_hash(ended)
    )
    await Worker(ctx).sweep(force=True)
    assert int(await ctx.db.fetchval("SELECT COUNT(*) FROM account_session")) == 1
    assert await session_principal(ctx, live) is not None


async def test_parallel_sign_ins_all_finish(open_context: AppContext) -> None:
    """Two Argon2id runs at once hung for good (cryptography 50 / OpenSSL 4): hashes queue instead."""
    ctx = open_context
    for name in ("bir", "iki", "uc"):
        await create_account(ctx, name, PASSWORD, Role.RECEPTIONIST)
    app = app_for(ctx)

    async def one(name: str, password: str) -> int:
        async with client_for(app) as browser:
            return (await sign_in(browser, name, password)).status_code

    answers = await asyncio.wait_for(
        asyncio.gather(
            one("bir", PASSWORD), one("iki", PASSWORD), one("uc", "wrong password!"), one("yok", "x")
        ),
        timeout=60,
    )
    assert answers == [303, 303, 401, 401]


async def test_parallel_disables_never_leave_the_business_without_an_owner(open_context: AppContext) -> None:
    ctx = open_context
    owners = [await create_account(ctx, f"sahip{n}", PASSWORD, Role.OWNER) for n in range(4)]
    results = await asyncio.gather(*(disable_account(ctx, o.id) for o in owners), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["Account", "Account", "Account", "Conflict"]
    assert await ctx.db.fetchval("SELECT COUNT(*) FROM account WHERE disabled_at IS NULL") == 1


async def test_odd_input_is_a_clear_refusal_not_a_500(open_context: AppContext) -> None:
    ctx = open_context
    boot = admin_headers(ctx.settings)
    async with client_for(app_for(ctx)) as client:
        huge = await client.post(
            "/api/v1/users",
            json={"username": "buyuk", "password": PASSWORD, "role": "staff", "staff": 2**63},
            headers=boot,
        )
        assert huge.status_code == 422 and huge.json()["errors"][0]["field"] == "staff"
        nul = await client.post("/api/v1/tokens", json={"name": "a\x00b", "role": "staff"}, headers=boot)
        assert nul.status_code == 422
        assert (await sign_in(client, "ay\x00se", PASSWORD)).status_code == 401


async def test_wrong_current_passwords_count_towards_the_lockout(
    make_settings: Callable[..., Settings], start_context: Any
) -> None:
    ctx = await start_context(
        make_settings(server={"rate_limit_per_minute": 0}, access={"max_failed_logins": 3})
    )
    await create_account(ctx, "oturum", PASSWORD, Role.RECEPTIONIST)
    async with client_for(app_for(ctx)) as browser:
        await sign_in(browser, "oturum", PASSWORD)
        for _ in range(3):
            guess = await browser.post(
                "/api/v1/me/totp/disable", json={"current_password": "a guess at it"}, headers=csrf(browser)
            )
            assert guess.status_code == 422 and guess.json()["errors"][0]["field"] == "current_password"
        right = await browser.post(
            "/api/v1/me/password",
            json={"current_password": PASSWORD, "new_password": "yepyeni bir parola"},
            headers=csrf(browser),
        )
        assert right.status_code == 422 and "try again later" in right.json()["errors"][0]["message"]
    async with client_for(app_for(ctx)) as other:
        assert (await sign_in(other, "oturum", PASSWORD)).status_code == 401  # locked


async def test_a_session_cookie_written_oddly_is_still_csrf_checked(open_context: AppContext) -> None:
    ctx = open_context
    await create_account(ctx, "garip", PASSWORD, Role.RECEPTIONIST)
    async with client_for(app_for(ctx)) as browser:
        await sign_in(browser, "garip", PASSWORD)
        session = browser.cookies.get("ajanda_session")
    async with client_for(app_for(ctx)) as raw:
        spaced = {"cookie": f"ajanda_session ={session}"}
        assert (await raw.get("/api/v1/me", headers=spaced)).status_code == 200  # it signs in...
        posted = await raw.post(
            "/api/v1/customers", json={"name": "A B", "phone": "+905321119999"}, headers=spaced
        )
        assert posted.status_code == 403  # ...so it is CSRF-checked too
