"""Every column that holds personal data encrypted, and every blind index derived from the data key.

This is the one list key rotation (`ajanda keys rotate`), `ajanda keys check` and the privacy tests
read: a value sealed under a key that rotation did not know about becomes unreadable the day the old
key is removed, and a blind index it did not recompute silently stops finding anyone. A new encrypted
column or blind index is one line here; tests/test_key_rotation.py fails when code seals or indexes a
field this list does not name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.customers.duplicates import fold_name
from core.privacy.crypto import FieldCipher


@dataclass(frozen=True)
class EncryptedColumn:
    """A column of `FieldCipher.encrypt` tokens; `field` is the associated data the app seals it with."""

    table: str
    column: str
    field: str

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}"


def _same(value: str) -> str:
    return value


def _last_four(e164: str) -> str:
    return e164[-4:]


@dataclass(frozen=True)
class BlindIndex:
    """A `FieldCipher.blind_index` column, recomputed from `source` in the same row: an encrypted
    column (opened first) or a plain one. `normalise` turns the stored source value into what the app
    indexes, so `compute` gives exactly what the app would write today."""

    table: str
    column: str
    source: str
    field: str
    normalise: Callable[[str], str] = _same

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}"

    def compute(self, cipher: FieldCipher, source_value: str) -> str:
        return cipher.blind_index(self.normalise(source_value), self.field)


ENCRYPTED_COLUMNS: tuple[EncryptedColumn, ...] = (
    EncryptedColumn("customer", "phone_enc", "customer.phone"),  # E.164
    EncryptedColumn("customer", "email_enc", "customer.email"),  # normalised (lower case)
    EncryptedColumn("customer", "notes_enc", "customer.notes"),
    EncryptedColumn("booking", "notes_enc", "booking.notes"),
    EncryptedColumn("account", "totp_enc", "account.totp"),  # second-factor secrets
    EncryptedColumn("ajanda_job", "last_error", "job.last_error"),  # may quote a refused address
    EncryptedColumn("message_attempt", "error_enc", "message.error"),  # a provider's refusal, likewise
    EncryptedColumn("booking_feedback", "comment_enc", "feedback.comment"),  # free text about a visit
)

# An index that is NULL stays NULL (a merged card's name index is cleared on purpose); a non-NULL one
# is recomputed from its source.
BLIND_INDEXES: tuple[BlindIndex, ...] = (
    BlindIndex("customer", "phone_idx", "phone_enc", "customer.phone"),
    BlindIndex("customer", "phone_tail_idx", "phone_enc", "customer.phone_tail", _last_four),
    BlindIndex("customer", "email_idx", "email_enc", "customer.email"),
    BlindIndex("customer", "name_idx", "name", "customer.name", fold_name),
)


def tables() -> list[str]:
    """The tables holding encrypted values or blind indexes, in registry order."""
    seen = [c.table for c in ENCRYPTED_COLUMNS] + [i.table for i in BLIND_INDEXES]
    return list(dict.fromkeys(seen))


def encrypted_in(table: str) -> list[EncryptedColumn]:
    return [c for c in ENCRYPTED_COLUMNS if c.table == table]


def indexes_in(table: str) -> list[BlindIndex]:
    return [i for i in BLIND_INDEXES if i.table == table]
