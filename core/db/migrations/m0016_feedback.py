"""Feedback on a completed visit (rating 1-5 and an encrypted comment), one row per booking."""

from core.db.database import Database
from core.db.ddl import dialect


async def up(db: Database) -> None:
    d = dialect(db.kind)
    await db.script(
        [
            f"""CREATE TABLE booking_feedback (id {d.pk},
                booking {d.bigint} NOT NULL REFERENCES booking (id) ON DELETE CASCADE,
                customer {d.bigint} REFERENCES customer (id) ON DELETE SET NULL,
                rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5), comment_enc TEXT,
                created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL)""",
            "CREATE UNIQUE INDEX booking_feedback_booking ON booking_feedback (booking)",
            "CREATE INDEX booking_feedback_customer ON booking_feedback (customer)",
        ]
    )
