"""Messages: one row per message (unique dedupe key: a crash or a replayed change never sends twice),
one row per delivery attempt (the provider's error encrypted), the business's edited templates, and
per-service reminder offsets (`service.reminder_hours`, a JSON list; NULL: the business default)."""

from core.db.database import Database
from core.db.ddl import dialect


async def up(db: Database) -> None:
    d = dialect(db.kind)
    await db.script(
        [
            "ALTER TABLE service ADD COLUMN reminder_hours TEXT",
            f"""CREATE TABLE message (id {d.pk},
                dedupe_key VARCHAR(200) NOT NULL, kind VARCHAR(40) NOT NULL,
                category VARCHAR(15) NOT NULL CHECK (category IN ('transactional', 'commercial')),
                recipient VARCHAR(10) NOT NULL CHECK (recipient IN ('customer', 'staff')),
                customer {d.bigint} REFERENCES customer (id) ON DELETE SET NULL,
                booking {d.bigint} REFERENCES booking (id) ON DELETE SET NULL,
                staff {d.bigint} REFERENCES staff (id) ON DELETE SET NULL,
                status VARCHAR(12) NOT NULL CHECK (status IN
                    ('queued', 'sending', 'sent', 'retrying', 'failed', 'suppressed')),
                channel VARCHAR(60), medium VARCHAR(20), language VARCHAR(5) NOT NULL DEFAULT 'tr',
                detail VARCHAR(200) NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0,
                payload TEXT NOT NULL DEFAULT '{{}}',
                due_at TIMESTAMPTZ NOT NULL, sent_at TIMESTAMPTZ,
                created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL)""",
            "CREATE UNIQUE INDEX message_dedupe ON message (dedupe_key)",
            "CREATE INDEX message_customer ON message (customer, id)",
            "CREATE INDEX message_booking ON message (booking)",
            "CREATE INDEX message_status ON message (status, id)",
            "CREATE INDEX message_created ON message (created_at)",
            f"""CREATE TABLE message_attempt (id {d.pk},
                message {d.bigint} NOT NULL REFERENCES message (id) ON DELETE CASCADE,
                channel VARCHAR(60) NOT NULL, medium VARCHAR(20) NOT NULL,
                status VARCHAR(10) NOT NULL CHECK (status IN ('sending', 'sent', 'failed')),
                error_enc TEXT, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ)""",
            "CREATE INDEX message_attempt_message ON message_attempt (message, id)",
            f"""CREATE TABLE message_template (id {d.pk},
                kind VARCHAR(40) NOT NULL, part VARCHAR(10) NOT NULL, language VARCHAR(5) NOT NULL,
                body TEXT NOT NULL, updated_at TIMESTAMPTZ NOT NULL, updated_by VARCHAR(120) NOT NULL)""",
            "CREATE UNIQUE INDEX message_template_part ON message_template (kind, part, language)",
        ]
    )
