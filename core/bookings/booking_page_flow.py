"""Where a visitor is in the booking flow, read back from the ids in the address.

The steps keep their state in GET query parameters (ids, a day, a start: never who the visitor is), so
every step is a plain link that works without JavaScript, can be reloaded and shared. Each request
walks the parameters in order and stops at the first one that is missing (that step is shown) or wrong
(that step is shown again with a message, status 422): a tampered id is a question asked again, never
an error page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from core.bookings.service import BookingService
from core.context import AppContext
from core.errors import FieldError, NotFound
from core.scheduling.loader import ServiceInfo, load_service, location_zone, qualified_staff
from core.web.pages import Gettext
from core.web.params import MAX_ID

Step = Literal["service", "location", "staff", "day", "time", "details"]


@dataclass
class Flow:
    """The choices made so far, and the address of each step with them."""

    base: str  # "/" or "/book/<location>": links stay on the page the visitor started from
    fixed_location: int | None = None
    service: ServiceInfo | None = None
    location_id: int | None = None
    location: dict[str, Any] | None = None  # name, address
    zone: ZoneInfo | None = None
    staff: str | None = None  # "any" or the id as text, as in the address
    staff_id: int | None = None
    staff_name: str | None = None
    day: date | None = None
    start: datetime | None = None  # in the location's zone
    first_day: date | None = None
    last_day: date | None = None
    # More than one location offers the chosen service (the location step was, or is, a choice).
    several_locations: bool = False

    def params(self, upto: Step) -> list[tuple[str, str]]:
        """The query parameters of the choices made before step `upto`."""
        order: list[Step] = ["service", "location", "staff", "day", "time", "details"]
        before = order[: order.index(upto)]
        out: list[tuple[str, str]] = []
        if "service" in before and self.service is not None:
            out.append(("service", str(self.service.id)))
        if "location" in before and self.location_id is not None and self.fixed_location is None:
            out.append(("location", str(self.location_id)))
        if "staff" in before and self.staff is not None:
            out.append(("staff", self.staff))
        if "day" in before and self.day is not None:
            out.append(("day", self.day.isoformat()))
        if "time" in before and self.start is not None:
            out.append(("start", self.start.isoformat()))
        return out

    def url(self, upto: Step, **extra: str) -> str:
        """The address of step `upto` (with `extra` choices, e.g. the next step's value)."""
        params = [*self.params(upto), *extra.items()]
        return f"{self.base}?{urlencode(params)}" if params else self.base


@dataclass
class Resolved:
    flow: Flow
    step: Step
    errors: dict[str, str] = field(default_factory=dict)


def parse_id(raw: str | None) -> int | None:
    if raw is None or not raw.strip().isdigit():
        return None
    value = int(raw.strip())
    return value if 1 <= value <= MAX_ID else None


async def location_row(ctx: AppContext, location_id: int) -> dict[str, Any] | None:
    rows = await ctx.db.fetch(
        "SELECT id, name, address FROM location WHERE id = ? AND active = ?", location_id, True
    )
    return (
        {"id": int(rows[0]["id"]), "name": rows[0]["name"], "address": rows[0]["address"]} if rows else None
    )


async def active_service(ctx: AppContext, raw: str | None) -> ServiceInfo | None:
    service_id = parse_id(raw)
    if service_id is None:
        return None
    try:
        return await load_service(ctx.db, service_id)
    except NotFound:
        return None


async def staff_names(ctx: AppContext, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = await ctx.db.fetch(f"SELECT id, name FROM staff WHERE id IN ({marks})", *ids)
    return {int(r["id"]): r["name"] for r in rows}


def booking_window(ctx: AppContext, service: ServiceInfo, zone: ZoneInfo) -> tuple[date, date]:
    """Today (in the location's zone) to the last day the page offers and the service allows."""
    today = datetime.now(UTC).astimezone(zone).date()
    shown = ctx.settings.web.booking_days_shown
    return today, today + timedelta(days=min(shown - 1, service.rule.max_days_ahead))


def parse_start(raw: str | None, zone: ZoneInfo) -> datetime | None:
    """An ISO start with its offset, in the location's zone; None for anything else."""
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(zone)


async def resolve(
    ctx: AppContext,
    base: str,
    fixed_location: int | None,
    raw: Mapping[str, str | None],
    _: Gettext,
    check_start: bool = True,
) -> Resolved:
    """Walk the choices in the address: the first missing or wrong one is the step to show.

    With `check_start` false the walk ends after the day (the final POST decides about the start
    itself, so that a time taken meanwhile is answered with alternatives, not a step back).
    """
    flow = Flow(base=base, fixed_location=fixed_location)
    if fixed_location is not None:
        flow.location = await location_row(ctx, fixed_location)
        if flow.location is None:
            raise NotFound("location", fixed_location)
        flow.location_id = fixed_location

    # Service
    if not raw.get("service"):
        return Resolved(flow, "service")
    service = await active_service(ctx, raw.get("service"))
    if service is None or (fixed_location is not None and fixed_location not in service.location_ids):
        message = _("This service cannot be booked here. Please choose one of the services below.")
        return Resolved(flow, "service", {"service": message})
    flow.service = service
    flow.several_locations = len(service.location_ids) > 1 and fixed_location is None

    # Location
    if fixed_location is None:
        location_id = parse_id(raw.get("location")) if raw.get("location") else None
        if raw.get("location") and location_id not in service.location_ids:
            message = _("This service is not offered at that location. Please choose a location below.")
            return Resolved(flow, "location", {"location": message})
        if location_id is None:
            if len(service.location_ids) != 1:
                return Resolved(flow, "location")
            location_id = service.location_ids[0]
        flow.location_id = location_id
        flow.location = await location_row(ctx, location_id)
        if flow.location is None:
            return Resolved(flow, "location", {"location": _("This location takes no bookings.")})
    assert flow.location_id is not None
    flow.zone = await location_zone(ctx.db, flow.location_id)
    flow.first_day, flow.last_day = booking_window(ctx, service, flow.zone)

    # Staff member
    raw_staff = (raw.get("staff") or "").strip()
    if not raw_staff:
        return Resolved(flow, "staff")
    if raw_staff != "any":
        staff_id = parse_id(raw_staff)
        try:
            qualified = await qualified_staff(ctx.db, service, flow.location_id, staff_id or -1)
        except FieldError:
            message = _("This staff member does not offer this service here. Please choose again.")
            return Resolved(flow, "staff", {"staff": message})
        flow.staff_id = qualified[0]
        flow.staff_name = (await staff_names(ctx, qualified)).get(qualified[0])
    flow.staff = raw_staff

    # Day
    raw_day = (raw.get("day") or "").strip()
    if not raw_day:
        return Resolved(flow, "day")
    try:
        day = date.fromisoformat(raw_day)
    except ValueError:
        return Resolved(flow, "day", {"day": _("Please choose one of the days below.")})
    if not flow.first_day <= day <= flow.last_day:
        return Resolved(
            flow, "day", {"day": _("This day cannot be booked. Please choose one of the days below.")}
        )
    flow.day = day
    if not check_start:
        return Resolved(flow, "details")

    # Time
    raw_start = raw.get("start")
    if not raw_start:
        return Resolved(flow, "time")
    start = parse_start(raw_start, flow.zone)
    free = None
    if start is not None and start.date() == day:
        _zone, free = await BookingService(ctx).slots_around(service, flow.location_id, start, flow.staff_id)
    if start is None or free is None:
        return Resolved(flow, "time", {"start": _("This time is not available. Please choose another time.")})
    flow.start = start
    return Resolved(flow, "details")
