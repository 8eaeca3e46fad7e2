"""Bookings, booking history and the occupancy guard against overlaps (both engines)."""

from core.db.database import Database
from core.db.ddl import dialect

SQLITE_GUARD = """
CREATE TRIGGER occupancy_no_overlap_{event} BEFORE {event} ON occupancy
WHEN EXISTS (
    SELECT 1 FROM occupancy o
    WHERE o.owner_kind = NEW.owner_kind AND o.owner_id = NEW.owner_id AND o.unit = NEW.unit
      AND o.starts_at < NEW.ends_at AND NEW.starts_at < o.ends_at AND o.id IS NOT NEW.id
)
BEGIN
    SELECT RAISE(ABORT, 'occupancy_overlap');
END"""


async def up(db: Database) -> None:
    d = dialect(db.kind)
    money = "NUMERIC(12, 2)"
    statements = [
        f"""CREATE TABLE booking (id {d.pk},
            location {d.bigint} NOT NULL REFERENCES location (id),
            service {d.bigint} NOT NULL REFERENCES service (id),
            staff {d.bigint} REFERENCES staff (id),
            customer {d.bigint} REFERENCES customer (id),
            visit_key VARCHAR(40), series_key VARCHAR(40),
            status VARCHAR(10) NOT NULL
                CHECK (status IN ('pending', 'confirmed', 'completed', 'no_show', 'cancelled')),
            start_at TIMESTAMPTZ NOT NULL, end_at TIMESTAMPTZ NOT NULL,
            hold_expires_at TIMESTAMPTZ,
            source VARCHAR(10) NOT NULL DEFAULT 'api',
            price {money} NOT NULL DEFAULT 0, currency VARCHAR(3) NOT NULL DEFAULT 'TRY',
            deposit_due {money} NOT NULL DEFAULT 0,
            notes_enc TEXT, cancel_reason TEXT, cancelled_at TIMESTAMPTZ, cancelled_by VARCHAR(120),
            created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
            CHECK (start_at < end_at))""",
        "CREATE INDEX booking_start ON booking (start_at)",
        "CREATE INDEX booking_staff_start ON booking (staff, start_at)",
        "CREATE INDEX booking_customer ON booking (customer)",
        "CREATE INDEX booking_hold ON booking (status, hold_expires_at)",
        f"""CREATE TABLE booking_change (id {d.pk},
            booking {d.bigint} NOT NULL REFERENCES booking (id) ON DELETE CASCADE,
            at TIMESTAMPTZ NOT NULL, actor VARCHAR(120) NOT NULL, action VARCHAR(20) NOT NULL,
            old_start TIMESTAMPTZ, old_end TIMESTAMPTZ, old_staff INTEGER,
            new_start TIMESTAMPTZ, new_end TIMESTAMPTZ, new_staff INTEGER)""",
        "CREATE INDEX booking_change_booking ON booking_change (booking)",
        f"""CREATE TABLE occupancy (id {d.pk},
            booking {d.bigint} NOT NULL REFERENCES booking (id) ON DELETE CASCADE,
            owner_kind VARCHAR(10) NOT NULL CHECK (owner_kind IN ('staff', 'resource', 'seat')),
            owner_id INTEGER NOT NULL, unit INTEGER NOT NULL DEFAULT 0,
            starts_at TIMESTAMPTZ NOT NULL, ends_at TIMESTAMPTZ NOT NULL,
            CHECK (starts_at < ends_at))""",
        "CREATE INDEX occupancy_owner ON occupancy (owner_kind, owner_id, unit, starts_at)",
        "CREATE INDEX occupancy_booking ON occupancy (booking)",
    ]
    if d.sqlite:
        statements += [SQLITE_GUARD.format(event="INSERT"), SQLITE_GUARD.format(event="UPDATE")]
    else:
        statements += [
            "CREATE EXTENSION IF NOT EXISTS btree_gist",
            """ALTER TABLE occupancy ADD CONSTRAINT occupancy_no_overlap EXCLUDE USING gist
               (owner_kind WITH =, owner_id WITH =, unit WITH =, tstzrange(starts_at, ends_at) WITH &&)""",
        ]
    await db.script(statements)
