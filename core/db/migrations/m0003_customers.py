"""Customer cards with encrypted contact data and blind indexes."""

from core.db.database import Database
from core.db.ddl import dialect


async def up(db: Database) -> None:
    d = dialect(db.kind)
    await db.script(
        [
            f"""CREATE TABLE customer (id {d.pk}, name VARCHAR(200) NOT NULL,
                phone_enc TEXT, phone_idx VARCHAR(40), email_enc TEXT, email_idx VARCHAR(40),
                notes_enc TEXT, language VARCHAR(5) NOT NULL DEFAULT 'tr',
                preferred_channel VARCHAR(20), tags TEXT NOT NULL DEFAULT '[]',
                source VARCHAR(20) NOT NULL DEFAULT 'staff',
                created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL)""",
            "CREATE INDEX customer_phone_idx ON customer (phone_idx)",
            "CREATE INDEX customer_email_idx ON customer (email_idx)",
            "CREATE INDEX customer_name ON customer (name)",
        ]
    )
