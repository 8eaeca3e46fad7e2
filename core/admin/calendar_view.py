"""What the admin calendar shows: the bookings of some local days at one location, grouped into
columns (staff members or resources) and placed by local time.

One query reads the bookings of the window with the names the calendar prints (service, customer,
staff), so a day of forty bookings is one round trip, not forty lookups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from core.db.values import as_utc
from core.scheduling.loader import location_zone

if TYPE_CHECKING:
    from core.context import AppContext

View = Literal["day", "week"]
By = Literal["staff", "resource"]
# A colour from the staff table is only put into a style attribute in this exact shape.
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
# The column of bookings whose service needs no room or equipment (the by-resource view).
NO_RESOURCE = 0


@dataclass(frozen=True)
class Entry:
    """One booking as a calendar cell shows it, times in the location's zone."""

    id: int
    status: str
    start: datetime
    end: datetime
    service: str
    customer: str
    staff: str
    staff_id: int | None
    column_ids: tuple[int, ...]


@dataclass
class Column:
    id: int
    name: str
    colour: str | None = None


@dataclass
class Location:
    id: int
    name: str
    zone: ZoneInfo


@dataclass
class Calendar:
    location: Location
    locations: list[Location]
    days: list[date]
    columns: list[Column]
    entries: list[Entry]
    hours: list[int] = field(default_factory=list)

    def at(self, column_id: int, day: date, hour: int | None = None) -> list[Entry]:
        """The entries of one column starting on that local day (and in that hour)."""
        return [
            e
            for e in self.entries
            if column_id in e.column_ids and e.start.date() == day and (hour is None or e.start.hour == hour)
        ]


async def locations(ctx: AppContext) -> list[Location]:
    rows = await ctx.db.fetch("SELECT id, name FROM location WHERE active = ? ORDER BY id", True)
    return [Location(int(r["id"]), r["name"], await location_zone(ctx.db, int(r["id"]))) for r in rows]


def pick_location(found: list[Location], wanted: int | None) -> Location | None:
    return next((loc for loc in found if loc.id == wanted), found[0] if found else None)


def week_of(day: date) -> list[date]:
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=i) for i in range(7)]


async def staff_columns(ctx: AppContext, location_id: int, only: int | None) -> list[Column]:
    rows = await ctx.db.fetch(
        "SELECT s.id, s.name, s.colour FROM staff s JOIN staff_location sl ON sl.staff = s.id"
        " WHERE sl.location = ? AND s.active = ? ORDER BY s.id",
        location_id,
        True,
    )
    columns = [
        Column(int(r["id"]), r["name"], r["colour"] if COLOUR.match(str(r["colour"] or "")) else None)
        for r in rows
    ]
    if only is not None:
        columns = [c for c in columns if c.id == only]
    return columns


async def resource_columns(ctx: AppContext, location_id: int) -> list[Column]:
    rows = await ctx.db.fetch(
        "SELECT id, name FROM resource WHERE location = ? AND active = ? ORDER BY id", location_id, True
    )
    return [Column(int(r["id"]), r["name"]) for r in rows]


async def load_entries(
    ctx: AppContext, location: Location, days: list[date], by: By, only_staff: int | None
) -> list[Entry]:
    """Bookings starting on `days` (local), every status; a staff account's view has only its own."""
    start = datetime.combine(days[0], time(0), tzinfo=location.zone).astimezone(UTC)
    end = datetime.combine(days[-1] + timedelta(days=1), time(0), tzinfo=location.zone).astimezone(UTC)
    where = "b.location = ? AND b.start_at >= ? AND b.start_at < ?"
    args: list[object] = [location.id, start, end]
    if only_staff is not None:
        where += " AND b.staff = ?"
        args.append(only_staff)
    rows = await ctx.db.fetch(
        "SELECT b.id, b.status, b.start_at, b.end_at, b.staff, b.service, s.name AS service_name,"
        " c.name AS customer_name, st.name AS staff_name FROM booking b"
        " JOIN service s ON s.id = b.service LEFT JOIN customer c ON c.id = b.customer"
        f" LEFT JOIN staff st ON st.id = b.staff WHERE {where} ORDER BY b.start_at, b.id",
        *args,
    )
    needs: dict[int, tuple[int, ...]] = {}
    if by == "resource":
        # What the service needs, not the occupancy rows: a cancelled booking has none left.
        for r in await ctx.db.fetch("SELECT service, resource FROM service_resource ORDER BY resource"):
            key = int(r["service"])
            needs[key] = (*needs.get(key, ()), int(r["resource"]))
    out = []
    for r in rows:
        staff_id = int(r["staff"]) if r["staff"] is not None else None
        if by == "resource":
            columns = needs.get(int(r["service"]), ()) or (NO_RESOURCE,)
        else:
            columns = (staff_id,) if staff_id is not None else ()
        out.append(
            Entry(
                id=int(r["id"]),
                status=r["status"],
                start=as_utc(r["start_at"]).astimezone(location.zone),
                end=as_utc(r["end_at"]).astimezone(location.zone),
                service=r["service_name"],
                customer=r["customer_name"] or "",
                staff=r["staff_name"] or "",
                staff_id=staff_id,
                column_ids=columns,
            )
        )
    return out


async def day_hours(ctx: AppContext, location_id: int, entries: list[Entry]) -> list[int]:
    """The hours a day view spans: the location's working hours, widened to every booking shown."""
    row = (
        await ctx.db.fetch(
            "SELECT MIN(start_time) AS first, MAX(end_time) AS last FROM working_hours WHERE location = ?",
            location_id,
        )
    )[0]
    first = int(str(row["first"])[:2]) if row["first"] else 9
    last_text = str(row["last"]) if row["last"] else "18:00"
    last = int(last_text[:2]) - (1 if last_text[3:5] == "00" else 0)
    for e in entries:
        first = min(first, e.start.hour)
        last = max(last, e.start.hour)
    return list(range(first, last + 1))


async def build(
    ctx: AppContext,
    location_id: int | None,
    day: date | None,
    view: View,
    by: By,
    only_staff: int | None,
) -> Calendar | None:
    """The calendar to show, or None when there is no location yet."""
    found = await locations(ctx)
    location = pick_location(found, location_id)
    if location is None:
        return None
    shown = day or datetime.now(location.zone).date()
    days = [shown] if view == "day" else week_of(shown)
    if by == "resource":
        columns = await resource_columns(ctx, location.id)
    else:
        columns = await staff_columns(ctx, location.id, only_staff)
    entries = await load_entries(ctx, location, days, by, only_staff)
    known = {c.id for c in columns}
    # A booking of someone no longer listed (inactive staff, a service without a room) still shows.
    for e in entries:
        for cid in e.column_ids:
            if cid not in known:
                name = e.staff if by == "staff" else ""
                columns.append(Column(cid, name))
                known.add(cid)
    calendar = Calendar(location, found, days, columns, entries)
    if view == "day":
        calendar.hours = await day_hours(ctx, location.id, entries)
    return calendar
