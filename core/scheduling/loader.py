"""Reads what the availability engine needs, narrowly: only the columns and the time window asked for.

This is the hot read path (every slot query), so it uses plain SQL rows, not ORM objects.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from core.db.database import Database
from core.errors import FieldError, NotFound
from core.scheduling.availability import (
    Interval,
    ServiceRule,
    StaffCalendar,
    WeeklyShift,
    local_to_minutes,
    merge,
    saturated,
    to_minutes,
)


@dataclass(frozen=True)
class ServiceInfo:
    id: int
    name: str
    category: str
    rule: ServiceRule
    required_skill: str | None
    seats: int
    price: str
    currency: str
    deposit_kind: str
    deposit_value: str
    location_ids: tuple[int, ...]
    resource_ids: tuple[int, ...]

    def deposit_due(self) -> str:
        if self.deposit_kind == "fixed":
            return money(self.deposit_value)
        if self.deposit_kind == "percent":
            return money(Decimal(self.price) * Decimal(self.deposit_value) / 100)
        return money(0)


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


def money(value: object) -> str:
    """Amounts as text with two decimals on both engines (SQLite may hand back 500 for 500.00)."""
    return str(Decimal(str(value)).quantize(Decimal("0.01")))


async def location_zone(db: Database, location_id: int) -> ZoneInfo:
    zone_name = await db.fetchval("SELECT timezone FROM location WHERE id = ?", location_id)
    if zone_name is None:
        raise NotFound("location", location_id)
    return ZoneInfo(zone_name)


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


async def load_service(db: Database, service_id: int) -> ServiceInfo:
    rows = await db.fetch(
        "SELECT id, name, category, duration_min, buffer_before_min, buffer_after_min, prep_min, cleanup_min,"
        " price, currency, deposit_kind, deposit_value, required_skill, min_notice_min,"
        " max_days_ahead, slot_step_min, seats FROM service WHERE id = ? AND active = ?",
        service_id,
        True,
    )
    if not rows:
        raise NotFound("service", service_id)
    r = rows[0]
    # A deactivated location takes no bookings.
    locations = await db.fetch(
        "SELECT sl.location FROM service_location sl JOIN location l ON l.id = sl.location"
        " WHERE sl.service = ? AND l.active = ?",
        service_id,
        True,
    )
    resources = await db.fetch("SELECT resource FROM service_resource WHERE service = ?", service_id)
    rule = ServiceRule(
        duration=int(r["duration_min"]),
        step=int(r["slot_step_min"]),
        buffer_before=int(r["buffer_before_min"]),
        buffer_after=int(r["buffer_after_min"]),
        prep=int(r["prep_min"]),
        cleanup=int(r["cleanup_min"]),
        min_notice=int(r["min_notice_min"]),
        max_days_ahead=int(r["max_days_ahead"]),
    )
    return ServiceInfo(
        id=int(r["id"]),
        name=r["name"],
        category=r["category"],
        rule=rule,
        required_skill=r["required_skill"],
        seats=int(r["seats"]),
        price=money(r["price"]),
        currency=r["currency"],
        deposit_kind=r["deposit_kind"],
        deposit_value=money(r["deposit_value"]),
        location_ids=tuple(int(x["location"]) for x in locations),
        resource_ids=tuple(int(x["resource"]) for x in resources),
    )


async def qualified_staff(
    db: Database, service: ServiceInfo, location_id: int, staff_id: int | None = None
) -> list[int]:
    rows = await db.fetch(
        "SELECT s.id, s.skills FROM staff s JOIN staff_location sl ON sl.staff = s.id"
        " WHERE sl.location = ? AND s.active = ? ORDER BY s.id",
        location_id,
        True,
    )
    found = [
        int(r["id"])
        for r in rows
        if service.required_skill is None or service.required_skill in json.loads(r["skills"])
    ]
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
) -> Availability:
    """Load working time and busy time of `staff_ids` for local days first_day..last_day."""
    zone = await location_zone(db, location_id)
    days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
    # The UTC window covering the local days, widened by the longest block edge.
    margin = timedelta(minutes=service.rule.lead + service.rule.tail + 24 * 60)
    window_start = datetime.combine(first_day, time(0), tzinfo=zone).astimezone(UTC) - margin
    window_end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC) + margin
    calendars = {sid: StaffCalendar(sid, []) for sid in staff_ids}
    if not calendars:
        return Availability(service, location_id, zone, days, set(), [], [])
    marks = ", ".join("?" for _ in calendars)
    ids = list(calendars)

    for r in await db.fetch(
        f"SELECT staff, weekday, start_time, end_time, breaks FROM working_hours"
        f" WHERE location = ? AND staff IN ({marks})",
        location_id,
        *ids,
    ):
        breaks = tuple((_hhmm(a), _hhmm(b)) for a, b in json.loads(r["breaks"]))
        calendars[int(r["staff"])].shifts.append(
            WeeklyShift(int(r["weekday"]), _hhmm(r["start_time"]), _hhmm(r["end_time"]), breaks)
        )
    for r in await db.fetch(
        f"SELECT staff, kind, starts_at, ends_at FROM staff_exception WHERE staff IN ({marks})"
        " AND (location IS NULL OR location = ?) AND starts_at < ? AND ends_at > ?",
        *ids,
        location_id,
        window_end,
        window_start,
    ):
        target = calendars[int(r["staff"])].off if r["kind"] == "off" else calendars[int(r["staff"])].extra
        target.append((to_minutes(r["starts_at"]), to_minutes(r["ends_at"])))
    closed = {
        r["day"] if isinstance(r["day"], date) else date.fromisoformat(r["day"])
        for r in await db.fetch(
            "SELECT day FROM closure WHERE (location IS NULL OR location = ?) AND day >= ? AND day <= ?",
            location_id,
            first_day,
            last_day,
        )
    }
    active = (
        " AND (b.status IN ('confirmed', 'completed', 'no_show')"
        " OR (b.status = 'pending' AND (b.hold_expires_at IS NULL OR b.hold_expires_at > ?)))"
    )
    exclude = " AND b.id <> ?" if exclude_booking is not None else ""
    extra_args = [exclude_booking] if exclude_booking is not None else []
    # The biggest read (one row per booking in the window): minutes computed by the database, plain tuples.
    busy_rows = await db.fetch_tuples(
        f"SELECT o.owner_id, {db.epoch_minutes('o.starts_at')}, {db.epoch_minutes('o.ends_at')}"
        " FROM occupancy o JOIN booking b ON b.id = o.booking"
        f" WHERE o.owner_kind = 'staff' AND o.owner_id IN ({marks}) AND o.starts_at < ? AND o.ends_at > ?"
        f"{active}{exclude}",
        *ids,
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
        resource = await db.fetch("SELECT capacity, active FROM resource WHERE id = ?", resource_id)
        if not resource or not resource[0]["active"]:
            # A required room or device that is out of service blocks the service entirely.
            resource_busy.append((to_minutes(window_start), to_minutes(window_end)))
            continue
        capacity = int(resource[0]["capacity"])
        rows = await db.fetch_tuples(
            f"SELECT {db.epoch_minutes('o.starts_at')}, {db.epoch_minutes('o.ends_at')}"
            " FROM occupancy o JOIN booking b ON b.id = o.booking"
            " WHERE o.owner_kind = 'resource' AND o.owner_id = ? AND o.starts_at < ? AND o.ends_at > ?"
            f"{active}{exclude}",
            resource_id,
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
