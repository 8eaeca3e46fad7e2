"""What the admin customer pages show: a page of the newest cards, and one card with its history in
the time zone of each booking's location, its messages and feedback.

The card reads the same services as the JSON card (`core/customers/routes.py`), with the same scoping
for a staff account: only customers it has served, only its own bookings, no message log or feedback.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from core.customers.card import CHANNELS, Card, Figures, figures, load_card, load_cards
from core.customers.consent import ConsentState, consents
from core.customers.search import SERVED_BY
from core.db.values import as_utc
from core.errors import NotFound
from core.feedback.service import Feedback, feedback_of
from core.notifications.log import MessageOut, list_messages
from core.scheduling.loader import location_zone

if TYPE_CHECKING:
    from core.context import AppContext

PAGE_SIZE = 50


async def newest_cards(ctx: AppContext, page_number: int, served_by: int | None) -> tuple[list[Card], bool]:
    """One page of cards, newest first, and whether another page follows."""
    scope = f" AND {SERVED_BY}" if served_by is not None else ""
    rows = await ctx.db.fetch(
        f"SELECT id FROM customer WHERE merged_into IS NULL{scope}"
        " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        *([served_by] if served_by is not None else []),
        PAGE_SIZE + 1,
        (page_number - 1) * PAGE_SIZE,
    )
    ids = [int(r["id"]) for r in rows]
    more = len(ids) > PAGE_SIZE
    ids = ids[:PAGE_SIZE]
    if not ids:
        return [], False
    cards = await load_cards(ctx, f"id IN ({', '.join('?' for _ in ids)})", list(ids), PAGE_SIZE)
    order = {card_id: i for i, card_id in enumerate(ids)}
    return sorted(cards, key=lambda card: order[card.id]), more


@dataclass(frozen=True)
class HistoryRow:
    id: int
    service: str
    staff: str | None
    status: str
    start: datetime  # in the location's zone
    price: str
    currency: str
    cancel_reason: str | None


@dataclass(frozen=True)
class CardView:
    card: Card
    figures: Figures
    history: list[HistoryRow]
    consent: dict[str, ConsentState | None]
    messages: list[MessageOut]
    feedback: list[Feedback]
    zone: ZoneInfo  # the business's: for times that belong to no location (messages, consent)


async def served(ctx: AppContext, customer_id: int, staff: int | None) -> None:
    """A staff account may open only the cards of customers it has served; others are "not found"."""
    if staff is not None and not await ctx.db.fetchval(
        "SELECT 1 FROM booking WHERE customer = ? AND staff = ? LIMIT 1", customer_id, staff
    ):
        raise NotFound("customer", customer_id)


async def _history(ctx: AppContext, customer_id: int, staff: int | None) -> list[HistoryRow]:
    by_staff = " AND b.staff = ?" if staff is not None else ""
    rows = await ctx.db.fetch(
        "SELECT b.id, b.location, b.status, b.start_at, b.price, b.currency, b.cancel_reason,"
        " s.name AS service_name, st.name AS staff_name"
        " FROM booking b JOIN service s ON s.id = b.service LEFT JOIN staff st ON st.id = b.staff"
        f" WHERE b.customer = ?{by_staff} ORDER BY b.start_at DESC, b.id DESC LIMIT 500",
        customer_id,
        *([staff] if staff is not None else []),
    )
    zones: dict[int, ZoneInfo] = {}
    out = []
    for r in rows:
        location = int(r["location"])
        if location not in zones:
            zones[location] = await location_zone(ctx.db, location)
        start = as_utc(r["start_at"]) or r["start_at"]
        out.append(
            HistoryRow(
                id=int(r["id"]),
                service=r["service_name"],
                staff=r["staff_name"],
                status=r["status"],
                start=start.astimezone(zones[location]),
                price=str(r["price"]),
                currency=r["currency"],
                cancel_reason=r["cancel_reason"],
            )
        )
    return out


async def card_view(ctx: AppContext, customer_id: int, staff: int | None) -> CardView:
    """The whole card as the JSON API gives it, scoped the same way for a staff account."""
    await served(ctx, customer_id, staff)
    card = await load_card(ctx, customer_id)
    given = await consents(ctx, customer_id)
    return CardView(
        card=card,
        figures=await figures(ctx, customer_id, staff=staff),
        history=await _history(ctx, customer_id, staff),
        consent={channel: given.get(channel) for channel in CHANNELS},
        messages=await list_messages(ctx, customer=customer_id, limit=50) if staff is None else [],
        feedback=await feedback_of(ctx, customer_id) if staff is None else [],
        zone=ZoneInfo(ctx.settings.business.timezone),
    )


def card_values(card: Card) -> dict[str, Any]:
    """The edit form filled with the card as it is."""
    return {
        "name": card.name,
        "phone": card.phone or "",
        "email": card.email or "",
        "language": card.language,
        "preferred_channel": card.preferred_channel or "",
        "tags": ", ".join(card.tags),
        "notes": card.notes or "",
    }
