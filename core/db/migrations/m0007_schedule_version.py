"""A counter the database bumps on every change to the schedule's slow-changing tables.

Each app process keeps the services, staff, weekly hours, exceptions and closures it has read in memory
and checks this one number before using them (core/scheduling/catalogue.py). Triggers, not application
code, bump it, so a change made by another process, a plugin, a migration or a hand-typed SQL statement
invalidates every cache just the same.
"""

from core.db.database import Database

SCHEDULE_TABLES = (
    "location",
    "staff",
    "staff_location",
    "resource",
    "service",
    "service_location",
    "service_resource",
    "working_hours",
    "staff_exception",
    "closure",
)

SQLITE_TRIGGER = """
CREATE TRIGGER schedule_version_{table}_{event} AFTER {event} ON {table}
BEGIN
    UPDATE schedule_version SET version = version + 1 WHERE id = 1;
END
"""

POSTGRES_FUNCTION = """
CREATE FUNCTION bump_schedule_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE schedule_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END
$$
"""


async def up(db: Database) -> None:
    statements = [
        "CREATE TABLE schedule_version (id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),"
        " version BIGINT NOT NULL)",
        "INSERT INTO schedule_version (id, version) VALUES (1, 1)",
    ]
    if db.kind == "sqlite":
        statements += [
            SQLITE_TRIGGER.format(table=table, event=event)
            for table in SCHEDULE_TABLES
            for event in ("INSERT", "UPDATE", "DELETE")
        ]
    else:
        statements.append(POSTGRES_FUNCTION)
        statements += [
            f"CREATE TRIGGER schedule_version_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
            f" ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_schedule_version()"
            for table in SCHEDULE_TABLES
        ]
    await db.script(statements)
