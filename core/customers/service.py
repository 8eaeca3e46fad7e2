"""Customer cards: find the same person by phone or e-mail, or create a card (contacts encrypted).

Every entry path (booking page, staff entry, API, import) goes through `new_customer` and
`find_or_create` (or `create_card`, which says whether it matched), so nobody is duplicated by the
way they booked; `update_card` refuses a phone or e-mail that already belongs to another card. A card
created without an exact match is compared with the same-named cards, and look-alikes are flagged for
review (core/customers/duplicates.py); core/customers/merge.py joins the duplicates a person confirms.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from core.customers.contact import normalise_email, normalise_phone
from core.customers.duplicates import flag_near_matches, name_index
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
    phone_tail_idx: str | None = None


def new_customer(
    ctx: AppContext,
    name: str,
    phone: str | None,
    email: str | None,
    source: str,
    language: str | None = None,
    field_prefix: str = "customer",
) -> NewCustomer:
    def named(field: str) -> str:
        return f"{field_prefix}.{field}" if field_prefix else field

    name = " ".join(name.split())
    if not name:
        raise FieldError(named("name"), "required")
    if not phone and not email:
        raise FieldError(named("phone"), "a phone number or an e-mail address is required")
    region = ctx.settings.business.default_region
    phone_e164 = normalise_phone(phone, region, named("phone")) if phone else None
    email_norm = normalise_email(email, named("email")) if email else None
    return NewCustomer(
        name=name,
        phone=phone_e164,
        email=email_norm,
        phone_idx=phone_index(ctx, phone_e164) if phone_e164 else None,
        phone_tail_idx=phone_tail_index(ctx, phone_e164) if phone_e164 else None,
        email_idx=email_index(ctx, email_norm) if email_norm else None,
        language=language or ctx.settings.business.default_language,
        source=source,
    )


def phone_index(ctx: AppContext, e164: str) -> str:
    """Blind index of a normalised (E.164) phone number: how a card is found by its phone."""
    return ctx.cipher.blind_index(e164, "customer.phone")


def email_index(ctx: AppContext, email: str) -> str:
    """Blind index of a normalised e-mail address."""
    return ctx.cipher.blind_index(email, "customer.email")


def phone_tail_index(ctx: AppContext, digits: str) -> str:
    """Blind index of a phone number's last four digits (the whole E.164 number or just the four)."""
    return ctx.cipher.blind_index(digits[-4:], "customer.phone_tail")


async def find_or_create(ctx: AppContext, customer: NewCustomer) -> int:
    """The id of the card with this phone (first) or e-mail, creating the card when there is none.

    Joins the caller's transaction, so a booking that fails leaves no card behind.
    """
    customer_id, _matched = await create_card(ctx, customer)
    return customer_id


async def match(ctx: AppContext, phone_idx: str | None, email_idx: str | None) -> int | None:
    """The card with this phone (preferred) or e-mail; a merged card leads to the one it was merged into."""
    # Two index lookups (an OR can be planned as a scan), the phone's match first.
    found = await ctx.db.fetchval(
        "SELECT COALESCE(merged_into, id) FROM (SELECT id, merged_into, 0 AS rank FROM customer"
        " WHERE phone_idx = ? UNION ALL SELECT id, merged_into, 1 AS rank FROM customer"
        " WHERE email_idx = ?) AS matches ORDER BY rank, id LIMIT 1",
        phone_idx,
        email_idx,
    )
    return None if found is None else int(found)


async def create_card(
    ctx: AppContext, customer: NewCustomer, notes: str | None = None, tags: tuple[str, ...] = ()
) -> tuple[int, bool]:
    """(card id, whether an existing card matched): the same person is found, not added twice.

    A new card is also compared with the cards of the same name, and look-alikes (a digit off, the
    same mailbox at another provider) are flagged for review once the card is committed: one indexed
    query, and none at all for a returning customer.
    """
    async with ctx.db.transaction():
        found = await match(ctx, customer.phone_idx, customer.email_idx)
        if found is not None:
            return found, True
        now = datetime.now(UTC)
        cipher = ctx.cipher
        name_idx = name_index(cipher, customer.name)
        rows = await ctx.db.fetch(
            "INSERT INTO customer (name, name_idx, phone_enc, phone_idx, phone_tail_idx, email_enc,"
            " email_idx, notes_enc, language, tags, source, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            customer.name,
            name_idx,
            cipher.encrypt(customer.phone, "customer.phone"),
            customer.phone_idx,
            customer.phone_tail_idx,
            cipher.encrypt(customer.email, "customer.email"),
            customer.email_idx,
            cipher.encrypt(notes, "customer.notes"),
            customer.language,
            json.dumps(list(tags)),
            customer.source,
            now,
            now,
        )
        customer_id = int(rows[0]["id"])
        snapshot = CustomerSnapshot(
            id=customer_id, name=customer.name, phone=customer.phone, email=customer.email,
            language=customer.language, tags=tags,
        )  # fmt: skip
        # In the transaction: a veto rolls the new card back.
        await ctx.hooks.call("customer_validate", customer=snapshot, action="create")

        # After the commit, outside the write transaction: the flag is advisory, and its read would
        # otherwise hold SQLite's write lock for every new customer (measured: ~3 % of bookings/s).
        async def flag() -> None:
            await flag_near_matches(ctx, customer_id, customer, name_idx)

        tx = ctx.db.current_tx
        assert tx is not None
        tx.after_commit(flag)
        changes: dict[str, object] = {"name": customer.name, "phone": customer.phone, "email": customer.email,
                   "source": customer.source}  # fmt: skip
        if notes:
            changes["notes"] = notes
        if tags:
            changes["tags"] = list(tags)
        await ctx.audit.record("customer", customer_id, "created", changes, personal=PERSONAL)
        await ctx.hooks.call("customer_created", customer=snapshot)
    return customer_id, False
