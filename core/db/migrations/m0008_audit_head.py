"""The audit chain's head (last seq and hash) in a one-row table.

Appending used to take an advisory lock, then read the newest row (ORDER BY seq DESC LIMIT 1, which a
plan cached while the table was small turned into a scan), then insert row by row, all while every
other writer queued. Now one `SELECT ... FOR UPDATE` on this row both queues the writers and reads the
head, and `verify` can tell when the newest rows were cut off.
"""

from core.audit.log import GENESIS
from core.db.database import Database


async def up(db: Database) -> None:
    await db.execute(
        "CREATE TABLE ajanda_audit_head (id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),"
        " seq BIGINT NOT NULL, hash VARCHAR(64) NOT NULL)"
    )
    last = await db.fetch("SELECT seq, hash FROM ajanda_audit ORDER BY seq DESC LIMIT 1")
    seq, digest = (int(last[0]["seq"]), str(last[0]["hash"])) if last else (0, GENESIS)
    await db.execute("INSERT INTO ajanda_audit_head (id, seq, hash) VALUES (1, ?, ?)", seq, digest)
