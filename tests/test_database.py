"""The database layer on the engine under test: transactions, concurrency, migrations."""

from __future__ import annotations

import asyncio

import pytest

from core.context import AppContext
from core.db.migrate import applied
from core.tables import CORE_TABLES


async def test_concurrent_check_then_insert_is_serialised_by_a_named_lock(context: AppContext) -> None:
    """20 writers each check for a key and insert it if absent: exactly one row, no errors.

    Without a constraint PostgreSQL's READ COMMITTED would let several through; `Database.lock`
    makes them queue there, and SQLite's IMMEDIATE transactions queue them anyway.
    """
    db = context.db
    async with db.transaction():
        await db.execute("CREATE TABLE probe (k VARCHAR(10) NOT NULL)")

    async def writer() -> bool:
        async with db.transaction():
            await db.lock("probe:slot")
            rows = await db.fetch("SELECT k FROM probe WHERE k = ?", "slot")
            if rows:
                return False
            await asyncio.sleep(0.001)  # give every other writer the chance to interleave
            await db.execute("INSERT INTO probe (k) VALUES (?)", "slot")
            return True

    results = await asyncio.gather(*(writer() for _ in range(20)))
    assert results.count(True) == 1
    assert await db.fetchval("SELECT COUNT(*) FROM probe") == 1


async def test_a_lock_outside_a_transaction_is_refused(context: AppContext) -> None:
    with pytest.raises(RuntimeError, match="outside a transaction"):
        await context.db.lock("probe:slot")


async def test_rollback_discards_writes_and_after_commit_work(context: AppContext) -> None:
    db = context.db
    ran: list[str] = []

    async def note() -> None:
        ran.append("after")

    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await context.outbox.enqueue("test.kind", {"a": 1})
            tx.after_commit(note)
            raise RuntimeError("boom")
    assert await db.fetchval("SELECT COUNT(*) FROM ajanda_job") == 0
    assert ran == []
    async with db.transaction() as tx:
        tx.after_commit(note)
    assert ran == ["after"]


async def test_nested_transactions_join_the_outer_one(context: AppContext) -> None:
    db = context.db
    with pytest.raises(ValueError):
        async with db.transaction():
            async with db.transaction():
                await context.outbox.enqueue("test.kind")
            raise ValueError
    assert await db.fetchval("SELECT COUNT(*) FROM ajanda_job") == 0


async def test_migrations_are_recorded_and_idempotent(context: AppContext) -> None:
    done = await applied(context.db)
    assert ("core", "m0001_core") in done
    assert await context.migrate() == []


async def test_piccolo_tables_match_the_migrated_schema(context: AppContext) -> None:
    """Every column a Piccolo table declares exists in the database the migrations built."""
    for table in CORE_TABLES:
        name = table._meta.tablename  # type: ignore[attr-defined]
        columns = [c._meta.db_column_name for c in table._meta.columns]  # type: ignore[attr-defined]
        rows = await context.db.fetch(f"SELECT {', '.join(columns)} FROM {name} LIMIT 1")
        assert rows == []


async def test_piccolo_queries_run_inside_our_transaction(context: AppContext) -> None:
    from core.outbox.tables import Job

    with pytest.raises(LookupError):
        async with context.db.transaction():
            await context.outbox.enqueue("test.kind", dedupe_key="x")
            # Piccolo sees the uncommitted row: it runs on the transaction's connection.
            assert await Job.count().where(Job.dedupe_key == "x") == 1
            raise LookupError
    assert await Job.count() == 0


async def test_a_second_open_database_cannot_steal_the_tables(make_settings, start_context, tmp_path) -> None:
    """Piccolo binds engines to table classes: a context on another database must not redirect them."""
    from core.errors import AjandaError

    first = await start_context(make_settings())
    other = make_settings(database={"url": f"sqlite:///{tmp_path / 'other.sqlite3'}"})
    with pytest.raises(AjandaError, match="one process serves one database"):
        await start_context(other)
    await first.stop()
    second = await start_context(other)  # once the first is closed, the tables may move
    assert second.db.url.endswith("other.sqlite3")
