"""The waitlist: customers waiting for a slot on a day and time window."""

from core.db.database import Database
from core.db.ddl import dialect


async def up(db: Database) -> None:
    d = dialect(db.kind)
    await db.script(
        [
            f"""CREATE TABLE waitlist_entry (id {d.pk},
                location {d.bigint} NOT NULL REFERENCES location (id),
                service {d.bigint} NOT NULL REFERENCES service (id),
                customer {d.bigint} NOT NULL REFERENCES customer (id),
                staff {d.bigint} REFERENCES staff (id),
                day DATE NOT NULL, window_start VARCHAR(5) NOT NULL, window_end VARCHAR(5) NOT NULL,
                status VARCHAR(10) NOT NULL
                    CHECK (status IN ('waiting', 'offered', 'booked', 'expired', 'cancelled')),
                booking {d.bigint} REFERENCES booking (id),
                offered_at TIMESTAMPTZ, created_at TIMESTAMPTZ NOT NULL,
                CHECK (window_start < window_end))""",
            "CREATE INDEX waitlist_day ON waitlist_entry (location, day, status)",
            "CREATE INDEX waitlist_booking ON waitlist_entry (booking)",
        ]
    )
