"""Piccolo engines tuned for Ajanda's two databases.

Piccolo's stock SQLite engine opens a connection (and a thread) per query and re-sends
`PRAGMA foreign_keys` before every statement; on this hardware that made a 200-row read ten times slower
than a persistent connection (see docs/design/pitfalls). This subclass keeps a small pool of persistent
read connections and one persistent writer connection that the `Database` facade serialises in-process.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiosqlite
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, dict_factory


def _rows_now(conn: sqlite3.Connection, query: str, args: Sequence[Any], tuples: bool) -> list[Any]:
    cursor = conn.cursor()
    try:
        if tuples:
            cursor.row_factory = None
        cursor.execute(query, args)
        return cursor.fetchall()
    finally:
        cursor.close()


def is_write(query: str) -> bool:
    """Whether a statement run outside a transaction may change data (anything but a plain read)."""
    return not query.lstrip()[:6].upper().startswith(("SELECT", "PRAGMA"))


async def fetch_rows(conn: aiosqlite.Connection, query: str, args: Sequence[Any], tuples: bool) -> list[Any]:
    """All rows of one statement in one trip to the connection's thread.

    aiosqlite's public cursor API costs four thread hand-offs per statement (cursor, execute, fetchall,
    close): at ten statements per request that, not SQLite, capped a slot query at ~350 requests/s
    (docs/performance.md). `_execute` runs one function on the connection's own thread, which is what
    every public aiosqlite method does inside; aiosqlite is pinned below 0.23 for it. `tuples` skips
    the per-row dict, a third of the cost of a read of thousands of rows.
    """
    return await conn._execute(_rows_now, conn._conn, query, args, tuples)


def fetch_rows_here(conn: aiosqlite.Connection, query: str, args: Sequence[Any], tuples: bool) -> list[Any]:
    """All rows of one statement, run on the calling (event loop) thread: no thread hop at all.

    For statements that cannot wait for a lock: those on the writer connection between BEGIN IMMEDIATE
    and COMMIT (the write lock is held), and reads on a reader connection (WAL readers never wait).
    BEGIN, COMMIT and autocommit writes still go through `fetch_rows`, since they can wait for another
    process's lock or fsync a checkpoint. Such a statement takes less than the hop itself: a hop costs
    a future, a queue hand-off, a wake-up of the loop and two GIL switches, and under load the worker
    thread waits for the GIL the busy loop holds (docs/performance.md). Connections are opened with
    check_same_thread off; the write lock and the reader pool keep two threads from using one at once.
    """
    return _rows_now(conn._conn, query, args, tuples)


def _is_busy(err: sqlite3.OperationalError) -> bool:
    return (getattr(err, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_BUSY


def _run_waiting(conn: sqlite3.Connection, query: str, busy_timeout_ms: int) -> None:
    """On the connection's own thread: run `query`, waiting up to the busy timeout for another
    process's lock, then go back to not waiting at all."""
    conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
    try:
        _rows_now(conn, query, (), True)
    finally:
        conn.execute("PRAGMA busy_timeout = 0")


async def run_writer_control(conn: aiosqlite.Connection, query: str, busy_timeout_ms: int) -> None:
    """BEGIN IMMEDIATE or COMMIT on the writer connection, on the event loop thread when it need not wait.

    The writer connection never waits on its own (busy timeout 0, see `connect_writer`), so a lock
    another process holds comes back at once as SQLITE_BUSY instead of stalling the loop; only then
    does the statement move to the connection's thread and wait there with the configured timeout.
    The usual case, in which this process's writers already queue on the `Database` write lock, costs
    no thread hop: two hops per transaction were a sixth of a booking's CPU (docs/performance.md).
    COMMIT in WAL mode takes no further lock and, with automatic checkpoints off on this connection,
    syncs nothing (`Database` checkpoints on a reader connection's thread instead).
    """
    try:
        _rows_now(conn._conn, query, (), True)
    except sqlite3.OperationalError as err:
        if not _is_busy(err):
            raise
        await conn._execute(_run_waiting, conn._conn, query, busy_timeout_ms)


class AjandaSQLiteEngine(SQLiteEngine):
    """SQLite with WAL, a busy timeout, persistent connections and per-connection pragmas set once."""

    def __init__(self, path: Path, busy_timeout: float, read_connections: int) -> None:
        super().__init__(path=str(path), timeout=busy_timeout)
        self.busy_timeout = busy_timeout
        self.read_connections = read_connections
        self._readers: asyncio.Queue[aiosqlite.Connection] | None = None
        self._all: list[aiosqlite.Connection] = []
        self._opening = asyncio.Lock()
        # Statements that may have written outside a transaction (Piccolo's autocommit saves).
        self.autocommit_writes = 0

    async def connect(self) -> aiosqlite.Connection:
        """A new connection with the pragmas every Ajanda connection needs."""
        # Shared across threads only under the Database write lock (see fetch_rows_here);
        # Python's sqlite3 is built thread-safe (sqlite3.threadsafety == 3).
        conn = await aiosqlite.connect(**self.connection_kwargs, check_same_thread=False)
        conn.row_factory = dict_factory  # type: ignore[assignment]
        await conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA synchronous = NORMAL")
        self._all.append(conn)
        return conn

    async def connect_writer(self) -> aiosqlite.Connection:
        """The one connection this process writes through: it never waits for a lock by itself and
        never checkpoints by itself (see `run_writer_control` and `checkpoint`)."""
        conn = await self.connect()
        await conn.execute("PRAGMA busy_timeout = 0")
        await conn.execute("PRAGMA wal_autocheckpoint = 0")
        return conn

    async def checkpoint(self) -> None:
        """Copy committed pages from the WAL into the database file, on a reader connection's thread.

        PASSIVE: it waits for nobody and writers go on appending meanwhile; the fsync it makes stays
        off the event loop. Pages that readers still need are copied by a later round.
        """
        queue = await self._reader_queue()
        conn = await queue.get()
        try:
            await fetch_rows(conn, "PRAGMA wal_checkpoint(PASSIVE)", (), True)
        finally:
            queue.put_nowait(conn)

    async def open(self) -> None:
        """Create the file with WAL on (the journal mode persists in the file)."""
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(self.path, timeout=self.busy_timeout)
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
        finally:
            await conn.close()

    async def close(self) -> None:
        conns, self._all = self._all, []
        self._readers = None
        for conn in conns:
            try:
                await conn.close()
            except (sqlite3.Error, ValueError):
                pass

    async def _reader_queue(self) -> asyncio.Queue[aiosqlite.Connection]:
        if self._readers is None:
            async with self._opening:
                if self._readers is None:
                    queue: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
                    for _ in range(self.read_connections):
                        queue.put_nowait(await self.connect())
                    self._readers = queue
        return self._readers

    async def run_outside_transaction(
        self, query: str, args: list[Any] | tuple[Any, ...], tuples: bool = False
    ) -> list[Any]:
        """Run one autocommit statement on a pooled persistent connection (rows as dicts or tuples)."""
        queue = await self._reader_queue()
        conn = await queue.get()
        try:
            if not is_write(query):
                return fetch_rows_here(conn, query, args, tuples)
            return await fetch_rows(conn, query, args, tuples)
        finally:
            queue.put_nowait(conn)
            if is_write(query):
                self.autocommit_writes += 1

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> list[Any]:
        return await self.run_outside_transaction(query, args or [])

    async def _run_in_existing_connection(
        self,
        connection: aiosqlite.Connection,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> list[Any]:
        async with connection.execute(query, args or []) as cursor:
            return list(await cursor.fetchall())


async def _keep_session(connection: Any) -> None:
    """Return a connection to the pool as it is (asyncpg has already ended any open transaction).

    asyncpg's default reset sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`
    on every release: a fifth of a booking's round trips. Ajanda leaves no session state behind (its
    locks are transaction-scoped, it holds no cursors or LISTENs, it never SETs outside a transaction),
    and plugins must not either: use `SET LOCAL` inside a transaction.
    """


class AjandaPostgresEngine(PostgresEngine):
    """PostgreSQL through an asyncpg pool opened at start-up."""

    def __init__(self, dsn: str, pool_size: int) -> None:
        # Statements that may have written outside a transaction (Piccolo's autocommit saves); set
        # first because Piccolo's constructor already runs a query.
        self.autocommit_writes = 0
        super().__init__(config={"dsn": dsn})
        self.pool_size = pool_size

    async def _run_in_pool(self, query: str, args: Sequence[Any] | None = None) -> Any:
        try:
            return await super()._run_in_pool(query, args)
        finally:
            if is_write(query):
                self.autocommit_writes += 1

    async def _run_in_new_connection(self, query: str, args: Sequence[Any] | None = None) -> Any:
        try:
            return await super()._run_in_new_connection(query, args)
        finally:
            if is_write(query):
                self.autocommit_writes += 1

    async def open(self) -> None:
        await self.start_connection_pool(min_size=1, max_size=self.pool_size, reset=_keep_session)

    async def close(self) -> None:
        if self.pool is not None:
            await self.close_connection_pool()
