"""SQLite's writer connection: it shares the file with other processes and keeps its own WAL tidy.

Whatever engine the suite runs on, these tests use a SQLite file: they are about how the embedded
default behaves when a second process (a CLI import, `ajanda worker`, a backup) writes to the same file.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.config import Settings, generate_secrets, settings_from_dict
from core.context import AppContext, build_context
from core.db.database import CHECKPOINT_EVERY


def sqlite_settings(folder: Path, busy_timeout: float) -> Settings:
    raw = {
        "security": generate_secrets(),
        "database": {"url": f"sqlite:///{folder / 'ajanda.sqlite3'}", "busy_timeout": busy_timeout},
    }
    return settings_from_dict(raw, folder, None, env={})


@pytest.fixture
async def sqlite_context(tmp_path: Path) -> AsyncIterator[AppContext]:
    ctx = build_context(sqlite_settings(tmp_path, busy_timeout=5.0))
    await ctx.start(run_migrations=True)
    try:
        yield ctx
    finally:
        await ctx.stop()


def hold_write_lock(path: Path, seconds: float, taken: threading.Event) -> None:
    """Another process's writer: holds the file's write lock for a while, then commits."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO location (name, timezone, active) VALUES ('Other process', 'UTC', 1)")
        taken.set()
        time.sleep(seconds)
        other.execute("COMMIT")
    finally:
        other.close()


async def test_a_writer_waits_for_another_process_without_stalling_the_server(
    sqlite_context: AppContext, tmp_path: Path
) -> None:
    db = sqlite_context.db
    taken = threading.Event()
    other = threading.Thread(target=hold_write_lock, args=(tmp_path / "ajanda.sqlite3", 0.5, taken))
    other.start()
    await asyncio.to_thread(taken.wait, 5)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    started = time.monotonic()
    try:
        async with db.transaction():
            await db.execute("INSERT INTO location (name, timezone, active) VALUES ('Ours', 'UTC', 1)")
    finally:
        ticking.cancel()
        await asyncio.to_thread(other.join)
    waited = time.monotonic() - started
    names = [r["name"] for r in await db.fetch("SELECT name FROM location ORDER BY id")]
    # Our transaction began only after the other process committed, and both rows are there.
    assert names == ["Other process", "Ours"]
    assert waited >= 0.3
    # The event loop kept serving while the writer waited (a blocked loop would tick zero times).
    assert ticks >= 10


async def test_a_lock_held_past_the_busy_timeout_is_a_clear_error(tmp_path: Path) -> None:
    ctx = build_context(sqlite_settings(tmp_path, busy_timeout=0.2))
    await ctx.start(run_migrations=True)
    taken = threading.Event()
    other = threading.Thread(target=hold_write_lock, args=(tmp_path / "ajanda.sqlite3", 1.0, taken))
    other.start()
    try:
        await asyncio.to_thread(taken.wait, 5)
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            async with ctx.db.transaction():
                await ctx.db.execute("INSERT INTO location (name, timezone, active) VALUES ('x', 'UTC', 1)")
        await asyncio.to_thread(other.join)
        # The failed attempt left the writer usable: the next transaction commits.
        async with ctx.db.transaction():
            await ctx.db.execute("INSERT INTO location (name, timezone, active) VALUES ('y', 'UTC', 1)")
        names = [r["name"] for r in await ctx.db.fetch("SELECT name FROM location ORDER BY id")]
        assert names == ["Other process", "y"]
    finally:
        await asyncio.to_thread(other.join)
        await ctx.stop()


async def test_committed_pages_reach_the_database_file(sqlite_context: AppContext, tmp_path: Path) -> None:
    """The writer does not checkpoint in its COMMIT (that would sync on the event loop); the
    background checkpoint must still move committed pages out of the WAL."""
    db = sqlite_context.db
    for i in range(CHECKPOINT_EVERY + 20):
        async with db.transaction():
            await db.execute("INSERT INTO location (name, timezone, active) VALUES (?, 'UTC', 1)", f"L{i}")
    for _ in range(100):  # the checkpoint runs in the background; give it a moment
        if db._checkpointing is not None and db._checkpointing.done():
            break
        await asyncio.sleep(0.02)
    # `immutable=1` reads the database file alone, ignoring the WAL.
    path = tmp_path / "ajanda.sqlite3"
    file_only = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        in_file = file_only.execute("SELECT COUNT(*) FROM location").fetchone()[0]
    finally:
        file_only.close()
    assert CHECKPOINT_EVERY <= in_file <= CHECKPOINT_EVERY + 20


def wal_salt(wal: Path) -> bytes:
    """The WAL header's salt: SQLite changes it each time it starts the log again from its beginning."""
    with wal.open("rb") as header:
        return header.read(32)[16:24]


async def test_the_wal_rewinds_under_steady_writes(sqlite_context: AppContext, tmp_path: Path) -> None:
    """A server that commits all the time must still rewind its WAL: a checkpoint that runs beside
    the writers never finds the log fully copied, and the file grew by every page ever written
    (about 10 MB per 600 of these transactions, never starting again)."""
    db = sqlite_context.db
    wal = tmp_path / "ajanda.sqlite3-wal"
    salts = {wal_salt(wal)}
    for i in range(12 * CHECKPOINT_EVERY):
        async with db.transaction():
            await db.execute(
                "INSERT INTO location (name, timezone, active) VALUES (?, 'UTC', 1)", f"{i}" + "x" * 3000
            )
        await asyncio.sleep(0)  # a server yields between requests; the checkpoint runs meanwhile
        salts.add(wal_salt(wal))
    # Twelve checkpoint intervals: the log started again several times (how often depends on how
    # long each checkpoint took beside the writers; without the second round it never did).
    assert len(salts) >= 3, len(salts)
    assert int(await db.fetchval("SELECT COUNT(*) FROM location")) == 12 * CHECKPOINT_EVERY
