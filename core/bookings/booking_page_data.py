"""What each step of the booking page lists: services by category, locations, staff, days, times.

All of it comes from the same services the JSON API uses (the schedule catalogue, BookingService's
slots), so the page never offers a time the API would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core.bookings.booking_page_flow import Flow, active_service, staff_names
from core.bookings.service import BookingService
from core.context import AppContext
from core.scheduling.availability import from_minutes, to_minutes
from core.scheduling.loader import ServiceInfo, qualified_staff


@dataclass(frozen=True)
class ServiceChoice:
    info: ServiceInfo
    description: str


@dataclass(frozen=True)
class DayChoice:
    day: date
    free: int
    url: str | None  # None: nothing free that day


@dataclass(frozen=True)
class TimeChoice:
    start: datetime  # in the location's zone
    url: str


async def services_by_category(
    ctx: AppContext, location_id: int | None
) -> list[tuple[str, list[ServiceChoice]]]:
    """Active services bookable at the location (or anywhere), grouped by category in name order."""
    rows = await ctx.db.fetch(
        "SELECT id, description FROM service WHERE active = ? ORDER BY category, name, id", True
    )
    groups: dict[str, list[ServiceChoice]] = {}
    for row in rows:
        info = await active_service(ctx, str(row["id"]))
        if info is None or not info.location_ids:
            continue
        if location_id is not None and location_id not in info.location_ids:
            continue
        groups.setdefault(info.category, []).append(ServiceChoice(info, row["description"] or ""))
    return list(groups.items())


async def locations_of(ctx: AppContext, ids: tuple[int, ...]) -> list[dict[str, Any]]:
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = await ctx.db.fetch(
        f"SELECT id, name, address FROM location WHERE id IN ({marks}) AND active = ? ORDER BY name, id",
        *ids,
        True,
    )
    return [{"id": int(r["id"]), "name": r["name"], "address": r["address"]} for r in rows]


async def staff_choices(ctx: AppContext, flow: Flow) -> list[tuple[int, str]]:
    """Who offers the chosen service at the chosen location, by name."""
    assert flow.service is not None and flow.location_id is not None
    ids = await qualified_staff(ctx.db, flow.service, flow.location_id)
    names = await staff_names(ctx, ids)
    return sorted(((sid, names[sid]) for sid in ids if sid in names), key=lambda item: item[1])


async def day_choices(ctx: AppContext, flow: Flow) -> list[DayChoice]:
    """Every day of the window with its number of free times (one slot query for the whole window)."""
    assert flow.service and flow.location_id and flow.first_day and flow.last_day
    zone, slots = await BookingService(ctx).slots(
        flow.service, flow.location_id, flow.first_day, flow.last_day, flow.staff_id
    )
    per_day: dict[date, int] = {}
    for slot in slots:
        day = from_minutes(slot.start).astimezone(zone).date()
        per_day[day] = per_day.get(day, 0) + 1
    out = []
    day = flow.first_day
    while day <= flow.last_day:
        free = per_day.get(day, 0)
        out.append(DayChoice(day, free, flow.url("day", day=day.isoformat()) if free else None))
        day += timedelta(days=1)
    return out


async def time_choices(ctx: AppContext, flow: Flow) -> list[TimeChoice]:
    assert flow.service and flow.location_id and flow.day
    zone, slots = await BookingService(ctx).slots(
        flow.service, flow.location_id, flow.day, flow.day, flow.staff_id
    )
    out = []
    for slot in slots:
        start = from_minutes(slot.start).astimezone(zone)
        out.append(TimeChoice(start, flow.url("time", start=start.isoformat())))
    return out


async def ever_offered(ctx: AppContext, flow: Flow, start: datetime) -> bool:
    """Whether `start` is a time the schedule offers at all, busy or not: a refused start that is
    offered was taken meanwhile (409, alternatives), one that never was is invalid input (422)."""
    service, location_id = flow.service, flow.location_id
    assert service is not None and location_id is not None
    day = start.date()
    _zone, found = await BookingService(ctx).slots(
        service, location_id, day, day, flow.staff_id, only=start, read_busy=False
    )
    return any(slot.start == to_minutes(start) for slot in found)


async def nearest_free(ctx: AppContext, flow: Flow, start: datetime, limit: int = 5) -> list[datetime]:
    """Free starts nearest to `start` inside the page's window (the alternatives to a refused time)."""
    service, location_id = flow.service, flow.location_id
    assert service and location_id and flow.first_day and flow.last_day
    first = max(flow.first_day, start.date() - timedelta(days=1))
    last = min(flow.last_day, start.date() + timedelta(days=7))
    if first > last:
        first, last = flow.first_day, min(flow.last_day, flow.first_day + timedelta(days=7))
    zone, found = await BookingService(ctx).slots(service, location_id, first, last, flow.staff_id)
    target = to_minutes(start)
    nearest = sorted(found, key=lambda s: (abs(s.start - target), -len(s.staff)))[:limit]
    return [from_minutes(s.start).astimezone(zone) for s in sorted(nearest, key=lambda s: s.start)]


def alternatives_from(extra: dict[str, Any], zone: ZoneInfo, flow: Flow) -> list[datetime]:
    """The conflict's own alternatives, as local starts inside the page's window."""
    out = []
    for item in extra.get("alternatives") or []:
        try:
            moment = datetime.fromisoformat(str(item["start"])).astimezone(zone)
        except (KeyError, TypeError, ValueError):
            continue
        if flow.first_day and flow.last_day and flow.first_day <= moment.date() <= flow.last_day:
            out.append(moment)
    return out
