"""One booking as the front desk reads it: the facts with names, its notes, and its history.

The booking service's snapshot holds ids; the detail page needs the names, the decrypted notes and
the change history too, read here in two queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from core.bookings.service import TRANSITIONS
from core.db.values import as_utc
from core.errors import NotFound
from core.scheduling.catalogue import money
from core.scheduling.loader import location_zone

if TYPE_CHECKING:
    from core.context import AppContext


@dataclass(frozen=True)
class Change:
    at: datetime
    actor: str
    action: str
    old_start: datetime | None
    new_start: datetime | None
    old_staff: str | None
    new_staff: str | None


@dataclass(frozen=True)
class Detail:
    id: int
    status: str
    zone: ZoneInfo
    location_id: int
    location: str
    service_id: int
    service: str
    staff_id: int | None
    staff: str | None
    customer_id: int | None
    customer: str | None
    start: datetime  # local
    end: datetime
    created_at: datetime
    hold_expires_at: datetime | None
    source: str
    price: str
    deposit_due: str
    currency: str
    notes: str | None
    cancel_reason: str | None
    history: list[Change]

    def can(self, action: str) -> bool:
        return self.status in TRANSITIONS[action]

    @property
    def started(self) -> bool:
        return self.start <= datetime.now(self.zone)


async def load_detail(ctx: AppContext, booking_id: int, only_staff: int | None = None) -> Detail:
    """The booking, or NotFound (also for another staff member's booking, seen by a staff account)."""
    rows = await ctx.db.fetch(
        "SELECT b.id, b.status, b.location, l.name AS location_name, b.service, s.name AS service_name,"
        " b.staff, st.name AS staff_name, b.customer, c.name AS customer_name, b.start_at, b.end_at,"
        " b.created_at, b.hold_expires_at, b.source, b.price, b.deposit_due, b.currency, b.notes_enc,"
        " b.cancel_reason FROM booking b JOIN location l ON l.id = b.location"
        " JOIN service s ON s.id = b.service LEFT JOIN staff st ON st.id = b.staff"
        " LEFT JOIN customer c ON c.id = b.customer WHERE b.id = ?",
        booking_id,
    )
    if not rows or (only_staff is not None and rows[0]["staff"] != only_staff):
        raise NotFound("booking", booking_id)
    r = rows[0]
    zone = await location_zone(ctx.db, int(r["location"]))
    names = {
        int(x["id"]): str(x["name"]) for x in await ctx.db.fetch("SELECT id, name FROM staff ORDER BY id")
    }
    changes = await ctx.db.fetch(
        "SELECT at, actor, action, old_start, new_start, old_staff, new_staff FROM booking_change"
        " WHERE booking = ? ORDER BY id",
        booking_id,
    )

    def local(value: Any) -> datetime | None:
        return None if value is None else as_utc(value).astimezone(zone)

    def staff_name(value: Any) -> str | None:
        return None if value is None else names.get(int(str(value)), str(value))

    history = [
        Change(
            at=as_utc(c["at"]).astimezone(zone),
            actor=str(c["actor"]),
            action=str(c["action"]),
            old_start=local(c["old_start"]),
            new_start=local(c["new_start"]),
            old_staff=staff_name(c["old_staff"]),
            new_staff=staff_name(c["new_staff"]),
        )
        for c in changes
    ]
    return Detail(
        id=int(r["id"]),
        status=str(r["status"]),
        zone=zone,
        location_id=int(r["location"]),
        location=str(r["location_name"]),
        service_id=int(r["service"]),
        service=str(r["service_name"]),
        staff_id=int(r["staff"]) if r["staff"] is not None else None,
        staff=r["staff_name"],
        customer_id=int(r["customer"]) if r["customer"] is not None else None,
        customer=r["customer_name"],
        start=as_utc(r["start_at"]).astimezone(zone),
        end=as_utc(r["end_at"]).astimezone(zone),
        created_at=as_utc(r["created_at"]).astimezone(zone),
        hold_expires_at=local(r["hold_expires_at"]),
        source=str(r["source"]),
        price=money(r["price"]),
        deposit_due=money(r["deposit_due"]),
        currency=str(r["currency"]),
        notes=ctx.cipher.decrypt(r["notes_enc"], "booking.notes"),
        cancel_reason=r["cancel_reason"],
        history=history,
    )
