"""hello_visit: one row per recorded visit."""

from __future__ import annotations

from core.db.database import Database
from core.db.ddl import dialect


async def up(db: Database) -> None:
    d = dialect(db.kind)
    await db.script(
        [
            f"""CREATE TABLE hello_visit (
                id {d.pk},
                name VARCHAR(100) NOT NULL,
                created_at TIMESTAMPTZ NOT NULL)""",
            "CREATE INDEX hello_visit_created_at ON hello_visit (created_at)",
        ]
    )
