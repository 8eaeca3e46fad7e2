"""Customer export to CSV: every card that is not merged into another, contact details decrypted.

Read in pages by id (keyset, never OFFSET), so a big export holds no long read open, costs the same
per page at the end as at the start, and hands the event loop back between pages; the HTTP endpoint
streams each page as it is read instead of building the file in memory.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from core.customers.importing import FORMULA_START
from core.db.values import as_utc

if TYPE_CHECKING:
    from core.context import AppContext

COLUMNS = (
    "id", "name", "phone", "email", "language", "preferred_channel", "tags", "source", "created_at",
)  # fmt: skip
PAGE_ROWS = 500
# Excel opens a UTF-8 CSV as UTF-8 only when it starts with a byte order mark (else Turkish letters
# come out as mojibake); the importer and Python's "utf-8-sig" read past it.
BOM = "\ufeff"
E164 = re.compile(r"^\+\d{6,15}$")


def safe_cell(text: str) -> str:
    """A leading "'" on text a spreadsheet would run as a formula (a name like "=HYPERLINK(...)" typed
    into the booking page). Phone numbers in E.164 start with "+" but are plain numbers and stay."""
    if text.startswith(FORMULA_START) and not E164.match(text):
        return "'" + text
    return text


async def count_cards(ctx: AppContext) -> int:
    return int(await ctx.db.fetchval("SELECT COUNT(*) FROM customer WHERE merged_into IS NULL"))


async def export_pages(ctx: AppContext, page_rows: int = PAGE_ROWS) -> AsyncIterator[list[list[str]]]:
    """Rows of COLUMNS, a page at a time, in id order."""
    cipher = ctx.cipher
    after = 0
    while True:
        rows = await ctx.db.fetch(
            "SELECT id, name, phone_enc, email_enc, language, preferred_channel, tags, source, created_at"
            " FROM customer WHERE merged_into IS NULL AND id > ? ORDER BY id LIMIT ?",
            after,
            page_rows,
        )
        if not rows:
            return
        yield [_row(cipher, row) for row in rows]
        after = int(rows[-1]["id"])
        if len(rows) < page_rows:
            return


def _row(cipher: Any, row: Any) -> list[str]:
    created = as_utc(row["created_at"])
    return [
        str(row["id"]),
        safe_cell(row["name"]),
        safe_cell(cipher.decrypt(row["phone_enc"], "customer.phone") or ""),
        safe_cell(cipher.decrypt(row["email_enc"], "customer.email") or ""),
        row["language"] or "",
        row["preferred_channel"] or "",
        safe_cell(", ".join(json.loads(row["tags"] or "[]"))),
        row["source"] or "",
        created.isoformat(timespec="seconds") if created is not None else "",
    ]


def _lines(rows: list[list[str]], delimiter: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


async def export_csv(
    ctx: AppContext,
    delimiter: str = ",",
    page_rows: int = PAGE_ROWS,
    progress: Callable[[int], object] | None = None,
) -> AsyncIterator[bytes]:
    """The CSV file in pieces: BOM and header first, then one piece per page (`progress` is told how
    many cards each piece holds)."""
    yield BOM.encode("utf-8") + _lines([list(COLUMNS)], delimiter)
    async for page in export_pages(ctx, page_rows):
        yield _lines(page, delimiter)
        if progress is not None:
            progress(len(page))


async def record_export(ctx: AppContext, rows: int) -> None:
    """Every export of the customer list is in the audit log (who took the personal data, how much)."""
    await ctx.audit.record("customers", "export", "exported", {"rows": rows})
