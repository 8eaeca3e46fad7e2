"""Customer cards: find the same person by phone or e-mail, or create a card (contacts encrypted).

The full CRM (near-match review, merge, import, derived figures) builds on this; every entry path
goes through `find_or_create` so nobody is duplicated by the way they booked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from core.customers.contact import normalise_email, normalise_phone
from core.customers.snapshot import CustomerSnapshot
from core.errors import FieldError

if TYPE_CHECKING:
    from core.context import AppContext

PERSONAL = ("name", "phone", "email", "notes")


async def find_or_create(
    ctx: AppContext,
    name: str,
    phone: str | None,
    email: str | None,
    source: str,
    language: str | None = None,
    field_prefix: str = "customer",
) -> int:
    """The id of the customer with this phone or e-mail, creating the card when there is none."""
    name = " ".join(name.split())
    if not name:
        raise FieldError(f"{field_prefix}.name", "required")
    if not phone and not email:
        raise FieldError(f"{field_prefix}.phone", "a phone number or an e-mail address is required")
    region = ctx.settings.business.default_region
    phone_e164 = normalise_phone(phone, region, f"{field_prefix}.phone") if phone else None
    email_norm = normalise_email(email, f"{field_prefix}.email") if email else None
    cipher = ctx.cipher
    phone_idx = cipher.blind_index(phone_e164, "customer.phone") if phone_e164 else None
    email_idx = cipher.blind_index(email_norm, "customer.email") if email_norm else None
    async with ctx.db.transaction():
        for column, value in (("phone_idx", phone_idx), ("email_idx", email_idx)):
            if value is None:
                continue
            found = await ctx.db.fetchval(
                f"SELECT id FROM customer WHERE {column} = ? ORDER BY id LIMIT 1", value
            )
            if found is not None:
                return int(found)
        now = datetime.now(UTC)
        lang = language or ctx.settings.business.default_language
        rows = await ctx.db.fetch(
            "INSERT INTO customer (name, phone_enc, phone_idx, email_enc, email_idx, language, tags,"
            " source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, '[]', ?, ?, ?) RETURNING id",
            name,
            cipher.encrypt(phone_e164, "customer.phone"),
            phone_idx,
            cipher.encrypt(email_norm, "customer.email"),
            email_idx,
            lang,
            source,
            now,
            now,
        )
        customer_id = int(rows[0]["id"])
        snapshot = CustomerSnapshot(
            id=customer_id, name=name, phone=phone_e164, email=email_norm, language=lang
        )
        await ctx.hooks.call("customer_validate", customer=snapshot, action="create")
        await ctx.audit.record(
            "customer",
            customer_id,
            "created",
            {"name": name, "phone": phone_e164, "email": email_norm, "source": source},
            personal=PERSONAL,
        )
        await ctx.hooks.call("customer_created", customer=snapshot)
    return customer_id
