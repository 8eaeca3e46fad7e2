"""An index of finished jobs by when they finished, for the worker's purge of old ones.

The queue kept every finished job for ever: four or so per booking (confirmation, reminders, thank-you),
so the table grew by the day and the worker's claim and the admin's job list read past them. The worker
now deletes done jobs older than `[worker] keep_done_days`; this partial index lets it find them without
reading the pending ones, and holds nothing else.
"""

from core.db.database import Database


async def up(db: Database) -> None:
    await db.script(["CREATE INDEX ajanda_job_done ON ajanda_job (finished_at) WHERE status = 'done'"])
