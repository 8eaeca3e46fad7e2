"""Public scheduling API: the services on offer and their free slots."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.params import QueryParameter

from core.bookings.service import BookingService
from core.errors import FieldError
from core.scheduling.availability import from_minutes
from core.scheduling.loader import load_service
from core.web.auth import context_of
from core.web.params import MAX_ID, QueryId, in_calendar


class ServiceOut(msgspec.Struct):
    id: int
    name: str
    category: str
    duration: int  # minutes
    price: str
    currency: str
    deposit: str
    locations: list[int]


class SlotOut(msgspec.Struct):
    start: str  # ISO-8601 with the location's offset
    end: str
    staff: list[int]


class AvailabilityOut(msgspec.Struct):
    timezone: str
    slots: list[SlotOut]


Id = Annotated[int, QueryParameter(ge=1, le=MAX_ID)]
Day = Annotated[date, QueryParameter(description="YYYY-MM-DD, in the location's time zone")]


class PublicSchedulingController(Controller):
    path = "/api/v1"
    tags = ["booking"]
    opt = {"public": True}

    @get("/services", operation_id="list_services")
    async def services(self, request: Request[Any, Any, Any]) -> list[ServiceOut]:
        """Active services with their price, deposit and locations."""
        db = context_of(request).db
        rows = await db.fetch("SELECT id FROM service WHERE active = ? ORDER BY category, name", True)
        out = []
        for row in rows:
            info = await load_service(db, int(row["id"]))
            out.append(
                ServiceOut(
                    info.id,
                    info.name,
                    info.category,
                    info.rule.duration,
                    info.price,
                    info.currency,
                    info.deposit_due(),
                    list(info.location_ids),
                )
            )
        return out

    @get("/availability", operation_id="availability")
    async def availability(
        self,
        request: Request[Any, Any, Any],
        service: Id,
        from_: Annotated[date, QueryParameter(name="from", description="first day, YYYY-MM-DD")],
        to: Annotated[date, QueryParameter(description="last day, YYYY-MM-DD")],
        staff: QueryId = None,
        location: QueryId = None,
    ) -> AvailabilityOut:
        """Free slots of a service between two local dates, for one staff member or anyone."""
        ctx = context_of(request)
        in_calendar("from", from_)
        in_calendar("to", to)
        if to < from_:
            raise FieldError("to", "must not be before from")
        if (to - from_).days + 1 > ctx.settings.bookings.max_query_days:
            raise FieldError("to", f"at most {ctx.settings.bookings.max_query_days} days per query")
        bookings = BookingService(ctx)
        info = await load_service(ctx.db, service)
        location_id = bookings.location_for(info, location)
        zone, slots = await bookings.slots(info, location_id, from_, to, staff)
        return AvailabilityOut(
            timezone=zone.key,
            slots=[
                SlotOut(
                    from_minutes(s.start).astimezone(zone).isoformat(),
                    from_minutes(s.end).astimezone(zone).isoformat(),
                    list(s.staff),
                )
                for s in slots
            ],
        )
