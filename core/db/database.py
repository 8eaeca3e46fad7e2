"""The one way Ajanda talks to its database: write transactions, raw reads, and the Piccolo binding.

A write transaction is IMMEDIATE on SQLite (a read-then-write must hold the write lock from its first
read, or concurrent writers fail with "database is locked") and is serialised in-process on one
persistent connection, which is both safer and faster than letting writers race for the file lock.
On PostgreSQL it is a pooled asyncpg transaction. Work registered with `Tx.after_commit` runs only once
the commit has succeeded; `Tx.before_commit` work runs inside the transaction just before it commits.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from core.config import Settings
from core.db.engines import (
    AjandaPostgresEngine,
    AjandaSQLiteEngine,
    fetch_rows,
    fetch_rows_here,
    is_write,
    run_writer_control,
)
from core.errors import AjandaError

log = logging.getLogger("ajanda.db")

Callback = Callable[[], Awaitable[None]]
# SQLite: commits between two checkpoints of the WAL (see `_after_sqlite_commit`). About ten pages per
# booking: close to SQLite's own default of a checkpoint per 1,000 WAL pages.
CHECKPOINT_EVERY = 100


@dataclass(eq=False)
class Tx:
    """An open write transaction; Piccolo queries run inside it automatically."""

    connection: Any
    engine_kind: Literal["sqlite", "postgres"]
    before_commit_callbacks: list[Callback] = field(default_factory=list)
    after_commit_callbacks: list[Callback] = field(default_factory=list)
    # Free-form per-transaction state for core services (e.g. the audit buffer).
    state: dict[str, Any] = field(default_factory=dict)

    def before_commit(self, callback: Callback) -> None:
        self.before_commit_callbacks.append(callback)

    def after_commit(self, callback: Callback) -> None:
        self.after_commit_callbacks.append(callback)


_PLACEHOLDER = re.compile(r"\?")


def _to_postgres(sql: str) -> str:
    """Turn `?` placeholders into `$1, $2, ...` (Ajanda's SQL never has `?` inside literals)."""
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _m: f"${next(counter)}", sql)


class Database:
    """Owns the engine for one app instance."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.kind: Literal["sqlite", "postgres"] = settings.database.engine
        self.engine: AjandaSQLiteEngine | AjandaPostgresEngine
        if self.kind == "sqlite":
            self.engine = AjandaSQLiteEngine(
                settings.sqlite_path(),
                busy_timeout=settings.database.busy_timeout,
                read_connections=settings.database.read_connections,
            )
        else:
            self.engine = AjandaPostgresEngine(
                settings.database.url.reveal(), pool_size=settings.database.pool_size
            )
        self._current: contextvars.ContextVar[Tx | None] = contextvars.ContextVar(
            f"ajanda_tx_{id(self)}", default=None
        )
        self._write_lock: asyncio.Lock | None = None
        self._writer: Any = None
        self._is_open = False
        self._commits = 0
        self._checkpointing: asyncio.Task[None] | None = None

    # ---------------------------------------------------------------------------------------------
    async def open(self) -> None:
        if self._is_open:
            return
        await self.engine.open()
        self._write_lock = asyncio.Lock()
        self._is_open = True

    async def close(self) -> None:
        if not self._is_open:
            return
        self._is_open = False
        self._writer = None
        if self._checkpointing is not None:
            await asyncio.gather(self._checkpointing, return_exceptions=True)
            self._checkpointing = None
        await self.engine.close()

    def bind(self, tables: Sequence[type]) -> None:
        """Point Piccolo tables at this engine.

        Piccolo keeps the engine on the table class, so within one process every open Database must be
        on the same database for Piccolo queries to be right; binding a second, different one while
        the first is open is refused rather than silently sending queries to the wrong database.
        """
        url = self.settings.database.url.reveal()
        for table in tables:
            bound = table._meta._db  # type: ignore[attr-defined]
            other = getattr(bound, "ajanda_owner", None)
            if other is not None and other is not self and other._is_open and other.url != url:
                raise AjandaError(
                    f"table {table._meta.tablename} is bound to another open database; "  # type: ignore[attr-defined]
                    "one process serves one database"
                )
        self.engine.ajanda_owner = self  # type: ignore[union-attr]
        for table in tables:
            table._meta.db = self.engine  # type: ignore[attr-defined]

    @property
    def url(self) -> str:
        return self.settings.database.url.reveal()

    @property
    def commits(self) -> int:
        """Commits and autocommit writes made through this instance, so in-process caches can tell
        that something may have changed since they last looked."""
        return self._commits + self.engine.autocommit_writes

    @property
    def current_tx(self) -> Tx | None:
        return self._current.get()

    # ---------------------------------------------------------------------------------------------
    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A write transaction; nested calls join the outer one."""
        outer = self._current.get()
        if outer is not None:
            yield outer
            return
        if self.kind == "sqlite":
            async with self._sqlite_transaction() as tx:
                yield tx
        else:
            async with self._postgres_transaction() as tx:
                yield tx

    @asynccontextmanager
    async def _sqlite_transaction(self) -> AsyncIterator[Tx]:
        assert isinstance(self.engine, AjandaSQLiteEngine)
        assert self._write_lock is not None, "Database.open() was not awaited"
        async with self._write_lock:
            if self._writer is None:
                self._writer = await self.engine.connect_writer()
            conn = self._writer
            busy_ms = int(self.engine.busy_timeout * 1000)
            await run_writer_control(conn, "BEGIN IMMEDIATE", busy_ms)
            tx = Tx(connection=conn, engine_kind="sqlite")
            async with self._bound(tx):
                try:
                    yield tx
                    for callback in tx.before_commit_callbacks:
                        await callback()
                except BaseException:
                    await fetch_rows(conn, "ROLLBACK", (), True)
                    raise
            try:
                await run_writer_control(conn, "COMMIT", busy_ms)
            except BaseException:
                await self._rollback_quietly(conn)
                raise
            self._commits += 1
        self._after_sqlite_commit()
        await self._run_after_commit(tx)

    def _after_sqlite_commit(self) -> None:
        """Every CHECKPOINT_EVERY commits, checkpoint the WAL in the background (one at a time).

        The writer connection does not checkpoint by itself, since its COMMIT runs on the event loop
        and a checkpoint syncs the database file.
        """
        if self._commits % CHECKPOINT_EVERY or (self._checkpointing and not self._checkpointing.done()):
            return
        assert isinstance(self.engine, AjandaSQLiteEngine)
        self._checkpointing = asyncio.create_task(self._checkpoint(self.engine), name="ajanda-checkpoint")

    async def _checkpoint(self, engine: AjandaSQLiteEngine) -> None:
        """Two rounds, so that the WAL starts again from its beginning instead of growing for ever.

        SQLite rewinds the WAL only when a write transaction begins after a checkpoint has copied every
        frame. A round running beside the writers never catches up with the frames they append
        meanwhile, so under steady writes the file never rewound: 2 GB after 20 s of bookings
        (docs/performance.md). The first round copies the bulk while writers go on; the second holds
        this process's write lock and copies only what was written during the first (measured: 6-8 ms
        every 100 bookings).
        """
        assert self._write_lock is not None
        try:
            await engine.checkpoint()
            async with self._write_lock:
                await engine.checkpoint()
        except Exception:
            log.warning("WAL checkpoint failed; the next one copies these pages too", exc_info=True)

    @asynccontextmanager
    async def _postgres_transaction(self) -> AsyncIterator[Tx]:
        assert isinstance(self.engine, AjandaPostgresEngine)
        pool = self.engine.pool
        assert pool is not None, "Database.open() was not awaited"
        conn = await pool.acquire()
        try:
            transaction = conn.transaction()
            await transaction.start()
            tx = Tx(connection=conn, engine_kind="postgres")
            async with self._bound(tx):
                try:
                    yield tx
                    for callback in tx.before_commit_callbacks:
                        await callback()
                except BaseException:
                    await transaction.rollback()
                    raise
            # Piccolo leaks the connection when COMMIT fails; here `finally` always releases it.
            await transaction.commit()
            self._commits += 1
        finally:
            await pool.release(conn)
        await self._run_after_commit(tx)

    @asynccontextmanager
    async def _bound(self, tx: Tx) -> AsyncIterator[None]:
        # Piccolo only reads `.connection` from its current transaction, which Tx provides.
        piccolo_var: Any = self.engine.current_transaction
        token = self._current.set(tx)
        piccolo_token = piccolo_var.set(tx)
        try:
            yield
        finally:
            piccolo_var.reset(piccolo_token)
            self._current.reset(token)

    @staticmethod
    async def _rollback_quietly(conn: Any) -> None:
        try:
            await conn.execute("ROLLBACK")
        except Exception:
            log.debug("rollback after failed commit also failed")

    @staticmethod
    async def _run_after_commit(tx: Tx) -> None:
        for callback in tx.after_commit_callbacks:
            try:
                await callback()
            except Exception:
                # After-commit work must not undo or hide a committed change; the hook dispatcher
                # audits plugin failures itself, this only guards the loop.
                log.exception("after-commit callback failed")

    async def lock(self, name: str) -> None:
        """Hold a named lock until the current transaction ends, so work on one thing queues instead
        of racing and retrying (one group session, one closure entry, one migration at a time).

        PostgreSQL: a transaction-scoped advisory lock on a hash of the name (two names sharing a hash
        only queue behind each other). SQLite needs nothing: BEGIN IMMEDIATE already holds its single
        writer lock for the whole transaction.
        """
        if self._current.get() is None:
            raise RuntimeError("Database.lock() outside a transaction would be released at once")
        if self.kind == "postgres":
            await self.execute("SELECT pg_advisory_xact_lock(?)", zlib.crc32(name.encode()))

    # ---------------------------------------------------------------------------------------------
    # Raw SQL for hot paths and the core's own bookkeeping. Placeholders are `?` on both engines.

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        """Rows (indexable by column name) from the current transaction or a pooled connection."""
        return await self._fetch(sql, args, tuples=False)

    async def fetch_tuples(self, sql: str, *args: Any) -> list[Any]:
        """Rows indexable by position only: for hot reads of thousands of rows (availability)."""
        return await self._fetch(sql, args, tuples=True)

    def epoch_minutes(self, column: str) -> str:
        """SQL for a timestamp column as whole minutes since 1970 UTC, so big reads skip datetime parsing."""
        if self.kind == "sqlite":
            return f"(unixepoch({column}) / 60)"
        return f"floor(EXTRACT(EPOCH FROM {column}) / 60)::bigint"

    async def _fetch(self, sql: str, args: tuple[Any, ...], tuples: bool) -> list[Any]:
        tx = self._current.get()
        if self.kind == "sqlite":
            assert isinstance(self.engine, AjandaSQLiteEngine)
            if tx is not None:
                return fetch_rows_here(tx.connection, sql, args, tuples)
            return await self.engine.run_outside_transaction(sql, args, tuples)
        pg_sql = _to_postgres(sql)
        if tx is not None:
            return list(await tx.connection.fetch(pg_sql, *args))
        assert isinstance(self.engine, AjandaPostgresEngine) and self.engine.pool is not None
        try:
            async with self.engine.pool.acquire() as conn:
                return list(await conn.fetch(pg_sql, *args))
        finally:
            if is_write(sql):
                self.engine.autocommit_writes += 1

    async def fetchval(self, sql: str, *args: Any) -> Any:
        rows = await self.fetch(sql, *args)
        if not rows:
            return None
        row = rows[0]
        return next(iter(row.values())) if isinstance(row, dict) else row[0]

    async def execute(self, sql: str, *args: Any) -> None:
        """Run one statement (inside the current transaction when there is one)."""
        await self.fetch(sql, *args)

    async def script(self, statements: Sequence[str]) -> None:
        """Run DDL statements in order inside the current transaction."""
        for statement in statements:
            await self.fetch(statement)

    async def ping(self) -> bool:
        try:
            return await self.fetchval("SELECT 1") == 1
        except Exception:
            return False
