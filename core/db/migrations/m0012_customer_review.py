"""Near-match review and merging of duplicate cards.

- `customer.name_idx`: a blind index of the folded name (Turkish-aware case folding, accents and
  punctuation dropped; see core/customers/duplicates.py). A new card that matched no phone or e-mail
  exactly is compared with the cards of the same folded name, found through this index in one lookup;
  only those few candidates' contacts are decrypted. Filled here for existing cards (this migration
  needs the personal-data key). A merged card's `name_idx` is cleared, so it is never a candidate.
- `customer_review`: one row per suspected pair (`customer_a < customer_b`, unique), with the reason
  codes and what became of it: `open`, `merged` or `dismissed` (a dismissed pair is not flagged again).
  Created as raw DDL: a composite unique index is what Piccolo cannot create on SQLite.
"""

from core.customers.duplicates import name_index
from core.db.database import Database
from core.db.ddl import dialect
from core.privacy.crypto import FieldCipher


async def up(db: Database, cipher: FieldCipher) -> None:
    d = dialect(db.kind)
    await db.script(
        [
            "ALTER TABLE customer ADD COLUMN name_idx VARCHAR(40)",
            "CREATE INDEX customer_name_idx ON customer (name_idx)",
            f"""CREATE TABLE customer_review (id {d.pk},
                customer_a {d.bigint} NOT NULL REFERENCES customer (id) ON DELETE CASCADE,
                customer_b {d.bigint} NOT NULL REFERENCES customer (id) ON DELETE CASCADE,
                reason VARCHAR(200) NOT NULL,
                status VARCHAR(10) NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'merged', 'dismissed')),
                created_at TIMESTAMPTZ NOT NULL, resolved_at TIMESTAMPTZ, resolved_by VARCHAR(120),
                CHECK (customer_a < customer_b))""",
            "CREATE UNIQUE INDEX customer_review_pair ON customer_review (customer_a, customer_b)",
            "CREATE INDEX customer_review_b ON customer_review (customer_b)",
            "CREATE INDEX customer_review_open ON customer_review (status, id)",
        ]
    )
    rows = await db.fetch("SELECT id, name FROM customer WHERE merged_into IS NULL")
    for row in rows:
        await db.execute(
            "UPDATE customer SET name_idx = ? WHERE id = ?", name_index(cipher, row["name"]), row["id"]
        )
