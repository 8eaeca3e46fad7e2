"""SQLite's overlap guard looks only at blocks that started in the five days before the new one.

The first guard (m0004) compared the new block with every earlier block of the same staff member or
room unit: an index range from the beginning of time, so each insert got slower as the history grew.
No block may now be longer than five days (each of a service's five timing parts is at most a day, see
core/scheduling/availability.py), so any block overlapping the new one started at most five days before
it, which bounds the range. A second trigger refuses longer blocks, keeping that bound true whoever
writes the row. PostgreSQL's exclusion constraint (a GiST index) needs no bound; the same length limit
is a CHECK there, so the busy reads in core/scheduling/loader.py may rely on it on both engines.
"""

from core.db.database import Database

GUARD = """
CREATE TRIGGER occupancy_no_overlap_{event} BEFORE {event} ON occupancy
WHEN EXISTS (
    SELECT 1 FROM occupancy o
    WHERE o.owner_kind = NEW.owner_kind AND o.owner_id = NEW.owner_id AND o.unit = NEW.unit
      AND o.starts_at >= datetime(NEW.starts_at, '-5 days')
      AND o.starts_at < NEW.ends_at AND NEW.starts_at < o.ends_at AND o.id IS NOT NEW.id
)
BEGIN
    SELECT RAISE(ABORT, 'occupancy_overlap');
END"""

LENGTH = """
CREATE TRIGGER occupancy_too_long_{event} BEFORE {event} ON occupancy
WHEN unixepoch(NEW.ends_at) - unixepoch(NEW.starts_at) > 5 * 86400
BEGIN
    SELECT RAISE(ABORT, 'occupancy_too_long: a block may last at most five days');
END"""


async def up(db: Database) -> None:
    if db.kind == "postgres":
        await db.execute(
            "ALTER TABLE occupancy ADD CONSTRAINT occupancy_at_most_five_days"
            " CHECK (ends_at - starts_at <= interval '5 days')"
        )
        return
    statements = []
    for event in ("INSERT", "UPDATE"):
        statements += [
            f"DROP TRIGGER occupancy_no_overlap_{event}",
            LENGTH.format(event=event),
            GUARD.format(event=event),
        ]
    await db.script(statements)
