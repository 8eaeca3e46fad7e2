"""A job's last error is stored encrypted from now on (a provider's refusal often quotes the phone
number or e-mail address it refused); this seals the errors already stored."""

from core.db.database import Database
from core.outbox.queue import ERROR_FIELD
from core.privacy.crypto import CipherError, FieldCipher


async def up(db: Database, cipher: FieldCipher) -> None:
    rows = await db.fetch("SELECT id, last_error FROM ajanda_job WHERE last_error IS NOT NULL")
    for row in rows:
        try:
            cipher.open(row["last_error"], ERROR_FIELD)
            continue  # already sealed
        except CipherError:
            pass
        await db.execute(
            "UPDATE ajanda_job SET last_error = ? WHERE id = ?",
            cipher.encrypt(row["last_error"], ERROR_FIELD),
            row["id"],
        )
