"""Locations, staff, resources, services, working hours, exceptions and closures."""

from core.db.database import Database
from core.db.ddl import dialect


async def up(db: Database) -> None:
    d = dialect(db.kind)
    money = "NUMERIC(12, 2)"
    await db.script(
        [
            f"""CREATE TABLE location (id {d.pk}, name VARCHAR(200) NOT NULL,
                address TEXT NOT NULL DEFAULT '', timezone VARCHAR(64) NOT NULL,
                active BOOLEAN NOT NULL DEFAULT true)""",
            f"""CREATE TABLE staff (id {d.pk}, name VARCHAR(200) NOT NULL,
                skills TEXT NOT NULL DEFAULT '[]', colour VARCHAR(7) NOT NULL DEFAULT '#4f46e5',
                active BOOLEAN NOT NULL DEFAULT true)""",
            f"""CREATE TABLE staff_location (id {d.pk},
                staff {d.bigint} NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
                location {d.bigint} NOT NULL REFERENCES location (id) ON DELETE CASCADE)""",
            "CREATE UNIQUE INDEX staff_location_pair ON staff_location (staff, location)",
            f"""CREATE TABLE resource (id {d.pk},
                location {d.bigint} NOT NULL REFERENCES location (id),
                name VARCHAR(200) NOT NULL, kind VARCHAR(20) NOT NULL DEFAULT 'room',
                capacity INTEGER NOT NULL DEFAULT 1 CHECK (capacity >= 1),
                active BOOLEAN NOT NULL DEFAULT true)""",
            f"""CREATE TABLE service (id {d.pk}, name VARCHAR(200) NOT NULL,
                category VARCHAR(100) NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '',
                duration_min INTEGER NOT NULL CHECK (duration_min > 0),
                buffer_before_min INTEGER NOT NULL DEFAULT 0, buffer_after_min INTEGER NOT NULL DEFAULT 0,
                prep_min INTEGER NOT NULL DEFAULT 0, cleanup_min INTEGER NOT NULL DEFAULT 0,
                price {money} NOT NULL DEFAULT 0, currency VARCHAR(3) NOT NULL DEFAULT 'TRY',
                deposit_kind VARCHAR(10) NOT NULL DEFAULT 'none',
                deposit_value {money} NOT NULL DEFAULT 0,
                required_skill VARCHAR(100), min_notice_min INTEGER NOT NULL DEFAULT 60,
                max_days_ahead INTEGER NOT NULL DEFAULT 60, slot_step_min INTEGER NOT NULL DEFAULT 15,
                seats INTEGER NOT NULL DEFAULT 1 CHECK (seats >= 1), recall_days INTEGER,
                active BOOLEAN NOT NULL DEFAULT true)""",
            f"""CREATE TABLE service_location (id {d.pk},
                service {d.bigint} NOT NULL REFERENCES service (id) ON DELETE CASCADE,
                location {d.bigint} NOT NULL REFERENCES location (id) ON DELETE CASCADE)""",
            "CREATE UNIQUE INDEX service_location_pair ON service_location (service, location)",
            f"""CREATE TABLE service_resource (id {d.pk},
                service {d.bigint} NOT NULL REFERENCES service (id) ON DELETE CASCADE,
                resource {d.bigint} NOT NULL REFERENCES resource (id) ON DELETE CASCADE)""",
            "CREATE UNIQUE INDEX service_resource_pair ON service_resource (service, resource)",
            f"""CREATE TABLE working_hours (id {d.pk},
                staff {d.bigint} NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
                location {d.bigint} NOT NULL REFERENCES location (id) ON DELETE CASCADE,
                weekday INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
                start_time VARCHAR(5) NOT NULL, end_time VARCHAR(5) NOT NULL,
                breaks TEXT NOT NULL DEFAULT '[]', CHECK (start_time < end_time))""",
            "CREATE INDEX working_hours_staff ON working_hours (staff, location, weekday)",
            f"""CREATE TABLE staff_exception (id {d.pk},
                staff {d.bigint} NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
                location {d.bigint} REFERENCES location (id) ON DELETE CASCADE,
                kind VARCHAR(10) NOT NULL CHECK (kind IN ('off', 'extra')),
                starts_at TIMESTAMPTZ NOT NULL, ends_at TIMESTAMPTZ NOT NULL,
                note TEXT NOT NULL DEFAULT '', CHECK (starts_at < ends_at))""",
            "CREATE INDEX staff_exception_window ON staff_exception (staff, starts_at)",
            f"""CREATE TABLE closure (id {d.pk},
                location {d.bigint} REFERENCES location (id) ON DELETE CASCADE,
                day DATE NOT NULL, name VARCHAR(200) NOT NULL)""",
            "CREATE INDEX closure_day ON closure (day)",
        ]
    )
