"""The installed `ajanda-hello` plugin end to end: migrations, routes, guard, outbox job, audit sink, CLI.

These are the promises the core makes to a third-party author: a table and migration of its own,
routes under /p/<name>/ that are admin-only unless marked public, job handlers the worker runs, an
audit hook that fires once per committed row and never for a rolled-back one, per-instance state,
and commands on the `ajanda` command line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from core.app import create_app
from core.config import Settings
from core.context import AppContext
from core.db.migrate import applied
from core.outbox.worker import Worker
from tests.conftest import admin_headers
from tests.plugin_install import hello_dist, run_cli, write_config

__all__ = ["hello_dist"]  # the imported fixture is used through pytestmark

pytestmark = pytest.mark.usefixtures("hello_dist")

T = TypeVar("T")


def hello_settings(make_settings: Callable[..., Settings], **hello: Any) -> Settings:
    return make_settings(plugins={"enabled": ["hello"]}, plugin={"hello": hello})


@pytest.fixture
def app(make_settings: Callable[..., Settings]) -> Litestar:
    """The real app with hello enabled; its lifespan migrates (explicitly, so on PostgreSQL too)."""
    settings = hello_settings(make_settings, greeting="Selam", times=2)
    return create_app(settings, run_worker=False, migrate_on_start=True)


def in_app_loop(client: TestClient[Litestar], fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run `fn` on the event loop that serves the app.

    The test client runs the app on a loop of its own, in another thread, and the app's database
    pool belongs to that loop (asyncpg refuses to be used from another one).
    """
    return client.blocking_portal.call(fn, *args)


async def visit_count(ctx: AppContext) -> int:
    return int(await ctx.db.fetchval("SELECT COUNT(*) FROM hello_visit"))


# ==================================================================================================
# Migrations and tables


async def test_plugin_migration_runs_after_the_cores_and_is_recorded(
    make_settings: Callable[..., Settings], start_context: Callable[..., Any]
) -> None:
    ctx: AppContext = await start_context(hello_settings(make_settings))
    done = await applied(ctx.db)
    assert ("hello", "m0001_visits") in done
    assert ("core", "m0001_core") in done
    assert [s.app for s in ctx.migration_sources()] == ["core", "hello"]
    assert await ctx.migrate() == []  # idempotent
    assert await visit_count(ctx) == 0


# ==================================================================================================
# Routes under /p/hello/


def test_public_route_works_without_a_token(app: Litestar) -> None:
    with TestClient(app) as client:
        response = client.get("/p/hello/greet")
    assert response.status_code == 200
    assert response.json() == {"greeting": "Selam", "times": 2, "text": "Selam Selam"}


def test_plugin_routes_are_admin_only_by_default(app: Litestar) -> None:
    ctx: AppContext = app.state.context
    with TestClient(app) as client:
        anonymous = client.get("/p/hello/visits")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"].startswith("application/problem+json")
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        assert anonymous.json()["instance"] == "/p/hello/visits"
        wrong = client.get("/p/hello/visits", headers={"Authorization": "Bearer " + "x" * 43})
        assert wrong.status_code == 401

        admin = client.get("/p/hello/visits", headers=admin_headers(ctx.settings))
        assert admin.status_code == 200
        assert admin.json() == {"count": 0}


def test_plugin_routes_are_mounted_only_under_their_prefix(app: Litestar) -> None:
    with TestClient(app) as client:
        assert client.get("/greet").status_code == 404
        assert client.get("/p/other/greet").status_code == 404
    paths = {route.path for route in app.routes}
    assert {"/p/hello/greet", "/p/hello/visits"} <= paths


# ==================================================================================================
# Outbox job


def test_outbox_job_of_the_plugin_inserts_a_row(app: Litestar) -> None:
    ctx: AppContext = app.state.context

    async def job_row(job_id: int) -> Any:
        return (await ctx.db.fetch("SELECT status, attempts FROM ajanda_job WHERE id = ?", job_id))[0]

    async def visit_names() -> list[str]:
        return [r["name"] for r in await ctx.db.fetch("SELECT name FROM hello_visit")]

    with TestClient(app) as client:
        job_id = in_app_loop(client, ctx.outbox.enqueue, "hello.record", {"name": "Ayşe"})
        assert job_id is not None
        assert in_app_loop(client, visit_names) == []  # enqueued, not yet run
        assert in_app_loop(client, Worker(ctx).run_once) == 1
        job = in_app_loop(client, job_row, job_id)
        assert (job["status"], job["attempts"]) == ("done", 1)
        assert in_app_loop(client, visit_names) == ["Ayşe"]
        # Written through the plugin's Piccolo table, read back through its admin route.
        admin = client.get("/p/hello/visits", headers=admin_headers(ctx.settings))
        assert admin.json() == {"count": 1}


# ==================================================================================================
# audit_event


async def test_audit_event_fires_after_commit_and_never_for_a_rollback(
    make_settings: Callable[..., Settings], start_context: Callable[..., Any]
) -> None:
    ctx: AppContext = await start_context(hello_settings(make_settings))
    state = ctx.plugin_state["hello"]
    before = state.audit_events

    async with ctx.db.transaction():
        await ctx.audit.record("hello", 1, "tested", {"n": 1})
        await ctx.audit.record("hello", 2, "tested", {"n": 2})
        assert state.audit_events == before  # nothing is committed yet
    assert state.audit_events == before + 2
    assert state.last_audit is not None
    assert (state.last_audit.entity, state.last_audit.entity_id) == ("hello", "2")
    assert state.last_audit.changes == {"n": 2}

    with pytest.raises(RuntimeError):
        async with ctx.db.transaction():
            await ctx.audit.record("hello", 3, "tested", {"n": 3})
            raise RuntimeError("rolled back")
    assert state.audit_events == before + 2

    # The audit rows are appended at commit time; if the commit then fails, no event may escape.
    async def fail_at_commit() -> None:
        raise RuntimeError("commit-time failure")

    with pytest.raises(RuntimeError, match="commit-time failure"):
        async with ctx.db.transaction() as tx:
            await ctx.audit.record("hello", 4, "tested", {"n": 4})
            tx.before_commit(fail_at_commit)  # runs after the audit flush, before COMMIT
    assert state.audit_events == before + 2
    assert await ctx.db.fetchval("SELECT COUNT(*) FROM ajanda_audit WHERE entity = 'hello'") == 2


async def test_plugin_state_belongs_to_one_app_instance(
    make_settings: Callable[..., Settings], start_context: Callable[..., Any]
) -> None:
    settings = hello_settings(make_settings)
    first: AppContext = await start_context(settings)
    second: AppContext = await start_context(settings)
    assert first.plugin_state["hello"] is not second.plugin_state["hello"]
    await first.audit.record("hello", 1, "tested")
    assert first.plugin_state["hello"].audit_events == 1
    assert second.plugin_state["hello"].audit_events == 0


# ==================================================================================================
# CLI


@pytest.mark.slow
def test_cli_migrates_and_runs_the_plugins_command(
    tmp_path: Path, database_url: str, secrets_: dict[str, str]
) -> None:
    config = write_config(
        tmp_path / "config.toml",
        security=secrets_,
        database={"url": database_url},
        plugins={"enabled": ["hello"]},
        plugin={"hello": {"greeting": "Günaydın", "times": 3}},
    )
    migrated = run_cli("migrate", "--config", str(config), cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert "applying hello:m0001_visits" in migrated.stdout
    assert migrated.stdout.index("applying core:") < migrated.stdout.index("applying hello:")

    greeted = run_cli("hello", "greet", "--config", str(config), cwd=tmp_path)
    assert greeted.returncode == 0, greeted.stderr
    assert greeted.stdout == "Günaydın Günaydın Günaydın\n"

    # The config may also come from $AJANDA_CONFIG; the plugin's group then shows in the help.
    helped = run_cli("--help", cwd=tmp_path, env={"AJANDA_CONFIG": str(config)})
    assert helped.returncode == 0, helped.stderr
    assert "Commands of the hello plugin." in helped.stdout


@pytest.mark.slow
def test_cli_plugin_command_is_absent_when_the_plugin_is_disabled(
    tmp_path: Path, secrets_: dict[str, str]
) -> None:
    config = write_config(
        tmp_path / "config.toml", security=secrets_, database={"url": "sqlite:///var/ajanda.sqlite3"}
    )
    done = run_cli("hello", "greet", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 2
    assert "No such command 'hello'" in done.stderr
