"""Finding a customer the way a receptionist asks: a name, a whole phone number, the last four digits
of one, an e-mail address, or a tag.

Contact data is encrypted, so phone and e-mail searches are exact matches on blind indexes (the
normalised value, or the last four digits, hashed with a key); names are matched by substring.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from core.customers.card import Card, clean_tags, load_cards
from core.customers.contact import normalise_email, normalise_phone
from core.customers.service import email_index, phone_index, phone_tail_index

if TYPE_CHECKING:
    from core.context import AppContext

# A customer one staff member has served (bookings move to the kept card when cards are merged).
SERVED_BY = (
    "EXISTS (SELECT 1 FROM booking b WHERE b.customer = COALESCE(customer.merged_into, customer.id)"
    " AND b.staff = ?)"
)
LAST_FOUR = re.compile(r"^\d{4}$")
PHONE_LIKE = re.compile(r"^[+\d][\d\s().-]{5,}$")


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search(
    ctx: AppContext, q: str | None, tag: str | None, limit: int = 50, served_by: int | None = None
) -> list[Card]:
    """Cards matching `q` (name, phone, last four digits or e-mail, told apart by shape) and `tag`;
    with `served_by`, only customers with a booking with that staff member (a staff account's view)."""
    where: list[str] = []
    args: list[Any] = []
    if served_by is not None:
        where.append(SERVED_BY)
        args.append(served_by)
    text = (q or "").strip()
    if text:
        if "@" in text:
            where.append("email_idx = ?")
            args.append(email_index(ctx, normalise_email(text, "q")))
        elif LAST_FOUR.match(text):
            where.append("phone_tail_idx = ?")
            args.append(phone_tail_index(ctx, text))
        elif PHONE_LIKE.match(text):
            phone = normalise_phone(text, ctx.settings.business.default_region, "q")
            where.append("phone_idx = ?")
            args.append(phone_index(ctx, phone))
        else:
            operator = "ILIKE" if ctx.db.kind == "postgres" else "LIKE"
            where.append(f"name {operator} ? ESCAPE '\\'")
            args.append(_like(" ".join(text.split())))
    if tag is not None:
        cleaned = clean_tags([tag], "tag")
        # Tags are a JSON list of lower-case strings: match the quoted element.
        where.append("tags LIKE ? ESCAPE '\\'")
        args.append(_like(f'"{cleaned[0]}"'))
    return await load_cards(ctx, " AND ".join(where) or "1 = 1", args, limit)
