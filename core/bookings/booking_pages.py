"""The public booking page: service -> (location) -> staff -> day -> time -> details -> confirmation.

The steps are GET pages addressed by the choices so far (ids, a day, a start; see booking_page_flow);
only the details form is a POST, carrying the person in its body. It books through BookingService
like the JSON API, then redirects to a confirmation addressed by the booking's signed token, so a
reload never books twice and no address ever holds a name, a phone number or an e-mail address.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from core.access.permissions import PUBLIC
from core.audit.records import Actor, set_actor
from core.bookings.booking_page_data import (
    alternatives_from,
    day_choices,
    ever_offered,
    locations_of,
    nearest_free,
    services_by_category,
    staff_choices,
    time_choices,
)
from core.bookings.booking_page_flow import Flow, Resolved, parse_start, resolve, staff_names
from core.bookings.booking_page_form import BookingForm, check_details, new_attempt
from core.bookings.links import BadLink, self_service_token, signer
from core.bookings.service import (
    BOOKING_COLUMNS,
    BookingService,
    NewBooking,
    RequestRepeated,
    SlotTaken,
    snapshot,
)
from core.bookings.snapshot import BookingSnapshot
from core.context import AppContext
from core.customers.consent import record_consent
from core.customers.service import NewCustomer, match
from core.errors import Conflict, FieldError, NotFound, Vetoed
from core.scheduling.loader import location_zone
from core.web.auth import context_of
from core.web.pages import PAGE_FORM, gettext_for, page, page_language
from core.web.params import PathId

TEMPLATES = {
    "service": "booking/start.html",
    "location": "booking/location.html",
    "staff": "booking/staff.html",
    "day": "booking/day.html",
    "time": "booking/time.html",
    "details": "booking/details.html",
}


def _policy(ctx: AppContext) -> dict[str, Any]:
    """The cancellation rule the details step states before anything is booked."""
    return {
        "cutoff_hours": ctx.settings.bookings.cancel_cutoff_hours,
        "late_deposit": ctx.settings.bookings.late_cancel_deposit,
        "hold_minutes": ctx.settings.bookings.deposit_hold_minutes,
    }


async def _render(
    request: Request[Any, Any, Any],
    resolved: Resolved,
    status: int | None = None,
    form: BookingForm | None = None,
    alternatives: list[datetime] | None = None,
    notice: str = "",
) -> Template:
    """The page of the resolved step with what it lists; 422 when a choice was refused."""
    ctx = context_of(request)
    flow, step = resolved.flow, resolved.step
    values: dict[str, Any] = {}
    if step == "service":
        values["groups"] = await services_by_category(ctx, flow.fixed_location)
    elif step == "location":
        assert flow.service is not None
        values["locations"] = await locations_of(ctx, flow.service.location_ids)
    elif step == "staff":
        values["members"] = await staff_choices(ctx, flow)
    elif step == "day":
        values["days"] = await day_choices(ctx, flow)
    elif step == "time":
        values["times"] = await time_choices(ctx, flow)
    else:
        values["policy"] = _policy(ctx)
        # Kept across the form's own corrections and retries, new for each fresh details page.
        values["attempt"] = form.attempt if form is not None and form.request_key() else new_attempt()
    code = status if status is not None else (422 if resolved.errors else 200)
    return page(
        request,
        TEMPLATES[step],
        status=code,
        flow=flow,
        step=step,
        errors=resolved.errors,
        form=form or BookingForm(),
        alternatives=alternatives,
        notice=notice,
        **values,
    )


async def _show(request: Request[Any, Any, Any], base: str, fixed: int | None) -> Template:
    ctx = context_of(request)
    _ = gettext_for(request)
    query = request.query_params
    raw = {key: query.get(key) for key in ("service", "location", "staff", "day", "start")}
    return await _render(request, await resolve(ctx, base, fixed, raw, _))


async def _booked_already(
    ctx: AppContext, customer: NewCustomer, service_id: int, start: datetime
) -> BookingSnapshot | None:
    """The same person's active booking of this service at this time: a second press of the button
    (without JavaScript nothing stops it) shows that booking again instead of booking a second
    staff member for "any"."""
    customer_id = await match(ctx, customer.phone_idx, customer.email_idx)
    if customer_id is None:
        return None
    rows = await ctx.db.fetch(
        f"SELECT {BOOKING_COLUMNS} FROM booking WHERE customer = ? AND service = ? AND start_at = ?"
        " AND status IN ('pending', 'confirmed')",
        customer_id, service_id, start,
    )  # fmt: skip
    return snapshot(rows[0]) if rows else None


async def _book(
    request: Request[Any, Any, Any], base: str, fixed: int | None, posted: BookingForm
) -> Template | Redirect:
    """Check everything, book, record the ticked consents, and show the booking by its token."""
    ctx = context_of(request)
    lang = page_language(request)
    _ = gettext_for(request, lang)
    form = posted.cleaned()
    raw = {"service": form.service, "location": form.location, "staff": form.staff, "day": form.day}
    resolved = await resolve(ctx, base, fixed, raw, _, check_start=False)
    flow = resolved.flow
    if resolved.step != "details":
        return await _render(request, resolved, form=form)
    assert flow.service is not None and flow.zone is not None and flow.location_id is not None
    start = parse_start(form.start, flow.zone)
    if start is None or start.date() != flow.day:
        resolved.errors["start"] = _("This time is not available. Please choose another time.")
        return await _render(request, resolved, form=form, alternatives=[])
    flow.start = start
    checked = check_details(ctx, form, lang, _)
    if checked.errors:
        resolved.errors.update(checked.errors)
        return await _render(request, resolved, form=form)
    assert checked.customer is not None
    again = await _booked_already(ctx, checked.customer, flow.service.id, start)
    if again is not None:
        return Redirect(f"/booking/{self_service_token(ctx, again)}", status_code=303)
    set_actor(Actor("customer_link", "booking-page"))
    hold = ctx.settings.bookings.deposit_hold_minutes if flow.service.deposit_due() != "0.00" else None
    try:
        booking = await BookingService(ctx).create(
            NewBooking(
                service_id=flow.service.id,
                start=start,
                staff_id=flow.staff_id,
                customer=checked.customer,
                location_id=flow.location_id,
                source="web",
                hold_minutes=hold,
                notes=checked.notes,
                request_key=form.request_key(),
            )
        )
    except RequestRepeated as repeated:  # two presses at once: the other one booked
        return Redirect(f"/booking/{self_service_token(ctx, repeated.booking)}", status_code=303)
    except SlotTaken as err:
        again = await _booked_already(ctx, checked.customer, flow.service.id, start)
        if again is not None:  # the other press won the race
            return Redirect(f"/booking/{self_service_token(ctx, again)}", status_code=303)
        if await ever_offered(ctx, flow, start):
            taken = alternatives_from(err.extra, flow.zone, flow) or await nearest_free(ctx, flow, start)
            notice = _("Sorry, this time was booked by someone else a moment ago.")
            return await _render(request, resolved, 409, form, taken, notice)
        resolved.errors["start"] = _("This time is not available. Please choose another time.")
        return await _render(request, resolved, form=form, alternatives=await nearest_free(ctx, flow, start))
    except Vetoed as err:
        resolved.errors[err.field or "booking"] = err.reason
        return await _render(request, resolved, form=form)
    except (FieldError, NotFound, Conflict):
        resolved.errors["booking"] = _("This booking could not be made. Please check your choices.")
        return await _render(request, resolved, form=form)
    now = datetime.now(UTC)
    for channel in form.consents():
        assert booking.customer_id is not None
        await record_consent(ctx, booking.customer_id, channel, True, "web", now)
    return Redirect(f"/booking/{self_service_token(ctx, booking)}", status_code=303)


class BookingPages(Controller):
    path = "/"
    include_in_schema = False
    opt = {**PUBLIC, **PAGE_FORM}

    @get("/")
    async def start(self, request: Request[Any, Any, Any]) -> Template:
        return await _show(request, "/", None)

    @get("/book/{location:int}")
    async def at_location(self, request: Request[Any, Any, Any], location: PathId) -> Template:
        return await _show(request, f"/book/{location}", location)

    @post("/", status_code=200)
    async def book(
        self, request: Request[Any, Any, Any], data: URLEncodedBody[BookingForm]
    ) -> Template | Redirect:
        return await _book(request, "/", None, data)

    @post("/book/{location:int}", status_code=200)
    async def book_at_location(
        self, request: Request[Any, Any, Any], location: PathId, data: URLEncodedBody[BookingForm]
    ) -> Template | Redirect:
        return await _book(request, f"/book/{location}", location, data)

    @get("/booking/{token:str}")
    async def confirmation(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Template:
        """The booking just made, by its signed token (the same one the self-service link carries)."""
        ctx = context_of(request)
        try:
            booking_id = signer(ctx).verify(token)
        except BadLink:
            raise NotFound("booking", "") from None
        booking = await BookingService(ctx).get(booking_id)
        rows = await ctx.db.fetch(
            "SELECT s.name AS service, l.name AS location, l.address FROM booking b"
            " JOIN service s ON s.id = b.service JOIN location l ON l.id = b.location WHERE b.id = ?",
            booking_id,
        )
        names = await staff_names(ctx, [booking.staff_id] if booking.staff_id else [])
        zone = await location_zone(ctx.db, booking.location_id)
        return page(
            request,
            "booking/confirmation.html",
            booking=booking,
            token=token,
            zone=zone,
            service=rows[0]["service"],
            location=rows[0]["location"],
            address=rows[0]["address"],
            staff=names.get(booking.staff_id or 0, ""),
            flow=Flow(base="/"),
        )
