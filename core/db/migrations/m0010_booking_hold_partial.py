"""The hold-expiry index covers pending bookings only.

m0004 indexed (status, hold_expires_at) for every booking, so each confirmed booking also wrote an
entry that only the hold-expiry search (`status = 'pending' AND hold_expires_at <= now`) reads, and
that search never looks at confirmed ones. A partial index holds the few pending bookings: one index
page less to write per booking (the largest single cost of a SQLite commit is pages written).
"""

from core.db.database import Database


async def up(db: Database) -> None:
    await db.script(
        [
            "DROP INDEX booking_hold",
            "CREATE INDEX booking_hold ON booking (hold_expires_at) WHERE status = 'pending'",
        ]
    )
