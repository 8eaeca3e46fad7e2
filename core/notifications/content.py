"""What a message says: the template variables for one message, in the reader's language and zone.

Dates are written the way the reader writes them (Babel: "25 Kasım 2026 Çarşamba" / "Wednesday,
November 25, 2026") in the location's time zone, never in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from core.bookings.links import self_service_token, self_service_url
from core.bookings.service import BOOKING_COLUMNS, snapshot
from core.bookings.snapshot import BookingSnapshot
from core.db.values import as_utc
from core.locale.formats import when
from core.notifications.channels import Attachment

if TYPE_CHECKING:
    from core.context import AppContext


@dataclass(frozen=True)
class BookingFacts:
    booking: BookingSnapshot
    service: str
    staff: str
    location: str
    address: str
    zone: ZoneInfo
    customer: str


async def booking_facts(ctx: AppContext, booking_id: int) -> BookingFacts | None:
    rows = await ctx.db.fetch(f"SELECT {BOOKING_COLUMNS} FROM booking WHERE id = ?", booking_id)
    if not rows:
        return None
    booking = snapshot(rows[0])
    names = await ctx.db.fetch(
        "SELECT s.name AS service, l.name AS location, l.address, l.timezone,"
        " (SELECT name FROM staff WHERE id = ?) AS staff,"
        " (SELECT name FROM customer WHERE id = ?) AS customer"
        " FROM service s, location l WHERE s.id = ? AND l.id = ?",
        booking.staff_id, booking.customer_id, booking.service_ids[0], booking.location_id,
    )  # fmt: skip
    row = names[0]
    return BookingFacts(
        booking=booking,
        service=row["service"],
        staff=row["staff"] or "",
        location=row["location"],
        address=row["address"] or "",
        zone=ZoneInfo(row["timezone"]),
        customer=row["customer"] or "",
    )


def first_name(name: str) -> str:
    return name.split()[0] if name.split() else ""


def variables(
    ctx: AppContext,
    language: str,
    customer_name: str,
    facts: BookingFacts | None,
    extra: dict[str, Any],
) -> dict[str, Any]:
    base = ctx.settings.server.base_url()
    values: dict[str, Any] = {
        "business": {"name": ctx.settings.business.name},
        "customer": {"name": customer_name, "first_name": first_name(customer_name)},
        "links": {"book": f"{base}/", "manage": "", "feedback": "", "pay": "", "unsubscribe": ""},
        "reason": extra.get("reason", ""),
        "change": extra.get("change", ""),
        "service": extra.get("service", ""),
    }
    if "offset_hours" in extra:
        values["offset_hours"] = extra["offset_hours"]
    if "last_visit" in extra:
        zone = ZoneInfo(ctx.settings.business.timezone)
        values["last_visit"] = when(datetime.fromisoformat(extra["last_visit"]), zone, language)
    if facts is None:
        return values
    b = facts.booking
    manage = self_service_url(ctx, b)
    values["booking"] = {
        "id": b.id,
        "service": facts.service,
        "staff": facts.staff,
        "location": facts.location,
        "address": facts.address,
        **when(b.start, facts.zone, language),
        "duration_min": int((b.end - b.start).total_seconds() // 60),
        "price": b.price,
        "currency": b.currency,
        "deposit_due": b.deposit_due,
        "hold_expires": when(b.hold_expires_at, facts.zone, language)["when"] if b.hold_expires_at else "",
        "customer": facts.customer,
    }
    values["links"].update(manage=manage, feedback=f"{base}/feedback/{self_service_token(ctx, b)}")
    if b.hold_expires_at:
        values["offer"] = {"expires": values["booking"]["hold_expires"]}
    if "previous_start" in extra:
        values["previous"] = when(datetime.fromisoformat(extra["previous_start"]), facts.zone, language)
    return values


def invite_for(ctx: AppContext, facts: BookingFacts, rendered_text: str) -> Attachment:
    from core.notifications.invite import booking_invite  # icalendar, when the first invite is made

    host = urlparse(ctx.settings.server.base_url()).hostname or "localhost"
    b = facts.booking
    summary = f"{facts.service} - {ctx.settings.business.name}"
    place = ", ".join(p for p in (facts.location, facts.address) if p)
    return booking_invite(
        booking_id=b.id,
        start=as_utc(b.start) or b.start,
        end=as_utc(b.end) or b.end,
        summary=summary,
        location=place,
        description=rendered_text,
        organizer_name=ctx.settings.business.name,
        host=host,
        stamp=ctx.clock.now(),
    )
