"""Shared fixtures. AJANDA_TEST_DB=sqlite (default) or postgres selects the engine for the whole run;
with postgres, AJANDA_TEST_PG_DSN points at a server where each test gets a database of its own."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from core.config import Settings, generate_secrets, settings_from_dict
from core.context import AppContext, build_context

ENGINE = os.environ.get("AJANDA_TEST_DB", "sqlite")
PG_DSN = os.environ.get("AJANDA_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parent.parent


def pytest_report_header() -> str:
    return f"ajanda test database: {ENGINE}"


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _pg_url(name: str) -> str:
    base, _, _ = PG_DSN.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for this test."""
    if ENGINE == "sqlite":
        yield f"sqlite:///{tmp_path / 'ajanda.sqlite3'}"
        return
    name = f"ajanda_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield _pg_url(name)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def secrets_() -> dict[str, str]:
    return generate_secrets()


@pytest.fixture
def make_settings(tmp_path: Path, database_url: str, secrets_: dict[str, str]) -> Callable[..., Settings]:
    """Settings on the test database; keyword sections override the defaults."""

    def make(**sections: Any) -> Settings:
        raw: dict[str, Any] = {"security": dict(secrets_), "database": {"url": database_url}}
        for key, value in sections.items():
            if isinstance(value, dict) and isinstance(raw.get(key), dict):
                raw[key] = {**raw[key], **value}
            else:
                raw[key] = value
        raw.setdefault("logging", {}).setdefault("access_log", True)
        return settings_from_dict(raw, tmp_path, None, env={})

    return make


@pytest.fixture
def config_file(tmp_path: Path, database_url: str, secrets_: dict[str, str]) -> Path:
    """A config.toml for the test database, for tests that run the `ajanda` command."""
    path = tmp_path / "config.toml"
    lines = [
        "[security]",
        *(f'{k} = "{v}"' for k, v in secrets_.items()),
        "[database]",
        f'url = "{database_url}"',
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def start_context() -> AsyncIterator[Callable[..., Any]]:
    """Build and start (migrated) contexts; all are stopped at the end of the test."""
    started: list[AppContext] = []

    async def start(settings: Settings, extra: dict[str, ModuleType] | None = None) -> AppContext:
        ctx = build_context(settings, extra)
        await ctx.start(run_migrations=True)
        started.append(ctx)
        return ctx

    yield start
    for ctx in reversed(started):
        await ctx.stop()


@pytest.fixture
async def context(settings: Settings) -> AsyncIterator[AppContext]:
    ctx = build_context(settings)
    await ctx.start(run_migrations=True)
    try:
        yield ctx
    finally:
        await ctx.stop()


@pytest.fixture
async def open_context(make_settings: Callable[..., Settings], start_context: Any) -> AppContext:
    """A started context whose API has no rate limit (tests send many requests from one address)."""
    ctx: AppContext = await start_context(make_settings(server={"rate_limit_per_minute": 0}))
    return ctx


def admin_headers(settings: Settings) -> dict[str, str]:
    token = settings.security.admin_token
    assert token is not None
    return {"Authorization": f"Bearer {token.reveal()}"}


def api_client(context: AppContext) -> Any:
    """An HTTP client for an app around an already started context, in the test's own event loop.

    (Litestar's test clients run the app in a portal thread with its own loop, which asyncpg's pool,
    created in the test's loop, cannot be used from.)
    """
    import httpx

    from core.app import create_app

    app = create_app(context.settings, context=context, run_worker=False, migrate_on_start=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")
