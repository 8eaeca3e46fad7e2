"""A booking remembers the request that made it, so the same request cannot make a second one.

The booking page's form carries a random key; two presses of its button that arrive at the same
moment for "any staff" used to book two staff members (each transaction saw the other's booking only
after it committed). With the key stored under a unique index, the second insert waits for the first
and is refused, and the page shows the first booking. Most bookings have no key (NULL), so the index
is partial.
"""

from core.db.database import Database


async def up(db: Database) -> None:
    await db.script(
        [
            "ALTER TABLE booking ADD COLUMN request_key VARCHAR(80)",
            "CREATE UNIQUE INDEX booking_request_key ON booking (request_key) WHERE request_key IS NOT NULL",
        ]
    )
