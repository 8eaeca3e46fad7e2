"""Booking API: public booking, the customer's self-service link, and admin queries and transitions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from core.access.permissions import Permission, requires
from core.audit.records import Actor, set_actor
from core.bookings import policy, waitlist
from core.bookings.links import BadLink, self_service_url, signer
from core.bookings.service import BOOKING_COLUMNS, BookingService, NewBooking, snapshot
from core.bookings.snapshot import BookingSnapshot
from core.context import AppContext
from core.customers.service import find_or_create, new_customer
from core.errors import Conflict, FieldError, NotFound
from core.scheduling.loader import load_service, location_zone
from core.web.auth import context_of, principal_of
from core.web.params import BodyId, PathId, QueryId, in_calendar

# No NUL characters: PostgreSQL cannot store them in text.
Text200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern="^[^\x00]*$")]
Notes = Annotated[str, msgspec.Meta(max_length=2000, pattern="^[^\x00]*$")]


class CustomerIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Text200
    phone: Annotated[str, msgspec.Meta(max_length=40, pattern="^[^\x00]*$")] | None = None
    email: Annotated[str, msgspec.Meta(max_length=254, pattern="^[^\x00]*$")] | None = None
    language: Literal["tr", "en"] | None = None


class BookingIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    service: BodyId
    start: datetime
    staff: BodyId | None = None
    location: BodyId | None = None
    customer: CustomerIn
    notes: Notes | None = None


class StaffBookingIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    service: BodyId
    start: datetime
    staff: BodyId | None = None
    location: BodyId | None = None
    customer: CustomerIn | None = None
    customer_id: BodyId | None = None
    notes: Notes | None = None
    # Minutes to hold the slot as pending (e.g. waiting for a deposit); absent: confirmed at once.
    hold_minutes: Annotated[int, msgspec.Meta(ge=1, le=7 * 24 * 60)] | None = None


class VisitPartIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    service: BodyId
    staff: BodyId | None = None


class VisitIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    services: Annotated[list[VisitPartIn], msgspec.Meta(min_length=1, max_length=6)]
    start: datetime
    location: BodyId | None = None
    customer: CustomerIn
    notes: Notes | None = None


class RepeatIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    every: Annotated[int, msgspec.Meta(ge=1, le=52)]
    unit: Literal["days", "weeks"]
    count: Annotated[int, msgspec.Meta(ge=1, le=104)] | None = None
    until: date | None = None


class SeriesIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    service: BodyId
    start: datetime
    staff: BodyId | None = None
    location: BodyId | None = None
    customer_id: BodyId
    repeat: RepeatIn
    # Book the free occurrences and report the rest, instead of booking nothing.
    skip_conflicts: bool = False


HHMM = Annotated[str, msgspec.Meta(pattern="^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class WaitlistIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    service: BodyId
    day: date
    # The time window the customer could come in, local time.
    from_: HHMM = msgspec.field(name="from")
    to: HHMM
    staff: BodyId | None = None
    location: BodyId | None = None
    customer: CustomerIn


class WaitlistOut(msgspec.Struct):
    id: int
    service: int
    day: date
    window_start: str
    window_end: str
    status: str
    booking: int | None = None


class BookingOut(msgspec.Struct):
    id: int
    status: str
    service: int
    location: int
    start: str  # ISO-8601 with the location's offset
    end: str
    staff: int | None
    customer: int | None
    price: str
    currency: str
    deposit_due: str
    hold_expires_at: str | None = None
    self_service_url: str | None = None


class CancelIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Annotated[str, msgspec.Meta(max_length=500, pattern="^[^\x00]*$")] | None = None


class RescheduleIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    start: datetime
    staff: BodyId | None = None


class SeriesOut(msgspec.Struct):
    bookings: list[BookingOut]
    conflicts: list[dict[str, Any]]


class CancelOut(msgspec.Struct):
    booking: BookingOut
    # What the cancellation policy does with the deposit: "refund" or "keep"; "none" (no deposit) or
    # "unpaid" (still held waiting for it: nothing was paid).
    deposit: str


async def booking_out(ctx: AppContext, booking: BookingSnapshot, with_link: bool = False) -> BookingOut:
    zone = await location_zone(ctx.db, booking.location_id)
    return BookingOut(
        id=booking.id,
        status=booking.status,
        service=booking.service_ids[0],
        location=booking.location_id,
        start=booking.start.astimezone(zone).isoformat(),
        end=booking.end.astimezone(zone).isoformat(),
        staff=booking.staff_id,
        customer=booking.customer_id,
        price=booking.price,
        currency=booking.currency,
        deposit_due=booking.deposit_due,
        hold_expires_at=(
            booking.hold_expires_at.astimezone(UTC).isoformat() if booking.hold_expires_at else None
        ),
        self_service_url=self_service_url(ctx, booking) if with_link else None,
    )


class PublicBookingController(Controller):
    path = "/api/v1"
    tags = ["booking"]
    opt = {"public": True}

    @post("/bookings", operation_id="create_booking", status_code=201)
    async def create(self, request: Request[Any, Any, Any], data: JSONBody[BookingIn]) -> BookingOut:
        """Book a free slot. 409 with alternatives when it was taken; 422 names the invalid field.

        A service with a deposit is held as pending until the deposit is paid or the hold expires.
        """
        ctx = context_of(request)
        set_actor(Actor("customer_link", "booking-page"))
        customer = new_customer(
            ctx, data.customer.name, data.customer.phone, data.customer.email, "web", data.customer.language
        )
        service = BookingService(ctx)
        info = await load_service(ctx.db, data.service)
        hold = ctx.settings.bookings.deposit_hold_minutes if info.deposit_due() != "0.00" else None
        booking = await service.create(
            NewBooking(
                service_id=data.service,
                start=data.start,
                staff_id=data.staff,
                customer=customer,
                location_id=data.location,
                source="web",
                hold_minutes=hold,
                notes=data.notes,
            )
        )
        return await booking_out(ctx, booking, with_link=True)

    @post("/visits", operation_id="create_visit", status_code=201)
    async def create_visit(
        self, request: Request[Any, Any, Any], data: JSONBody[VisitIn]
    ) -> list[BookingOut]:
        """Book several services back to back in one visit (each may have its own staff member)."""
        ctx = context_of(request)
        set_actor(Actor("customer_link", "booking-page"))
        customer = new_customer(
            ctx, data.customer.name, data.customer.phone, data.customer.email, "web", data.customer.language
        )
        booked = await BookingService(ctx).create_visit(
            [(part.service, part.staff) for part in data.services],
            NewBooking(
                service_id=data.services[0].service,
                start=data.start,
                customer=customer,
                location_id=data.location,
                source="web",
                notes=data.notes,
            ),
        )
        return [await booking_out(ctx, b, with_link=True) for b in booked]

    @post("/waitlist", operation_id="join_waitlist", status_code=201)
    async def join_waitlist(self, request: Request[Any, Any, Any], data: JSONBody[WaitlistIn]) -> WaitlistOut:
        """Wait for a slot on a day and time window; a freed slot is offered first come, first served."""
        ctx = context_of(request)
        set_actor(Actor("customer_link", "booking-page"))
        customer = new_customer(
            ctx, data.customer.name, data.customer.phone, data.customer.email, "web", data.customer.language
        )
        async with ctx.db.transaction():
            entry = await waitlist.join(
                ctx,
                data.service,
                await find_or_create(ctx, customer),
                data.day,
                data.from_,
                data.to,
                data.staff,
                data.location,
            )
        return WaitlistOut(entry, data.service, data.day, data.from_, data.to, "waiting")

    # ---------------------------------------------------------------------------------------------
    async def _from_link(
        self, request: Request[Any, Any, Any], token: str
    ) -> tuple[AppContext, BookingSnapshot]:
        ctx = context_of(request)
        try:
            booking_id = signer(ctx).verify(token)
        except BadLink as err:
            raise NotFound("link", str(err)) from None
        set_actor(Actor("customer_link", str(booking_id)))
        return ctx, await BookingService(ctx).get(booking_id)

    def _before_cutoff(self, ctx: AppContext, booking: BookingSnapshot) -> bool:
        return ctx.clock.now() < policy.cutoff(booking, ctx.settings.bookings.cancel_cutoff_hours)

    @get("/self/{token:str}", operation_id="self_service_view")
    async def view(self, request: Request[Any, Any, Any], token: FromPath[str]) -> BookingOut:
        """The booking a self-service link points to."""
        ctx, booking = await self._from_link(request, token)
        return await booking_out(ctx, booking)

    @post("/self/{token:str}/confirm", operation_id="self_service_confirm", status_code=200)
    async def confirm_offer(self, request: Request[Any, Any, Any], token: FromPath[str]) -> BookingOut:
        """Accept a waitlist offer (a booking waiting for a deposit is confirmed by its payment)."""
        ctx, booking = await self._from_link(request, token)
        if not await waitlist.is_offer(ctx, booking.id):
            raise Conflict("only a waitlist offer can be accepted through the link")
        return await booking_out(ctx, await BookingService(ctx).confirm(booking.id), with_link=True)

    @post("/self/{token:str}/cancel", operation_id="self_service_cancel", status_code=200)
    async def cancel(
        self, request: Request[Any, Any, Any], token: FromPath[str], data: JSONBody[CancelIn | None] = None
    ) -> CancelOut:
        """Cancel through the link; after the cut-off the policy decides what happens to a deposit."""
        ctx, booking = await self._from_link(request, token)
        rules = ctx.settings.bookings
        deposit = policy.deposit_outcome(
            booking, ctx.clock.now(), rules.cancel_cutoff_hours, rules.late_cancel_deposit
        )
        reason = (data.reason if data else None) or "cancelled by the customer"
        cancelled = await BookingService(ctx).cancel(booking.id, reason)
        return CancelOut(await booking_out(ctx, cancelled), deposit)

    @post("/self/{token:str}/reschedule", operation_id="self_service_reschedule", status_code=200)
    async def reschedule(
        self, request: Request[Any, Any, Any], token: FromPath[str], data: JSONBody[RescheduleIn]
    ) -> BookingOut:
        """Move the booking to another free slot, until the cut-off."""
        ctx, booking = await self._from_link(request, token)
        if not self._before_cutoff(ctx, booking):
            hours = ctx.settings.bookings.cancel_cutoff_hours
            raise Conflict(
                f"changes through the link close {hours} hours before the appointment; please call"
            )
        moved = await BookingService(ctx).reschedule(booking.id, data.start, data.staff)
        return await booking_out(ctx, moved, with_link=True)


Status = Literal["pending", "confirmed", "completed", "no_show", "cancelled"]


class AdminBookingController(Controller):
    path = "/api/v1/admin/bookings"
    tags = ["admin", "booking"]

    @get("/", operation_id="admin_list_bookings", opt=requires(Permission.BOOKINGS_READ))
    async def list_bookings(
        self,
        request: Request[Any, Any, Any],
        from_: Annotated[date, QueryParameter(name="from", description="first local day")],
        to: Annotated[date | None, QueryParameter(description="last local day (default: from)")] = None,
        staff: QueryId = None,
        resource: QueryId = None,
        status: Annotated[Status | None, QueryParameter()] = None,
        location: QueryId = None,
    ) -> list[BookingOut]:
        """Bookings starting on the given local days (a day, a week...), filtered. A staff account
        sees only its own bookings."""
        ctx = context_of(request)
        own = principal_of(request).scoped_staff
        if own is not None:
            staff = own
        in_calendar("from", from_)
        last = in_calendar("to", to) if to is not None else from_
        if last < from_:
            raise FieldError("to", "must not be before from")
        if (last - from_).days > 92:
            raise FieldError("to", "at most 93 days per query")
        location_id = location or await ctx.db.fetchval("SELECT MIN(id) FROM location")
        if location_id is None:
            return []
        zone = await location_zone(ctx.db, int(location_id))
        start = datetime.combine(from_, time(0), tzinfo=zone).astimezone(UTC)
        end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        where = ["b.location = ?", "b.start_at >= ?", "b.start_at < ?"]
        args: list[Any] = [location_id, start, end]
        if staff is not None:
            where.append("b.staff = ?")
            args.append(staff)
        if status is not None:
            where.append("b.status = ?")
            args.append(status)
        if resource is not None:
            where.append(
                "EXISTS (SELECT 1 FROM occupancy o WHERE o.booking = b.id"
                " AND o.owner_kind = 'resource' AND o.owner_id = ?)"
            )
            args.append(resource)
        columns = ", ".join(f"b.{c.strip()}" for c in BOOKING_COLUMNS.split(","))
        rows = await ctx.db.fetch(
            f"SELECT {columns} FROM booking b WHERE {' AND '.join(where)} ORDER BY b.start_at, b.id", *args
        )
        return [await booking_out(ctx, snapshot(r)) for r in rows]

    @post("/", operation_id="admin_create_booking", opt=requires(Permission.BOOKINGS_WRITE), status_code=201)
    async def create(self, request: Request[Any, Any, Any], data: JSONBody[StaffBookingIn]) -> BookingOut:
        """Book for a caller: an existing customer by id, or a new one (matched by phone or e-mail)."""
        ctx = context_of(request)
        if data.customer_id is None and data.customer is None:
            raise FieldError("customer", "give customer_id or customer")
        customer_id = data.customer_id
        customer = None
        if customer_id is None and data.customer is not None:
            customer = new_customer(
                ctx,
                data.customer.name,
                data.customer.phone,
                data.customer.email,
                "staff",
                data.customer.language,
            )
        elif await ctx.db.fetchval("SELECT id FROM customer WHERE id = ?", customer_id) is None:
            raise FieldError("customer_id", "no such customer")
        booking = await BookingService(ctx).create(
            NewBooking(
                service_id=data.service,
                start=data.start,
                staff_id=data.staff,
                customer_id=customer_id,
                customer=customer,
                location_id=data.location,
                source="staff",
                hold_minutes=data.hold_minutes,
                notes=data.notes,
            )
        )
        return await booking_out(ctx, booking, with_link=True)

    @post(
        "/series",
        operation_id="admin_create_series",
        opt=requires(Permission.BOOKINGS_WRITE),
        status_code=201,
    )
    async def create_series(self, request: Request[Any, Any, Any], data: JSONBody[SeriesIn]) -> SeriesOut:
        """A recurring series (e.g. every 2 weeks x 6); 409 lists each conflicting occurrence."""
        ctx = context_of(request)
        if await ctx.db.fetchval("SELECT id FROM customer WHERE id = ?", data.customer_id) is None:
            raise FieldError("customer_id", "no such customer")
        booked, conflicts = await BookingService(ctx).create_series(
            NewBooking(
                service_id=data.service,
                start=data.start,
                staff_id=data.staff,
                customer_id=data.customer_id,
                location_id=data.location,
                source="staff",
            ),
            data.repeat.every,
            data.repeat.unit,
            data.repeat.count,
            data.repeat.until,
            data.skip_conflicts,
        )
        return SeriesOut([await booking_out(ctx, b) for b in booked], conflicts)

    @get("/waitlist", operation_id="admin_waitlist", opt=requires(Permission.BOOKINGS_READ))
    async def waitlist_of_day(
        self,
        request: Request[Any, Any, Any],
        day: Annotated[date, QueryParameter(description="local day")],
        location: QueryId = None,
    ) -> list[WaitlistOut]:
        """Who is waiting for that day, in the order offers will be made (not for staff accounts:
        the list is per service, not per person, and holds other staff's customers)."""
        ctx = context_of(request)
        in_calendar("day", day)
        if principal_of(request).scoped_staff is not None:
            return []
        location_id = location or await ctx.db.fetchval("SELECT MIN(id) FROM location")
        if location_id is None:
            return []
        return [
            WaitlistOut(
                int(r["id"]),
                int(r["service"]),
                day,
                r["window_start"],
                r["window_end"],
                r["status"],
                int(r["booking"]) if r["booking"] is not None else None,
            )
            for r in await waitlist.entries(ctx, day, int(location_id))
        ]

    @get("/{booking_id:int}", operation_id="admin_get_booking", opt=requires(Permission.BOOKINGS_READ))
    async def get_one(self, request: Request[Any, Any, Any], booking_id: PathId) -> BookingOut:
        ctx = context_of(request)
        booking = await BookingService(ctx).get(booking_id)
        own = principal_of(request).scoped_staff
        if own is not None and booking.staff_id != own:
            raise NotFound("booking", booking_id)  # as if it did not exist: no probing other calendars
        return await booking_out(ctx, booking, with_link=True)

    @post(
        "/{booking_id:int}/confirm",
        operation_id="admin_confirm_booking",
        opt=requires(Permission.BOOKINGS_WRITE),
        status_code=200,
    )
    async def confirm(self, request: Request[Any, Any, Any], booking_id: PathId) -> BookingOut:
        ctx = context_of(request)
        return await booking_out(ctx, await BookingService(ctx).confirm(booking_id))

    @post(
        "/{booking_id:int}/cancel",
        operation_id="admin_cancel_booking",
        opt=requires(Permission.BOOKINGS_WRITE),
        status_code=200,
    )
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        booking_id: PathId,
        data: JSONBody[CancelIn | None] = None,
    ) -> BookingOut:
        ctx = context_of(request)
        cancelled = await BookingService(ctx).cancel(booking_id, (data.reason if data else None))
        return await booking_out(ctx, cancelled)

    @post(
        "/{booking_id:int}/complete",
        operation_id="admin_complete_booking",
        opt=requires(Permission.BOOKINGS_WRITE),
        status_code=200,
    )
    async def complete(self, request: Request[Any, Any, Any], booking_id: PathId) -> BookingOut:
        ctx = context_of(request)
        return await booking_out(ctx, await BookingService(ctx).complete(booking_id))

    @post(
        "/{booking_id:int}/no-show",
        operation_id="admin_no_show_booking",
        opt=requires(Permission.BOOKINGS_WRITE),
        status_code=200,
    )
    async def no_show(self, request: Request[Any, Any, Any], booking_id: PathId) -> BookingOut:
        ctx = context_of(request)
        return await booking_out(ctx, await BookingService(ctx).no_show(booking_id))

    @post(
        "/{booking_id:int}/reschedule",
        operation_id="admin_reschedule_booking",
        opt=requires(Permission.BOOKINGS_WRITE),
        status_code=200,
    )
    async def reschedule(
        self, request: Request[Any, Any, Any], booking_id: PathId, data: JSONBody[RescheduleIn]
    ) -> BookingOut:
        ctx = context_of(request)
        return await booking_out(
            ctx, await BookingService(ctx).reschedule(booking_id, data.start, data.staff)
        )
