"""One closure per local day and location (NULL location: all locations), whatever path enters it."""

from core.db.database import Database


async def up(db: Database) -> None:
    await db.script(
        [
            "DELETE FROM closure WHERE id NOT IN (SELECT MIN(id) FROM closure GROUP BY day, location)",
            "CREATE UNIQUE INDEX closure_day_location ON closure (day, COALESCE(location, 0))",
        ]
    )
