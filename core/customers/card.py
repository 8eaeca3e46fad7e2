"""The customer card as staff see it: contact details decrypted, figures derived from the bookings,
the history, and edits that keep one card per person.

The figures are computed from the bookings when the card is read, in one aggregate query, rather
than stored next to the card: a stored copy has to be kept right by every transition, reschedule,
merge and import, and a read of one customer's bookings is an index range (booking_customer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec

from core.customers.contact import normalise_email, normalise_phone
from core.customers.duplicates import name_index
from core.customers.service import PERSONAL, email_index, match, phone_index, phone_tail_index
from core.customers.snapshot import CustomerSnapshot
from core.db.values import as_utc
from core.errors import Conflict, FieldError, NotFound
from core.scheduling.catalogue import money

if TYPE_CHECKING:
    from core.context import AppContext

CHANNELS = ("sms", "whatsapp", "email", "call")
LANGUAGES = ("tr", "en")
CARD_COLUMNS = (
    "id, name, phone_enc, email_enc, notes_enc, language, preferred_channel, tags, source, merged_into,"
    " created_at, updated_at"
)


class Figures(msgspec.Struct, frozen=True, kw_only=True):
    """What the bookings say about a customer (spend counts completed visits at their booked price);
    the API returns it as it is."""

    visits: int
    last_visit: datetime | None
    next_booking: datetime | None
    average_interval_days: float | None
    total_spend: str
    average_spend: str | None
    lifetime_value: str
    cancellations: int
    no_shows: int


@dataclass(frozen=True)
class Card:
    id: int
    name: str
    phone: str | None
    email: str | None
    notes: str | None
    language: str
    preferred_channel: str | None
    tags: tuple[str, ...]
    source: str
    merged_into: int | None
    created_at: datetime
    updated_at: datetime

    def snapshot(self) -> CustomerSnapshot:
        return CustomerSnapshot(
            id=self.id, name=self.name, phone=self.phone, email=self.email, language=self.language,
            preferred_channel=self.preferred_channel, tags=self.tags,
        )  # fmt: skip


def _card(ctx: AppContext, row: Any) -> Card:
    cipher = ctx.cipher
    return Card(
        id=int(row["id"]),
        name=row["name"],
        phone=cipher.decrypt(row["phone_enc"], "customer.phone"),
        email=cipher.decrypt(row["email_enc"], "customer.email"),
        notes=cipher.decrypt(row["notes_enc"], "customer.notes"),
        language=row["language"],
        preferred_channel=row["preferred_channel"],
        tags=tuple(json.loads(row["tags"] or "[]")),
        source=row["source"],
        merged_into=int(row["merged_into"]) if row["merged_into"] is not None else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def load_card(ctx: AppContext, customer_id: int) -> Card:
    rows = await ctx.db.fetch(f"SELECT {CARD_COLUMNS} FROM customer WHERE id = ?", customer_id)
    if not rows:
        raise NotFound("customer", customer_id)
    return _card(ctx, rows[0])


async def load_cards(ctx: AppContext, where: str, args: list[Any], limit: int) -> list[Card]:
    """Cards matching `where`; a merged card that matches stands for the card it was merged into, so
    a duplicate's old phone, e-mail or name still finds the person (merged cards are never listed)."""
    rows = await ctx.db.fetch(
        f"SELECT {CARD_COLUMNS} FROM customer WHERE merged_into IS NULL AND id IN"
        f" (SELECT COALESCE(merged_into, id) FROM customer WHERE {where}) ORDER BY name, id LIMIT ?",
        *args,
        limit,
    )
    return [_card(ctx, row) for row in rows]


async def lock_cards(ctx: AppContext, ids: list[int]) -> dict[int, Card]:
    """The cards with these ids, locked until the transaction ends (PostgreSQL: rows in id order, so
    two merges over the same cards queue instead of deadlocking; SQLite's write transaction already
    excludes every other writer)."""
    marks = ", ".join("?" for _ in ids)
    lock = " FOR UPDATE" if ctx.db.kind == "postgres" else ""
    rows = await ctx.db.fetch(
        f"SELECT {CARD_COLUMNS} FROM customer WHERE id IN ({marks}) ORDER BY id{lock}", *ids
    )
    return {int(row["id"]): _card(ctx, row) for row in rows}


async def figures(
    ctx: AppContext, customer_id: int, now: datetime | None = None, staff: int | None = None
) -> Figures:
    """The card's figures; with `staff`, from that staff member's bookings only (a staff account's view)."""
    now = now or datetime.now(UTC)
    by_staff = " AND staff = ?" if staff is not None else ""
    rows = await ctx.db.fetch(
        "SELECT"
        " SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS visits,"
        " MIN(CASE WHEN status = 'completed' THEN start_at END) AS first_visit,"
        " MAX(CASE WHEN status = 'completed' THEN start_at END) AS last_visit,"
        " MIN(CASE WHEN status IN ('pending', 'confirmed') AND start_at >= ? THEN start_at END)"
        " AS next_booking,"
        " SUM(CASE WHEN status = 'completed' THEN price ELSE 0 END) AS spend,"
        " SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END) AS cancellations,"
        " SUM(CASE WHEN status = 'no_show' THEN 1 ELSE 0 END) AS no_shows"
        f" FROM booking WHERE customer = ?{by_staff}",
        now,
        customer_id,
        *([staff] if staff is not None else []),
    )
    row = rows[0]
    visits = int(row["visits"] or 0)
    first, last = as_utc(row["first_visit"]), as_utc(row["last_visit"])
    spend = Decimal(str(row["spend"] or 0))
    interval = None
    if visits > 1 and first is not None and last is not None:
        interval = round((last - first).total_seconds() / 86400 / (visits - 1), 1)
    return Figures(
        visits=visits,
        last_visit=last,
        next_booking=as_utc(row["next_booking"]),
        average_interval_days=interval,
        total_spend=money(spend),
        average_spend=money(spend / visits) if visits else None,
        # Payments and refunds will refine this; until then what completed visits were booked at.
        lifetime_value=money(spend),
        cancellations=int(row["cancellations"] or 0),
        no_shows=int(row["no_shows"] or 0),
    )


@dataclass(frozen=True)
class CardChanges:
    """Fields to change; None leaves a field as it is (send "" to clear notes, e-mail or phone)."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None
    notes: str | None = None
    language: str | None = None
    preferred_channel: str | None = None
    tags: tuple[str, ...] | None = None


def clean_tags(tags: tuple[str, ...] | list[str], field: str = "tags") -> tuple[str, ...]:
    out: list[str] = []
    for tag in tags:
        tag = " ".join(tag.split()).lower()
        if not tag or len(tag) > 40:
            raise FieldError(field, "each tag is 1 to 40 characters")
        if tag not in out:
            out.append(tag)
    return tuple(out)


def _normalised(ctx: AppContext, changes: CardChanges) -> dict[str, Any]:
    """The changed fields, checked and normalised before any transaction opens (a bad phone number
    is a 422 that never holds the write lock)."""
    region = ctx.settings.business.default_region
    after: dict[str, Any] = {}
    if changes.name is not None:
        name = " ".join(changes.name.split())
        if not name:
            raise FieldError("name", "required")
        after["name"] = name
    if changes.phone is not None:
        after["phone"] = normalise_phone(changes.phone, region) if changes.phone.strip() else None
    if changes.email is not None:
        after["email"] = normalise_email(changes.email) if changes.email.strip() else None
    if changes.notes is not None:
        after["notes"] = changes.notes.strip() or None
    if changes.language is not None:
        if changes.language not in LANGUAGES:
            raise FieldError("language", f"one of {', '.join(LANGUAGES)}")
        after["language"] = changes.language
    if changes.preferred_channel is not None:
        if changes.preferred_channel not in (*CHANNELS, ""):
            raise FieldError("preferred_channel", f"one of {', '.join(CHANNELS)}")
        after["preferred_channel"] = changes.preferred_channel or None
    if changes.tags is not None:
        after["tags"] = clean_tags(changes.tags)
    return after


async def update_card(ctx: AppContext, customer_id: int, changes: CardChanges) -> Card:
    """Change a card; a phone or e-mail that belongs to another card is a 409 naming that card."""
    after = _normalised(ctx, changes)
    async with ctx.db.transaction():
        before = await load_card(ctx, customer_id)
        if before.merged_into is not None:
            raise Conflict(
                f"this card was merged into customer {before.merged_into}",
                {"customer": before.merged_into},
            )
        phone = after.get("phone", before.phone)
        email = after.get("email", before.email)
        if not phone and not email:
            raise FieldError("phone", "a phone number or an e-mail address is required")
        if after.get("phone"):
            await _refuse_taken(ctx, customer_id, "phone", phone_index(ctx, after["phone"]), None)
        if after.get("email"):
            await _refuse_taken(ctx, customer_id, "email", None, email_index(ctx, after["email"]))
        changed = {k: v for k, v in after.items() if getattr(before, k) != v}
        if not changed:
            return before
        await write_fields(ctx, customer_id, changed)
        card = await load_card(ctx, customer_id)
        await ctx.hooks.call("customer_validate", customer=card.snapshot(), action="update")
        diff = {k: [audit_value(getattr(before, k)), audit_value(v)] for k, v in changed.items()}
        await ctx.audit.record("customer", customer_id, "updated", diff, personal=PERSONAL)
        await ctx.hooks.call("customer_updated", customer=card.snapshot(), changed=tuple(sorted(changed)))
    return card


async def _refuse_taken(
    ctx: AppContext, customer_id: int, field: str, phone_idx: str | None, email_idx: str | None
) -> None:
    """409 naming the other card when it already has this phone or e-mail: one card per person."""
    other = await match(ctx, phone_idx, email_idx)
    if other is not None and other != customer_id:
        what = "phone number" if field == "phone" else "e-mail address"
        raise Conflict(f"customer {other} already has this {what}", {"field": field, "customer": other})


def audit_value(value: Any) -> Any:
    """A value as the audit log stores it (JSON has lists, not tuples)."""
    return list(value) if isinstance(value, tuple) else value


async def write_fields(ctx: AppContext, customer_id: int, changed: dict[str, Any]) -> None:
    """Write normalised field values with their ciphertexts and blind indexes (update and merge)."""
    cipher = ctx.cipher
    sets: list[str] = []
    args: list[Any] = []
    for key, value in changed.items():
        if key == "phone":
            sets += ["phone_enc = ?", "phone_idx = ?", "phone_tail_idx = ?"]
            args += [
                cipher.encrypt(value, "customer.phone"),
                phone_index(ctx, value) if value else None,
                phone_tail_index(ctx, value) if value else None,
            ]
        elif key == "email":
            sets += ["email_enc = ?", "email_idx = ?"]
            args += [
                cipher.encrypt(value, "customer.email"),
                email_index(ctx, value) if value else None,
            ]
        elif key == "name":
            sets += ["name = ?", "name_idx = ?"]
            args += [value, name_index(cipher, value)]
        elif key == "notes":
            sets.append("notes_enc = ?")
            args.append(cipher.encrypt(value, "customer.notes"))
        elif key == "tags":
            sets.append("tags = ?")
            args.append(json.dumps(list(value)))
        else:
            sets.append(f"{key} = ?")
            args.append(value)
    sets.append("updated_at = ?")
    args.append(datetime.now(UTC))
    await ctx.db.execute(f"UPDATE customer SET {', '.join(sets)} WHERE id = ?", *args, customer_id)
