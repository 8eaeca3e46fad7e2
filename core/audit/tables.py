"""The audit log table: append-only, hash-chained rows."""

from piccolo.columns import BigInt, Text, Timestamptz, Varchar
from piccolo.table import Table


class AuditEntry(Table, tablename="ajanda_audit"):
    # Position in the hash chain; gap-free and unique, so a deleted row breaks the chain.
    seq = BigInt(unique=True)
    at = Timestamptz()
    actor_kind = Varchar(length=20)
    actor_id = Varchar(length=100)
    entity = Varchar(length=60)
    entity_id = Varchar(length=100)
    action = Varchar(length=60)
    # Canonical JSON exactly as hashed (kept as text so no engine reorders it).
    changes = Text()
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64)
