"""Migrations: the core's and each enabled plugin's, applied in dependency order and recorded.

A migration is a module named `mNNNN_description.py` in a migrations package, with
`async def up(db: Database) -> None`, or `async def up(db: Database, cipher: FieldCipher) -> None` when
it must read or write personal data (e.g. fill a new blind index from the encrypted values).
Migrations are written as SQL for both engines rather than generated, because the guarantees Ajanda
depends on (exclusion constraints, composite unique indexes) are exactly what Piccolo's
auto-migrations cannot express on SQLite. Each migration runs in its own
transaction, so a failure leaves the database at the previous migration.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType

from core.db.database import Database
from core.errors import AjandaError
from core.privacy.crypto import FieldCipher

TRACKING_DDL = (
    "CREATE TABLE IF NOT EXISTS ajanda_migration ("
    " app VARCHAR(100) NOT NULL,"
    " name VARCHAR(200) NOT NULL,"
    " applied_at TIMESTAMPTZ NOT NULL,"
    " PRIMARY KEY (app, name))"
)


@dataclass(frozen=True)
class MigrationSource:
    """Where one app's migrations live: `app` is "core" or a plugin name."""

    app: str
    package: str


@dataclass(frozen=True)
class Migration:
    app: str
    name: str
    module: ModuleType


class MigrationError(AjandaError):
    pass


def discover(source: MigrationSource) -> list[Migration]:
    try:
        package = importlib.import_module(source.package)
    except ImportError as err:
        raise MigrationError(f"{source.app}: cannot import migrations {source.package}: {err}") from err
    names = sorted(info.name for info in pkgutil.iter_modules(package.__path__) if info.name.startswith("m"))
    found = []
    for name in names:
        module = importlib.import_module(f"{source.package}.{name}")
        if not callable(getattr(module, "up", None)):
            raise MigrationError(f"{source.app}: migration {name} has no up(db) function")
        found.append(Migration(source.app, name, module))
    return found


async def applied(db: Database) -> set[tuple[str, str]]:
    async with db.transaction():
        await db.execute(TRACKING_DDL)
    rows = await db.fetch("SELECT app, name FROM ajanda_migration")
    return {(row["app"], row["name"]) for row in rows}


async def pending(db: Database, sources: Sequence[MigrationSource]) -> list[Migration]:
    done = await applied(db)
    return [m for s in sources for m in discover(s) if (m.app, m.name) not in done]


async def migrate(
    db: Database,
    sources: Sequence[MigrationSource],
    progress: Callable[[Migration], None] | None = None,
    cipher: FieldCipher | None = None,
) -> list[Migration]:
    """Apply pending migrations in the order of `sources` (core first, then plugins by dependency)."""
    ran: list[Migration] = []
    for migration in await pending(db, sources):
        async with db.transaction():
            # Two processes migrating at once: the second waits, then sees the work done.
            await db.lock("ajanda_migrate")
            exists = await db.fetch(
                "SELECT 1 FROM ajanda_migration WHERE app = ? AND name = ?",
                migration.app,
                migration.name,
            )
            if exists:
                continue
            if progress:
                progress(migration)
            try:
                if len(inspect.signature(migration.module.up).parameters) >= 2:
                    if cipher is None:
                        raise MigrationError("it needs the personal-data key and none was given")
                    await migration.module.up(db, cipher)
                else:
                    await migration.module.up(db)
            except Exception as err:
                raise MigrationError(f"{migration.app}: migration {migration.name} failed: {err}") from err
            await db.execute(
                "INSERT INTO ajanda_migration (app, name, applied_at) VALUES (?, ?, ?)",
                migration.app,
                migration.name,
                datetime.now(UTC),
            )
        ran.append(migration)
    return ran
