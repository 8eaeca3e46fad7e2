"""Reads what the availability engine needs, narrowly: only the columns and the time window asked for.

This is the hot read path (every slot query). The slow-changing schedule comes from the in-memory
catalogue (checked against the database's schedule version); the one read that is made every time is
the busy time of the staff and resources in the window, as epoch minutes in plain tuples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.db.database import Database
from core.errors import FieldError, NotFound
from core.scheduling.availability import (
    LONGEST_BLOCK_MINUTES,
    Interval,
    StaffCalendar,
    local_to_minutes,
    merge,
    saturated,
    to_minutes,
)
from core.scheduling.catalogue import Catalogue, ServiceInfo, TimeExceptions, catalogue, money

__all__ = [
    "Availability",
    "ServiceInfo",
    "day_bounds",
    "load_availability",
    "load_service",
    "location_zone",
    "money",
    "qualified_staff",
]

NO_EXCEPTIONS = TimeExceptions()


@dataclass
class Availability:
    """Everything needed to compute slots for one service at one location over some days."""

    service: ServiceInfo
    location_id: int
    zone: ZoneInfo
    days: list[date]
    closed: set[date]
    calendars: list[StaffCalendar]
    resource_busy: list[Interval]


async def location_zone(db: Database, location_id: int, schedule: Catalogue | None = None) -> ZoneInfo:
    """The location's zone; callers that already hold the catalogue pass it (one version check)."""
    zone = await (schedule or await catalogue(db)).zone(db, location_id)
    if zone is None:
        raise NotFound("location", location_id)
    return zone


async def load_service(db: Database, service_id: int) -> ServiceInfo:
    """An active service, as the schedule catalogue holds it."""
    service = await (await catalogue(db)).service(db, service_id)
    if service is None:
        raise NotFound("service", service_id)
    return service


async def qualified_staff(
    db: Database,
    service: ServiceInfo,
    location_id: int,
    staff_id: int | None = None,
    schedule: Catalogue | None = None,
) -> list[int]:
    members = await (schedule or await catalogue(db)).staff(db, location_id)
    found = [m.id for m in members if service.required_skill is None or service.required_skill in m.skills]
    if staff_id is not None:
        if staff_id not in found:
            raise FieldError("staff", "this staff member does not offer this service at this location")
        return [staff_id]
    return found


async def load_availability(
    db: Database,
    service: ServiceInfo,
    location_id: int,
    first_day: date,
    last_day: date,
    staff_ids: Sequence[int],
    now: datetime,
    exclude_booking: int | None = None,
    schedule: Catalogue | None = None,
    busy_within: tuple[datetime, datetime] | None = None,
    read_busy: bool = True,
) -> Availability:
    """Load working time and busy time of `staff_ids` for local days first_day..last_day.

    `busy_within` narrows the busy time read to blocks that overlap that UTC span: enough to decide
    one start (its own block), and a handful of rows instead of the whole day's. Without `read_busy`
    the staff are as free as their working time (for a caller the database's overlap guard checks).
    """
    schedule = schedule or await catalogue(db)
    zone = await location_zone(db, location_id, schedule)
    days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
    # The UTC window covering the local days, widened by the longest block edge.
    margin = timedelta(minutes=service.rule.lead + service.rule.tail)
    window_start = datetime.combine(first_day, time(0), tzinfo=zone).astimezone(UTC) - margin
    window_end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC) + margin
    if not staff_ids:
        return Availability(service, location_id, zone, days, set(), [], [])
    shifts = await schedule.shifts(db, location_id)
    exceptions = await schedule.exceptions(db, location_id, window_start, window_end)
    calendars = {}
    for sid in staff_ids:
        dated = exceptions.get(sid, NO_EXCEPTIONS)
        calendars[sid] = StaffCalendar(sid, list(shifts.get(sid, ())), list(dated.extra), list(dated.off))
    closed = await schedule.closures(db, location_id, first_day, last_day)
    if not read_busy:
        return Availability(service, location_id, zone, days, closed, list(calendars.values()), [])
    marks = ", ".join("?" for _ in calendars)
    ids = list(calendars)
    if busy_within is not None:
        window_start, window_end = max(window_start, busy_within[0]), min(window_end, busy_within[1])
    active = (
        " AND (b.status IN ('confirmed', 'completed', 'no_show')"
        " OR (b.status = 'pending' AND (b.hold_expires_at IS NULL OR b.hold_expires_at > ?)))"
    )
    exclude = " AND b.id <> ?" if exclude_booking is not None else ""
    extra_args = [exclude_booking] if exclude_booking is not None else []
    # No block that started before this can reach into the window (see LONGEST_BLOCK_MINUTES).
    earliest_start = window_start - timedelta(minutes=LONGEST_BLOCK_MINUTES)
    # The biggest read (one row per booking in the window): minutes computed by the database, plain tuples.
    busy_rows = await db.fetch_tuples(
        # CAST: an expression has no declared type, so Piccolo's per-value INTEGER converter is skipped.
        f"SELECT CAST(o.owner_id AS INTEGER), {db.epoch_minutes('o.starts_at')},"
        f" {db.epoch_minutes('o.ends_at')}"
        " FROM occupancy o JOIN booking b ON b.id = o.booking"
        # unit = 0 and a lower bound on starts_at make it a range on the index
        # (owner_kind, owner_id, unit, starts_at) instead of every booking the staff member ever had.
        f" WHERE o.owner_kind = 'staff' AND o.owner_id IN ({marks}) AND o.unit = 0"
        " AND o.starts_at > ? AND o.starts_at < ? AND o.ends_at > ?"
        f"{active}{exclude}",
        *ids,
        earliest_start,
        window_end,
        window_start,
        now,
        *extra_args,
    )
    per_staff: dict[int, list[Interval]] = {sid: [] for sid in ids}
    for owner, starts, ends in busy_rows:
        per_staff[owner].append((starts, ends))
    for sid, intervals in per_staff.items():
        calendars[sid].busy = merge(intervals)

    resource_busy: list[Interval] = []
    for resource_id in service.resource_ids:
        resource = await schedule.resource(db, resource_id)
        if resource is None or not resource.active:
            # A required room or device that is out of service blocks the service entirely.
            resource_busy.append((to_minutes(window_start), to_minutes(window_end)))
            continue
        capacity = resource.capacity
        rows = await db.fetch_tuples(
            f"SELECT {db.epoch_minutes('o.starts_at')}, {db.epoch_minutes('o.ends_at')}"
            " FROM occupancy o JOIN booking b ON b.id = o.booking"
            " WHERE o.owner_kind = 'resource' AND o.owner_id = ?"
            " AND o.starts_at > ? AND o.starts_at < ? AND o.ends_at > ?"
            f"{active}{exclude}",
            resource_id,
            earliest_start,
            window_end,
            window_start,
            now,
            *extra_args,
        )
        used = [(int(starts), int(ends)) for starts, ends in rows]
        resource_busy.extend(saturated(used, capacity))
    return Availability(
        service, location_id, zone, days, closed, list(calendars.values()), merge(resource_busy)
    )


def day_bounds(day: date, zone: ZoneInfo) -> Interval:
    return (local_to_minutes(day, time(0), zone), local_to_minutes(day + timedelta(days=1), time(0), zone))
