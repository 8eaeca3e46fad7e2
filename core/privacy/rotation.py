"""Key rotation: rewrite every encrypted value and blind index under the current data key.

The admin puts a new key in `security.data_key` and the old one in `security.previous_data_keys`;
`rotate` then walks each table of the registry (core/privacy/registry.py) in id order, a batch per
transaction, opening each value with whichever configured key sealed it, sealing it again under the
current key, and recomputing each blind index with the current index key. A value already under the
current key and an index that already matches are left alone, so a second run, or a run after an
interruption, only does what is left: there is no state to resume from but the rows themselves.

Blind indexes carry no key id, so between the config change and the end of the rotation a lookup by
phone, last four digits, e-mail or name misses the rows not yet done (and the booking page would
create a second card for a returning customer). Rotation therefore runs with the server stopped:
`ensure_quiet` refuses while a worker heartbeat is fresh.

`check` reads everything without writing and counts what is still under an old key: the way to know
an old key can be removed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.audit.records import Actor
from core.errors import AjandaError
from core.privacy.crypto import LEGACY_VERSION, CipherError, FieldCipher
from core.privacy.registry import BLIND_INDEXES, ENCRYPTED_COLUMNS, encrypted_in, indexes_in, tables

if TYPE_CHECKING:
    from core.context import AppContext

BATCH_SIZE = 500
ROTATION_ACTOR = Actor("system", "keys rotate")
# `check` lists this many unreadable values by column and row id, then only counts them.
MAX_LISTED_PROBLEMS = 20

Advance = Callable[[int], None]
# Given a table and its row count, a context manager yielding what to call with each batch's size.
Progress = Callable[[str, int], AbstractContextManager[Advance]]


class KeyRotationError(AjandaError):
    """Rotation cannot go on; the message names the column and row, never the value."""


@dataclass
class ColumnTally:
    values: int = 0  # non-NULL values seen
    stale: int = 0  # rotate: rewritten under the current key; check: still needing an old key
    keys: Counter[str] = field(default_factory=Counter)  # key id -> values it opened


@dataclass
class IndexTally:
    values: int = 0  # non-NULL indexes whose source could be read
    stale: int = 0  # rotate: recomputed; check: not under the current key yet


@dataclass
class Tally:
    rows: Counter[str] = field(default_factory=Counter)
    columns: dict[str, ColumnTally] = field(
        default_factory=lambda: {c.name: ColumnTally() for c in ENCRYPTED_COLUMNS}
    )
    indexes: dict[str, IndexTally] = field(
        default_factory=lambda: {i.name: IndexTally() for i in BLIND_INDEXES}
    )
    # check: "table.column row N: reason" for the first unreadable values; `unreadable` counts them all.
    problems: list[str] = field(default_factory=list)
    unreadable: int = 0

    @property
    def stale_values(self) -> int:
        return sum(c.stale for c in self.columns.values())

    @property
    def stale_indexes(self) -> int:
        return sum(i.stale for i in self.indexes.values())


@contextmanager
def _no_progress(_table: str, _total: int) -> Iterator[Advance]:
    yield lambda _n: None


_UNREADABLE = object()


def _examine(cipher: FieldCipher, table: str, row: Any, tally: Tally, strict: bool) -> dict[str, str]:
    """What has to change in one row to be wholly under the current key (counting as it goes).

    strict (rotate): an unreadable value stops everything; otherwise (check) it is listed and the
    indexes computed from it are skipped.
    """
    updates: dict[str, str] = {}
    opened: dict[str, object] = {}
    for column in encrypted_in(table):
        token = row[column.column]
        opened[column.column] = None
        if token is None:
            continue
        counts = tally.columns[column.name]
        counts.values += 1
        try:
            result = cipher.open(token, column.field)
        except CipherError as err:
            where = f"{column.name} row {row['id']}: {err.reason}"
            if strict:
                raise KeyRotationError(where) from None
            tally.unreadable += 1
            if len(tally.problems) < MAX_LISTED_PROBLEMS:
                tally.problems.append(where)
            opened[column.column] = _UNREADABLE
            continue
        opened[column.column] = result.value
        counts.keys[f"{result.key_id} ({LEGACY_VERSION} token)" if result.legacy else result.key_id] += 1
        if not result.current:
            # check counts what still needs an old key; a `v1:` token under the current key does not
            # (rotate rewrites it all the same, to give it a key id).
            if strict or result.key_id != cipher.current_key_id:
                counts.stale += 1
            sealed = cipher.encrypt(result.value, column.field)
            assert sealed is not None
            updates[column.column] = sealed
    for index in indexes_in(table):
        stored = row[index.column]
        source = opened[index.source] if index.source in opened else row[index.source]
        if stored is None or source is None or source is _UNREADABLE:
            continue
        counts_i = tally.indexes[index.name]
        counts_i.values += 1
        fresh = index.compute(cipher, str(source))
        if fresh != stored:
            counts_i.stale += 1
            updates[index.column] = fresh
    return updates


def _select(table: str, lock: bool) -> str:
    columns = ["id"]
    for item in encrypted_in(table):
        columns.append(item.column)
    for index in indexes_in(table):
        columns += [c for c in (index.column, index.source) if c not in columns]
    sql = f"SELECT {', '.join(columns)} FROM {table} WHERE id > ? ORDER BY id LIMIT ?"
    # PostgreSQL: a row being rewritten cannot be edited in between (the lost update of an edit made
    # with --force while the server runs). SQLite's write transaction already excludes other writers.
    return f"{sql} FOR UPDATE" if lock else sql


async def count_rows(ctx: AppContext, table: str) -> int:
    return int(await ctx.db.fetchval(f"SELECT COUNT(*) FROM {table}") or 0)


async def rotate_table(
    ctx: AppContext, table: str, tally: Tally, batch_size: int = BATCH_SIZE, advance: Advance | None = None
) -> None:
    """Rotate one table, one committed transaction per batch; `advance` is told each batch's size
    after its commit (an interruption loses at most the batch in flight)."""
    select = _select(table, lock=ctx.db.kind == "postgres")
    cipher = ctx.cipher
    last_id = 0
    while True:
        async with ctx.db.transaction():
            rows = await ctx.db.fetch(select, last_id, batch_size)
            for row in rows:
                updates = _examine(cipher, table, row, tally, strict=True)
                if updates:
                    sets = ", ".join(f"{column} = ?" for column in updates)
                    await ctx.db.execute(
                        f"UPDATE {table} SET {sets} WHERE id = ?", *updates.values(), row["id"]
                    )
        if not rows:
            return
        last_id = int(rows[-1]["id"])
        tally.rows[table] += len(rows)
        if advance is not None:
            advance(len(rows))


async def check_table(
    ctx: AppContext, table: str, tally: Tally, batch_size: int = BATCH_SIZE, advance: Advance | None = None
) -> None:
    """Read one table, counting values and indexes not under the current key (writes nothing)."""
    select = _select(table, lock=False)
    cipher = ctx.cipher
    last_id = 0
    while True:
        rows = await ctx.db.fetch(select, last_id, batch_size)
        if not rows:
            return
        for row in rows:
            _examine(cipher, table, row, tally, strict=False)
        last_id = int(rows[-1]["id"])
        tally.rows[table] += len(rows)
        if advance is not None:
            advance(len(rows))


async def ensure_quiet(ctx: AppContext) -> None:
    """Refuse to rotate while Ajanda serves (a live worker heartbeat: the server runs one by default)
    or while migrations are pending (the registry's columns may not exist yet)."""
    from core.db.migrate import pending
    from core.outbox.worker import workers_alive

    todo = await pending(ctx.db, ctx.migration_sources())
    if todo:
        raise KeyRotationError(f"{len(todo)} migration(s) pending: run `ajanda migrate` first")
    alive = await workers_alive(ctx)
    if alive:
        raise KeyRotationError(
            f"{alive} worker(s) sent a heartbeat in the last seconds: stop `ajanda serve` and "
            "`ajanda worker` first (lookups by phone or e-mail miss rows not yet rotated), or pass --force"
        )


async def rotate(ctx: AppContext, batch_size: int = BATCH_SIZE, progress: Progress | None = None) -> Tally:
    """Rotate every registered table, then record the rotation in the audit log (counts and key ids)."""
    tally = Tally()
    progress = progress or _no_progress
    for table in tables():
        with progress(table, await count_rows(ctx, table)) as advance:
            await rotate_table(ctx, table, tally, batch_size, advance)
    cipher = ctx.cipher
    await ctx.audit.record(
        "privacy",
        "data_key",
        "rotated",
        {
            "key": cipher.current_key_id,
            "previous_keys": [k for k in cipher.key_ids if k != cipher.current_key_id],
            "values_rewritten": tally.stale_values,
            "indexes_recomputed": tally.stale_indexes,
        },
        actor=ROTATION_ACTOR,
    )
    return tally


async def check(ctx: AppContext, batch_size: int = BATCH_SIZE, progress: Progress | None = None) -> Tally:
    """Open every registered value and recompute every index, writing nothing."""
    tally = Tally()
    progress = progress or _no_progress
    for table in tables():
        with progress(table, await count_rows(ctx, table)) as advance:
            await check_table(ctx, table, tally, batch_size, advance)
    return tally
