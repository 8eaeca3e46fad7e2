"""The admin calendar: day and week by staff and by resource, phone bookings and transitions.

Every change is a plain POST form (CSRF token in the body) that calls the booking service and then
redirects back to the booking (POST-redirect-GET); a refusal re-renders the same page with the
reason, 409 or 422. Names and phone numbers travel only in POST bodies, never in a URL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from core.access.permissions import Permission, requires
from core.admin import calendar_view
from core.admin.booking_detail import Detail, load_detail
from core.admin.booking_forms import (
    MAX_HOLD_MINUTES,
    MAX_NOTES,
    MAX_REASON,
    Gettext,
    Problems,
    a_moment,
    a_time,
    an_id,
    field_message,
    local_moment,
    location_services,
    same_name_cards,
    service_staff,
    text,
)
from core.bookings.service import BookingService, NewBooking, SlotTaken
from core.context import AppContext
from core.customers.card import Card
from core.customers.search import search
from core.customers.service import match, new_customer
from core.errors import Conflict, FieldError, NotFound, Vetoed
from core.scheduling.availability import from_minutes
from core.scheduling.loader import ServiceInfo, load_service
from core.web.auth import context_of, principal_of
from core.web.pages import PAGE_FORM, gettext_for, page
from core.web.params import PathId, form_day

READ = {**requires(Permission.BOOKINGS_READ), **PAGE_FORM}
WRITE = {**requires(Permission.BOOKINGS_WRITE), **PAGE_FORM}
ACTIONS = ("confirm", "complete", "no_show", "cancel", "reschedule")


def status_words(_: Gettext) -> dict[str, str]:
    """A booking's status in words (the colour of a cell is never the only sign of it)."""
    return {
        "pending": _("Pending"),
        "confirmed": _("Confirmed"),
        "completed": _("Completed"),
        "no_show": _("No-show"),
        "cancelled": _("Cancelled"),
    }


def notices(_: Gettext) -> dict[str, str]:
    """What a redirect back to the booking says happened (the code travels in the URL, not the text)."""
    return {
        "booked": _("The booking is made."),
        "matched": _(
            "The phone number or e-mail address belongs to an existing customer: the booking is on"
            " that customer's card."
        ),
        "confirm": _("The booking is confirmed."),
        "cancel": _("The booking is cancelled."),
        "complete": _("The booking is marked as completed."),
        "no_show": _("The booking is marked as a no-show."),
        "reschedule": _("The booking is moved."),
    }


def refusal(detail: Detail, action: str, _: Gettext) -> str:
    """Why a transition is not possible now, in words the front desk can act on."""
    status = status_words(_).get(detail.status, detail.status)
    if action in ("complete", "no_show") and detail.can(action) and not detail.started:
        if action == "complete":
            return _("A booking that has not started yet cannot be marked as completed.")
        return _("A booking that has not started yet cannot be marked as a no-show.")
    messages = {
        "confirm": _("Only a pending booking can be confirmed; this booking is: %(status)s."),
        "complete": _("Only a confirmed booking can be marked as completed; this booking is: %(status)s."),
        "no_show": _("Only a confirmed booking can be marked as a no-show; this booking is: %(status)s."),
        "cancel": _("Only a pending or confirmed booking can be cancelled; this booking is: %(status)s."),
        "reschedule": _("Only a pending or confirmed booking can be moved; this booking is: %(status)s."),
    }
    return messages[action] % {"status": status}


def _local_slots(found: list[Any], zone: Any) -> list[dict[str, Any]]:
    return [{"start": from_minutes(s.start).astimezone(zone), "staff": list(s.staff)} for s in found]


def _alternatives(err: Conflict) -> list[dict[str, Any]]:
    out = []
    found = err.extra.get("alternatives")
    for alt in found if isinstance(found, list) else []:
        moment = a_moment(alt.get("start")) if isinstance(alt, dict) else None
        if moment is not None:
            out.append({"start": moment, "staff": list(alt.get("staff", []))})
    return out


class CalendarPages(Controller):
    path = "/admin"
    include_in_schema = False

    # ---------------------------------------------------------------------------------------------
    # The calendar

    @get("/", opt=READ)
    async def home(self, request: Request[Any, Any, Any]) -> Template:
        return await self._calendar(request)

    @get("/calendar", opt=READ)
    async def calendar(self, request: Request[Any, Any, Any]) -> Template:
        return await self._calendar(request)

    async def _calendar(self, request: Request[Any, Any, Any]) -> Template:
        ctx = context_of(request)
        _ = gettext_for(request)
        query = request.query_params
        view: calendar_view.View = "week" if query.get("view") == "week" else "day"
        by: calendar_view.By = "resource" if query.get("by") == "resource" else "staff"
        problems = Problems()
        day = None
        if query.get("date"):
            day = form_day(query.get("date"))
            if day is None:
                problems.add("date", _("Enter a date as YYYY-MM-DD, e.g. 2030-01-07."))
        own = principal_of(request).scoped_staff
        shown = await calendar_view.build(ctx, an_id(query.get("location")), day, view, by, own)
        values: dict[str, Any] = {
            "calendar": shown,
            "view": view,
            "by": by,
            "problems": problems.fields,
            "entered_date": query.get("date", ""),
            "status_words": status_words(_),
            "nav": {},
        }
        if shown is not None:
            current = shown.days[0] if view == "day" else (day or datetime.now(shown.location.zone).date())
            step = timedelta(days=1 if view == "day" else 7)

            def link(target: date, **changes: str) -> str:
                params = {
                    "view": view,
                    "by": by,
                    "location": str(shown.location.id),
                    "date": target.isoformat(),
                }
                params.update(changes)
                return f"/admin/calendar?{urlencode(params)}"

            today = datetime.now(shown.location.zone).date()
            values["current"] = current
            values["today"] = today
            values["nav"] = {
                "previous": link(current - step),
                "next": link(current + step),
                "today": link(today),
                "day": link(current, view="day"),
                "week": link(current, view="week"),
                "staff": link(current, by="staff"),
                "resource": link(current, by="resource"),
            }
        return page(request, "admin/calendar.html", status=422 if problems else 200, **values)

    # ---------------------------------------------------------------------------------------------
    # One booking and its transitions

    @get("/bookings/{booking_id:int}", opt=READ)
    async def booking(self, request: Request[Any, Any, Any], booking_id: PathId) -> Template:
        ctx = context_of(request)
        detail = await load_detail(ctx, booking_id, principal_of(request).scoped_staff)
        query = request.query_params
        _ = gettext_for(request)
        notice = notices(_).get(query.get("notice", ""), "")
        problems = Problems()
        slots: list[dict[str, Any]] | None = None
        day = form_day(query.get("day")) if query.get("day") else None
        staff = an_id(query.get("staff"))
        if query.get("day") and day is None:
            problems.add("slot_day", _("Enter a date as YYYY-MM-DD, e.g. 2030-01-07."))
        if (
            day is not None
            and detail.can("reschedule")
            and principal_of(request).can(Permission.BOOKINGS_WRITE)
        ):
            slots = await self._reschedule_slots(ctx, detail, day, staff, problems, _)
        return await self._detail_page(
            request, detail, notice=notice, problems=problems, slots=slots, slot_day=day, slot_staff=staff
        )

    async def _reschedule_slots(
        self, ctx: AppContext, detail: Detail, day: date, staff: int | None, problems: Problems, _: Gettext
    ) -> list[dict[str, Any]]:
        try:
            info = await load_service(ctx.db, detail.service_id)
            zone, found = await BookingService(ctx).slots(
                info, detail.location_id, day, day, staff, exclude_booking=detail.id
            )
        except FieldError as err:
            problems.add(*field_message(err, _))
            return []
        except NotFound:
            problems.add("slot_day", _("This service is no longer offered."))
            return []
        return _local_slots(found, zone)

    async def _detail_page(
        self,
        request: Request[Any, Any, Any],
        detail: Detail,
        *,
        status: int = 200,
        notice: str = "",
        problems: Problems | None = None,
        slots: list[dict[str, Any]] | None = None,
        slot_day: date | None = None,
        slot_staff: int | None = None,
        entered: dict[str, str] | None = None,
        alternatives: list[dict[str, Any]] | None = None,
    ) -> Template:
        ctx = context_of(request)
        _ = gettext_for(request)
        staff: list[dict[str, Any]] = []
        try:
            info = await load_service(ctx.db, detail.service_id)
            staff = await service_staff(ctx, info, detail.location_id)
        except NotFound:
            pass
        return page(
            request,
            "admin/booking.html",
            status=status,
            booking=detail,
            notice=notice,
            problems=(problems or Problems()).fields,
            slots=slots,
            slot_day=slot_day or detail.start.date(),
            slot_staff=slot_staff,
            staff_choices=staff,
            entered=entered or {},
            alternatives=alternatives or [],
            status_words=status_words(_),
            may_write=principal_of(request).can(Permission.BOOKINGS_WRITE),
        )

    async def _transition(
        self, request: Request[Any, Any, Any], booking_id: int, action: str
    ) -> Response[Any]:
        ctx = context_of(request)
        _ = gettext_for(request)
        form = await request.form()
        detail = await load_detail(ctx, booking_id)
        service = BookingService(ctx)
        problems = Problems()
        entered = {k: text(form, k, MAX_REASON + 1) for k in ("reason", "day", "time", "staff", "start")}
        status = 422
        alternatives: list[dict[str, Any]] = []
        try:
            if action == "confirm":
                await service.confirm(booking_id)
            elif action == "complete":
                await service.complete(booking_id)
            elif action == "no_show":
                await service.no_show(booking_id)
            elif action == "cancel":
                reason = entered["reason"]
                if len(reason) > MAX_REASON:
                    raise FieldError("reason", "too long")
                await service.cancel(booking_id, reason or None)
            else:
                await service.reschedule(booking_id, self._new_start(entered, detail, problems, _),
                                         an_id(entered["staff"]))  # fmt: skip
        except _Invalid:
            pass
        except SlotTaken as err:
            status = 409
            problems.add(
                "time", _("This time is not free. Choose another time or one of the free times below.")
            )
            alternatives = _alternatives(err)
        except Conflict:
            status = 409
            detail = await load_detail(ctx, booking_id)
            problems.add("action", refusal(detail, action, _))
        except Vetoed as err:
            problems.add(err.field or "action", err.reason)
        except FieldError as err:
            if err.field == "reason":
                problems.add("reason", _("The reason can be at most 500 characters long."))
            else:
                problems.add(*field_message(err, _))
        else:
            return Redirect(f"/admin/bookings/{booking_id}?notice={action}", status_code=303)
        return await self._detail_page(
            request, detail, status=status, problems=problems, entered=entered, alternatives=alternatives
        )

    def _new_start(self, entered: dict[str, str], detail: Detail, problems: Problems, _: Gettext) -> datetime:
        """The new start from a chosen slot, or from the date and time typed in (local time)."""
        if entered["start"]:
            moment = a_moment(entered["start"])
            if moment is not None:
                return moment
        day = form_day(entered["day"])
        clock = a_time(entered["time"])
        if day is None:
            problems.add("day", _("Enter a date as YYYY-MM-DD, e.g. 2030-01-07."))
        if clock is None:
            problems.add("time", _("Enter a time as HH:MM, e.g. 14:30."))
        if day is None or clock is None:
            raise _Invalid
        return local_moment(day, clock, detail.zone)

    @post("/bookings/{booking_id:int}/confirm", opt=WRITE)
    async def confirm(self, request: Request[Any, Any, Any], booking_id: PathId) -> Response[Any]:
        return await self._transition(request, booking_id, "confirm")

    @post("/bookings/{booking_id:int}/complete", opt=WRITE)
    async def complete(self, request: Request[Any, Any, Any], booking_id: PathId) -> Response[Any]:
        return await self._transition(request, booking_id, "complete")

    @post("/bookings/{booking_id:int}/no-show", opt=WRITE)
    async def no_show(self, request: Request[Any, Any, Any], booking_id: PathId) -> Response[Any]:
        return await self._transition(request, booking_id, "no_show")

    @post("/bookings/{booking_id:int}/cancel", opt=WRITE)
    async def cancel(self, request: Request[Any, Any, Any], booking_id: PathId) -> Response[Any]:
        return await self._transition(request, booking_id, "cancel")

    @post("/bookings/{booking_id:int}/reschedule", opt=WRITE)
    async def reschedule(self, request: Request[Any, Any, Any], booking_id: PathId) -> Response[Any]:
        return await self._transition(request, booking_id, "reschedule")

    # ---------------------------------------------------------------------------------------------
    # A booking taken on the phone

    @get("/bookings/new", opt=WRITE)
    async def new_booking(self, request: Request[Any, Any, Any]) -> Template:
        return await self._new_page(request, dict(request.query_params))

    @post("/bookings/new/search", opt=WRITE)
    async def search_customer(self, request: Request[Any, Any, Any]) -> Template:
        """Find the caller's card; the search words (personal data) come in the body, never the URL."""
        ctx = context_of(request)
        _ = gettext_for(request)
        form = dict(await request.form())
        problems = Problems()
        q = text(form, "q")
        found: list[Card] = []
        if not q:
            problems.add("q", _("Enter a name, a phone number, its last four digits or an e-mail address."))
        else:
            try:
                found = await search(ctx, q, None, 20)
            except FieldError as err:
                problems.add(*field_message(err, _))
        return await self._new_page(
            request,
            form,
            problems=problems,
            found=found,
            searched=not problems,
            status=422 if problems else 200,
        )

    @post("/bookings/new", opt=WRITE)
    async def create_booking(self, request: Request[Any, Any, Any]) -> Response[Any]:
        ctx = context_of(request)
        _ = gettext_for(request)
        form = dict(await request.form())
        problems = Problems()
        location_id = an_id(form.get("location"))
        service_id = an_id(form.get("service"))
        start = a_moment(form.get("start"))
        if service_id is None:
            problems.add("service", _("Choose a service."))
        if start is None:
            problems.add("start", _("Choose a time."))
        hold: int | None = None
        if text(form, "hold"):
            hold = an_id(form.get("hold"))
            if hold is None or hold > MAX_HOLD_MINUTES:
                problems.add("hold", _("Enter the minutes to hold as a whole number from 1 to 10080."))
        notes = text(form, "notes", MAX_NOTES + 1)
        if len(notes) > MAX_NOTES:
            problems.add("notes", _("Notes can be at most 2000 characters long."))
        customer_id = an_id(form.get("customer_id"))
        customer = None
        matched = False
        duplicates: list[Card] = []
        if form.get("customer_id") and customer_id is None:
            problems.add("customer_id", _("Choose a customer from the list or enter a new one."))
        elif customer_id is not None:
            if await ctx.db.fetchval("SELECT id FROM customer WHERE id = ?", customer_id) is None:
                problems.add("customer_id", _("Choose a customer from the list or enter a new one."))
        else:
            language = text(form, "language")
            try:
                customer = new_customer(
                    ctx, text(form, "name"), text(form, "phone", 40), text(form, "email", 254) or None,
                    "staff", language if language in ("tr", "en") else None, field_prefix="",
                )  # fmt: skip
            except FieldError as err:
                problems.add(*field_message(err, _))
            if customer is not None:
                existing = await match(ctx, customer.phone_idx, customer.email_idx)
                if existing is not None:
                    customer_id, customer, matched = existing, None, True
                elif not form.get("confirm_new"):
                    duplicates = await same_name_cards(ctx, customer.name)
        if problems or duplicates:
            return await self._new_page(
                request, form, problems=problems, found=duplicates, duplicates=bool(duplicates),
                status=422 if problems else 200,
            )  # fmt: skip
        assert service_id is not None and start is not None
        try:
            booking = await BookingService(ctx).create(
                NewBooking(
                    service_id=service_id,
                    start=start,
                    staff_id=an_id(form.get("staff")),
                    customer_id=customer_id,
                    customer=customer,
                    location_id=location_id,
                    source="staff",
                    hold_minutes=hold,
                    notes=notes or None,
                )
            )
        except SlotTaken as err:
            problems.add("start", _("This time was just taken. Choose another time."))
            return await self._new_page(
                request, form, problems=problems, alternatives=_alternatives(err), status=409
            )
        except (Conflict, Vetoed) as err:
            problems.add("start", err.reason if isinstance(err, Vetoed) else str(err))
            return await self._new_page(request, form, problems=problems, status=409)
        except FieldError as err:
            problems.add(*field_message(err, _))
            return await self._new_page(request, form, problems=problems, status=422)
        except NotFound:
            problems.add("service", _("Choose a service."))
            return await self._new_page(request, form, problems=problems, status=422)
        notice = "matched" if matched else "booked"
        return Redirect(f"/admin/bookings/{booking.id}?notice={notice}", status_code=303)

    async def _new_page(
        self,
        request: Request[Any, Any, Any],
        values: dict[str, Any],
        *,
        problems: Problems | None = None,
        found: list[Card] | None = None,
        searched: bool = False,
        duplicates: bool = False,
        alternatives: list[dict[str, Any]] | None = None,
        status: int = 200,
    ) -> Template:
        """The phone booking page at whatever step `values` (query or form) have reached."""
        ctx = context_of(request)
        _ = gettext_for(request)
        problems = problems or Problems()
        places = await calendar_view.locations(ctx)
        location = calendar_view.pick_location(places, an_id(values.get("location")))
        step: dict[str, Any] = {
            "location": location,
            "locations": places,
            "services": [],
            "service": None,
            "staff_choices": [],
            "staff": an_id(values.get("staff")),
            "day": None,
            "next_day": None,
            "slots": None,
            "start": a_moment(values.get("start")),
        }
        if location is not None:
            step["services"] = await location_services(ctx, location.id)
            info: ServiceInfo | None = None
            service_id = an_id(values.get("service"))
            if service_id is not None:
                try:
                    info = await load_service(ctx.db, service_id)
                except NotFound:
                    problems.add("service", _("Choose a service."))
                if info is not None and location.id not in info.location_ids:
                    problems.add("service", _("This service is not offered at this location."))
                    info = None
            step["service"] = info
            step["staff_choices"] = await service_staff(ctx, info, location.id)
            raw_day = values.get("day")
            day = form_day(raw_day) if raw_day else datetime.now(location.zone).date()
            if day is None:
                problems.add("day", _("Enter a date as YYYY-MM-DD, e.g. 2030-01-07."))
            step["day"] = day
            step["next_day"] = day + timedelta(days=1) if day is not None else None
            if info is not None and day is not None:
                try:
                    zone, free = await BookingService(ctx).slots(info, location.id, day, day, step["staff"])
                    step["slots"] = _local_slots(free, zone)
                except FieldError as err:
                    problems.add(*field_message(err, _))
            if step["start"] is not None:
                step["start"] = step["start"].astimezone(location.zone)
        entered = {
            k: text(values, k, 2001)
            for k in ("q", "name", "phone", "email", "language", "hold", "notes", "customer_id", "day")
        }
        return page(
            request,
            "admin/booking_new.html",
            status=status,
            step=step,
            entered=entered,
            problems=problems.fields,
            found=found or [],
            searched=searched,
            duplicates=duplicates,
            alternatives=alternatives or [],
            now=datetime.now(UTC),
        )


class _Invalid(Exception):
    """The form's own checks failed; the problems are already noted."""
