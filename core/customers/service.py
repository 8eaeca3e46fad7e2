"""Customer cards: find the same person by phone or e-mail, or create a card (contacts encrypted).

The full CRM (near-match review, merge, import, derived figures) builds on this; every entry path
goes through `new_customer` and `find_or_create` so nobody is duplicated by the way they booked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from core.customers.contact import normalise_email, normalise_phone
from core.customers.snapshot import CustomerSnapshot
from core.errors import FieldError

if TYPE_CHECKING:
    from core.context import AppContext

PERSONAL = ("name", "phone", "email", "notes")


@dataclass(frozen=True)
class NewCustomer:
    """Contact details checked and normalised before any transaction opens (so a bad phone number is
    a 422 that never holds the write lock), with the blind indexes that find the same person."""

    name: str
    phone: str | None  # E.164
    email: str | None  # normalised
    phone_idx: str | None
    email_idx: str | None
    language: str
    source: str


def new_customer(
    ctx: AppContext,
    name: str,
    phone: str | None,
    email: str | None,
    source: str,
    language: str | None = None,
    field_prefix: str = "customer",
) -> NewCustomer:
    name = " ".join(name.split())
    if not name:
        raise FieldError(f"{field_prefix}.name", "required")
    if not phone and not email:
        raise FieldError(f"{field_prefix}.phone", "a phone number or an e-mail address is required")
    region = ctx.settings.business.default_region
    phone_e164 = normalise_phone(phone, region, f"{field_prefix}.phone") if phone else None
    email_norm = normalise_email(email, f"{field_prefix}.email") if email else None
    cipher = ctx.cipher
    return NewCustomer(
        name=name,
        phone=phone_e164,
        email=email_norm,
        phone_idx=cipher.blind_index(phone_e164, "customer.phone") if phone_e164 else None,
        email_idx=cipher.blind_index(email_norm, "customer.email") if email_norm else None,
        language=language or ctx.settings.business.default_language,
        source=source,
    )


async def find_or_create(ctx: AppContext, customer: NewCustomer) -> int:
    """The id of the card with this phone (first) or e-mail, creating the card when there is none.

    Joins the caller's transaction, so a booking that fails leaves no card behind.
    """
    async with ctx.db.transaction():
        # Two index lookups (an OR can be planned as a scan), the phone's match first.
        found = await ctx.db.fetchval(
            "SELECT id FROM (SELECT id, 0 AS rank FROM customer WHERE phone_idx = ?"
            " UNION ALL SELECT id, 1 AS rank FROM customer WHERE email_idx = ?) AS matches"
            " ORDER BY rank, id LIMIT 1",
            customer.phone_idx,
            customer.email_idx,
        )
        if found is not None:
            return int(found)
        now = datetime.now(UTC)
        cipher = ctx.cipher
        rows = await ctx.db.fetch(
            "INSERT INTO customer (name, phone_enc, phone_idx, email_enc, email_idx, language, tags,"
            " source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, '[]', ?, ?, ?) RETURNING id",
            customer.name,
            cipher.encrypt(customer.phone, "customer.phone"),
            customer.phone_idx,
            cipher.encrypt(customer.email, "customer.email"),
            customer.email_idx,
            customer.language,
            customer.source,
            now,
            now,
        )
        customer_id = int(rows[0]["id"])
        snapshot = CustomerSnapshot(
            id=customer_id,
            name=customer.name,
            phone=customer.phone,
            email=customer.email,
            language=customer.language,
        )
        await ctx.hooks.call("customer_validate", customer=snapshot, action="create")
        await ctx.audit.record(
            "customer",
            customer_id,
            "created",
            {
                "name": customer.name,
                "phone": customer.phone,
                "email": customer.email,
                "source": customer.source,
            },
            personal=PERSONAL,
        )
        await ctx.hooks.call("customer_created", customer=snapshot)
    return customer_id
