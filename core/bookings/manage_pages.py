"""The customer's own page from the signed link: see, reschedule, cancel, join the waitlist.

Everything is a plain link or form (it works without JavaScript); every change is a POST with the
CSRF token that redirects back to the booking (a reload does not repeat it). A refusal (past the
cut-off, already cancelled, a time taken meanwhile) is a page in the customer's language, never a 500.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template

from core.access.permissions import PUBLIC
from core.bookings import waitlist
from core.bookings.links import BadLink, self_service_url
from core.bookings.manage_view import (
    Managed,
    Refused,
    cancelled_at,
    load,
    parse_clock,
    waiting_entries,
)
from core.bookings.service import BookingService, SlotTaken
from core.errors import Conflict, FieldError, NotFound, Vetoed
from core.notifications.content import invite_for
from core.scheduling.availability import from_minutes
from core.scheduling.loader import ServiceInfo, load_service, qualified_staff
from core.web.auth import context_of
from core.web.pages import PAGE_FORM, gettext_for, page
from core.web.params import form_day

DAYS_SHOWN = 14
MAX_REASON = 500
Query = Annotated[str | None, QueryParameter(required=False)]


class RescheduleForm(msgspec.Struct, kw_only=True):
    start: str = ""
    staff: str = ""
    day: str = ""


class CancelForm(msgspec.Struct, kw_only=True):
    reason: str = ""


class WaitlistForm(msgspec.Struct, kw_only=True):
    day: str = ""
    from_: str = msgspec.field(name="from", default="")
    to: str = ""


def _invalid_link(request: Request[Any, Any, Any], _exc: BadLink) -> Response[Any]:
    # Forged, expired or erased look the same: the page reveals nothing about the booking.
    return page(request, "manage/invalid.html", status=404)


def _refused(request: Request[Any, Any, Any], exc: Refused) -> Response[Any]:
    m = exc.managed
    return page(
        request,
        "manage/refused.html",
        status=exc.status,
        lang=m.lang,
        title=exc.title,
        message=exc.message,
        **m.template_values(),
    )


def _back(m: Managed, done: str) -> Redirect:
    return Redirect(f"/manage/{m.token}?done={done}", status_code=303)


def _may_change(request: Request[Any, Any, Any], m: Managed) -> None:
    """Rescheduling (and a waitlist request) is for a live booking, until the cut-off."""
    _ = gettext_for(request, m.lang)
    if not m.active:
        raise Refused(m, _("This appointment can no longer be changed"), _status_reason(request, m))
    if not m.before_cutoff:
        raise Refused(
            m,
            _("Changes through this link are closed"),
            _(
                "Changes through this link close %(hours)s hours before the appointment."
                " To change it now, please call %(business)s."
            )
            % {"hours": m.cutoff_hours, "business": context_of(request).settings.business.name},
        )


def _status_reason(request: Request[Any, Any, Any], m: Managed) -> str:
    _ = gettext_for(request, m.lang)
    return {
        "cancelled": _("This appointment has already been cancelled."),
        "completed": _("This appointment has already taken place."),
        "no_show": _("The time of this appointment has passed."),
    }.get(m.booking.status, _("This appointment has changed meanwhile: please look at it again."))


class _Choice(msgspec.Struct):
    value: str
    label: str


class ManagePages(Controller):
    path = "/manage"
    include_in_schema = False
    opt = {**PUBLIC, **PAGE_FORM}
    exception_handlers = {BadLink: _invalid_link, Refused: _refused}

    # ---------------------------------------------------------------------------------------------
    @get("/{token:str}")
    async def view(
        self, request: Request[Any, Any, Any], token: FromPath[str], done: Query = None
    ) -> Template:
        ctx = context_of(request)
        m = await load(request, token)
        deposit = "none"
        if done == "cancelled" and m.booking.status == "cancelled":
            deposit = m.deposit_if_cancelled_at(await cancelled_at(ctx, m.booking.id) or m.now)
        return page(
            request,
            "manage/view.html",
            lang=m.lang,
            done=done or "",
            deposit=deposit,
            waiting=await waiting_entries(ctx, m),
            **m.template_values(),
        )

    @get("/{token:str}/calendar.ics")
    async def calendar(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Response[bytes]:
        """The same invite the confirmation e-mail carries (stable UID: a calendar updates its entry)."""
        ctx = context_of(request)
        m = await load(request, token)
        if not m.active:
            _ = gettext_for(request, m.lang)
            raise Refused(m, _("There is no appointment to add to your calendar"), _status_reason(request, m))
        invite = invite_for(ctx, m.facts, self_service_url(ctx, m.booking))
        return Response(
            invite.data,
            media_type="text/calendar; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{invite.filename}"'},
        )

    @post("/{token:str}/accept", status_code=200)
    async def accept(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Response[Any]:
        """Accept a waitlist offer, as the JSON route does (a deposit confirms other pending bookings)."""
        ctx = context_of(request)
        m = await load(request, token)
        _ = gettext_for(request, m.lang)
        if not m.offer:
            raise Refused(m, _("There is no offer to accept"), _status_reason(request, m))
        try:
            await BookingService(ctx).confirm(m.booking.id)
        except Conflict:
            raise Refused(m, _("This offer is no longer available"), _status_reason(request, m)) from None
        return _back(m, "accepted")

    # ---------------------------------------------------------------------------------------------
    @get("/{token:str}/reschedule")
    async def reschedule_form(
        self, request: Request[Any, Any, Any], token: FromPath[str], day: Query = None, staff: Query = None
    ) -> Template:
        m = await load(request, token)
        _may_change(request, m)
        return await self._reschedule_page(request, m, day, staff)

    @post("/{token:str}/reschedule", status_code=200)
    async def reschedule(
        self, request: Request[Any, Any, Any], token: FromPath[str], data: URLEncodedBody[RescheduleForm]
    ) -> Response[Any]:
        ctx = context_of(request)
        m = await load(request, token)
        _may_change(request, m)
        _ = gettext_for(request, m.lang)
        service = await self._service(request, m)
        staff_id, staff_error = await self._staff_choice(request, m, service, data.staff)
        start = _moment(data.start)
        if staff_error or start is None:
            errors = {"staff": staff_error} if staff_error else {}
            if start is None:
                errors["start"] = _("Time: choose one of the free times.")
            return await self._reschedule_page(request, m, data.day, data.staff, errors=errors)
        try:
            await BookingService(ctx).reschedule(m.booking.id, start, staff_id)
        except SlotTaken:
            taken = _("Sorry, that time has just been taken. Please choose another one.")
            return await self._reschedule_page(request, m, data.day, data.staff, status=409, taken=taken)
        except FieldError as err:
            field = "staff" if err.field == "staff" else "start"
            message = (
                _("Staff member: choose one from the list.")
                if field == "staff"
                else _("Time: choose one of the free times.")
            )
            return await self._reschedule_page(request, m, data.day, data.staff, errors={field: message})
        except Vetoed as err:
            refused = _("Time: this time cannot be booked (%(reason)s).") % {"reason": err.reason}
            return await self._reschedule_page(request, m, data.day, data.staff, errors={"start": refused})
        except Conflict:
            raise Refused(
                m, _("This appointment can no longer be changed"), _status_reason(request, m)
            ) from None
        return _back(m, "rescheduled")

    async def _service(self, request: Request[Any, Any, Any], m: Managed) -> ServiceInfo:
        try:
            return await load_service(context_of(request).db, m.booking.service_ids[0])
        except NotFound:
            _ = gettext_for(request, m.lang)
            raise Refused(
                m,
                _("This appointment can no longer be changed"),
                _("This service is no longer booked online. Please call %(business)s.")
                % {"business": context_of(request).settings.business.name},
            ) from None

    async def _staff_options(
        self, request: Request[Any, Any, Any], m: Managed, service: ServiceInfo
    ) -> list[_Choice]:
        ctx = context_of(request)
        ids = await qualified_staff(ctx.db, service, m.booking.location_id)
        if not ids:
            return []
        marks = ", ".join("?" for _ in ids)
        rows = await ctx.db.fetch(f"SELECT id, name FROM staff WHERE id IN ({marks}) ORDER BY name", *ids)
        return [_Choice(str(r["id"]), str(r["name"])) for r in rows]

    async def _staff_choice(
        self, request: Request[Any, Any, Any], m: Managed, service: ServiceInfo, text: str | None
    ) -> tuple[int | None, str]:
        """(staff id or None for anyone, error): the booking's own staff member unless chosen."""
        _ = gettext_for(request, m.lang)
        qualified = await qualified_staff(context_of(request).db, service, m.booking.location_id)
        value = (text or "").strip()
        if not value:
            return (m.booking.staff_id if m.booking.staff_id in qualified else None), ""
        if value == "any":
            return None, ""
        if value.isdigit() and int(value) in qualified:
            return int(value), ""
        return m.booking.staff_id if m.booking.staff_id in qualified else None, _(
            "Staff member: choose one from the list."
        )

    async def _reschedule_page(
        self,
        request: Request[Any, Any, Any],
        m: Managed,
        day_text: str | None,
        staff_text: str | None,
        *,
        status: int = 200,
        errors: dict[str, str] | None = None,
        taken: str = "",
    ) -> Template:
        """The day picker and that day's free times; a refused choice keeps what was chosen."""
        ctx = context_of(request)
        _ = gettext_for(request, m.lang)
        errors = dict(errors or {})
        service = await self._service(request, m)
        staff_id, staff_error = await self._staff_choice(request, m, service, staff_text)
        if staff_error:
            errors.setdefault("staff", staff_error)
        today = m.local_today
        last = today + timedelta(days=service.rule.max_days_ahead)
        default = min(max(m.local_day, today), last)
        day = form_day(day_text) if day_text else default
        if day is None or not today <= day <= last:
            errors.setdefault("day", _("Day: choose a day from the list."))
            day = default
        first = today + timedelta(days=((day - today).days // DAYS_SHOWN) * DAYS_SHOWN)
        days = [first + timedelta(days=i) for i in range(DAYS_SHOWN) if first + timedelta(days=i) <= last]
        zone, found = await BookingService(ctx).slots(
            service,
            m.booking.location_id,
            day,
            day,
            staff_id,
            now=m.now,
            exclude_booking=m.booking.id,
        )
        own_start = m.booking.start.replace(second=0, microsecond=0)
        times = [t for t in (from_minutes(s.start).astimezone(zone) for s in found) if t != own_start]
        if errors:
            status = 422
        return page(
            request,
            "manage/reschedule.html",
            status=status,
            lang=m.lang,
            day=day,
            days=days,
            earlier=first - timedelta(days=DAYS_SHOWN) if first > today else None,
            later=first + timedelta(days=DAYS_SHOWN) if first + timedelta(days=DAYS_SHOWN) <= last else None,
            staff_value="any" if staff_id is None else str(staff_id),
            staff_options=await self._staff_options(request, m, service),
            times=times,
            errors=errors,
            taken=taken,
            **m.template_values(),
        )

    # ---------------------------------------------------------------------------------------------
    @get("/{token:str}/cancel")
    async def cancel_form(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Template:
        m = await load(request, token)
        self._may_cancel(request, m)
        return self._cancel_page(request, m, "", {})

    @post("/{token:str}/cancel", status_code=200)
    async def cancel(
        self, request: Request[Any, Any, Any], token: FromPath[str], data: URLEncodedBody[CancelForm]
    ) -> Response[Any]:
        ctx = context_of(request)
        m = await load(request, token)
        self._may_cancel(request, m)
        _ = gettext_for(request, m.lang)
        reason = " ".join(data.reason.replace("\x00", "").split())
        if len(reason) > MAX_REASON:
            message = _("Reason: at most %(count)s characters, please.") % {"count": MAX_REASON}
            return self._cancel_page(request, m, data.reason, {"reason": message}, 422)
        try:
            await BookingService(ctx).cancel(m.booking.id, reason or "cancelled by the customer")
        except Conflict:
            raise Refused(m, _("This appointment cannot be cancelled"), _status_reason(request, m)) from None
        return _back(m, "cancelled")

    def _may_cancel(self, request: Request[Any, Any, Any], m: Managed) -> None:
        if not m.active:
            _ = gettext_for(request, m.lang)
            raise Refused(m, _("This appointment cannot be cancelled"), _status_reason(request, m))

    def _cancel_page(
        self,
        request: Request[Any, Any, Any],
        m: Managed,
        reason: str,
        errors: dict[str, str],
        status: int = 200,
    ) -> Template:
        return page(
            request,
            "manage/cancel.html",
            status=status,
            lang=m.lang,
            reason=reason,
            errors=errors,
            deposit=m.deposit_if_cancelled_at(m.now),
            **m.template_values(),
        )

    # ---------------------------------------------------------------------------------------------
    @get("/{token:str}/waitlist")
    async def waitlist_form(
        self, request: Request[Any, Any, Any], token: FromPath[str], day: Query = None
    ) -> Template:
        m = await load(request, token)
        self._may_wait(request, m)
        chosen = day if day and form_day(day) else max(m.local_day, m.local_today).isoformat()
        return self._waitlist_page(request, m, {"day": chosen, "from": "", "to": ""}, {})

    @post("/{token:str}/waitlist", status_code=200)
    async def join_waitlist(
        self, request: Request[Any, Any, Any], token: FromPath[str], data: URLEncodedBody[WaitlistForm]
    ) -> Response[Any]:
        ctx = context_of(request)
        m = await load(request, token)
        self._may_wait(request, m)
        _ = gettext_for(request, m.lang)
        values = {"day": data.day.strip(), "from": data.from_.strip(), "to": data.to.strip()}
        errors: dict[str, str] = {}
        day = form_day(values["day"])
        if day is None:
            errors["day"] = _("Day: enter a date, e.g. %(example)s.") % {"example": m.local_today.isoformat()}
        elif day < m.local_today:
            errors["day"] = _("Day: choose today or a later day.")
        start, end = parse_clock(values["from"]), parse_clock(values["to"])
        if start is None:
            errors["from"] = _("Earliest time: enter a time as HH:MM, e.g. 09:30.")
        if end is None:
            errors["to"] = _("Latest time: enter a time as HH:MM, e.g. 12:00.")
        elif start is not None and end <= start:
            errors["to"] = _("Latest time: must be later than the earliest time.")
        if errors or day is None or m.booking.customer_id is None:
            return self._waitlist_page(request, m, values, errors, 422)
        try:
            async with ctx.db.transaction():
                await waitlist.join(
                    ctx,
                    m.booking.service_ids[0],
                    m.booking.customer_id,
                    day,
                    values["from"],
                    values["to"],
                    None,
                    m.booking.location_id,
                )
        except FieldError as err:  # the day turned while the form was open
            field = err.field if err.field in ("day", "from", "to") else "day"
            errors[field] = (
                _("Day: choose today or a later day.")
                if field == "day"
                else _("Latest time: must be later than the earliest time.")
            )
            return self._waitlist_page(request, m, values, errors, 422)
        except NotFound:
            await self._service(request, m)  # refuses with the reason
            raise
        return _back(m, "waitlist")

    def _may_wait(self, request: Request[Any, Any, Any], m: Managed) -> None:
        if not m.active or m.booking.customer_id is None:
            _ = gettext_for(request, m.lang)
            raise Refused(m, _("This appointment can no longer be changed"), _status_reason(request, m))

    def _waitlist_page(
        self,
        request: Request[Any, Any, Any],
        m: Managed,
        values: dict[str, str],
        errors: dict[str, str],
        status: int = 200,
    ) -> Template:
        return page(
            request,
            "manage/waitlist.html",
            status=status,
            lang=m.lang,
            values=values,
            errors=errors,
            offer_minutes=context_of(request).settings.bookings.waitlist_offer_minutes,
            **m.template_values(),
        )


def _moment(text: str) -> datetime | None:
    """A slot button's value: ISO-8601 with its offset; None for anything else."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
