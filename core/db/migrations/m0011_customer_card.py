"""The customer card grows: search by a phone's last four digits, merges, and marketing consent.

- `phone_tail_idx`: a blind index of the last four digits of the E.164 number, so a receptionist can
  find "the one ending in 4567" without the database holding any digits in plaintext. Filled here for
  existing cards from their encrypted phone numbers (this migration needs the personal-data key).
- `merged_into`: a card merged into another keeps its row (its id stays valid in old links and in the
  audit trail) and points at the card that now holds its history.
- `customer_consent`: marketing consent per channel as a ledger (who, when, from where); the newest
  row per channel is the current state. The KVKK module builds its consent records on this table.
"""

from core.db.database import Database
from core.db.ddl import dialect
from core.privacy.crypto import FieldCipher


async def up(db: Database, cipher: FieldCipher) -> None:
    d = dialect(db.kind)
    await db.script(
        [
            "ALTER TABLE customer ADD COLUMN phone_tail_idx VARCHAR(40)",
            "ALTER TABLE customer ADD COLUMN merged_into INTEGER REFERENCES customer (id)",
            "CREATE INDEX customer_phone_tail_idx ON customer (phone_tail_idx)",
            f"""CREATE TABLE customer_consent (id {d.pk},
                customer INTEGER NOT NULL REFERENCES customer (id) ON DELETE CASCADE,
                channel VARCHAR(20) NOT NULL, granted BOOLEAN NOT NULL, at TIMESTAMPTZ NOT NULL,
                source VARCHAR(20) NOT NULL, actor VARCHAR(100) NOT NULL)""",
            "CREATE INDEX customer_consent_latest ON customer_consent (customer, channel, at)",
        ]
    )
    rows = await db.fetch("SELECT id, phone_enc FROM customer WHERE phone_enc IS NOT NULL")
    for row in rows:
        phone = cipher.decrypt(row["phone_enc"], "customer.phone")
        if phone:
            await db.execute(
                "UPDATE customer SET phone_tail_idx = ? WHERE id = ?",
                cipher.blind_index(phone[-4:], "customer.phone_tail"),
                row["id"],
            )
