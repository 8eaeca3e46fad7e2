"""The schedule's slow-changing facts, read once per schedule version and kept in memory.

Services, locations, staff and their skills, weekly hours, resources, exceptions and closures change a few
times a day; bookings change all the time. A slot query used to read all of them on every request (ten
statements, each a trip to a database thread), which capped one process at a few hundred queries per
second. Now it reads them once and checks one number before trusting the copy: `schedule_version`, which
database triggers bump on any change to those tables, whoever makes it (migration m0007).

The check is exact inside a transaction (a booking being written always sees the committed schedule).
Outside one, a check stays good for CHECK_TTL seconds unless this process has committed something since;
so a change made through another process shows in read-only slot listings within a second, and a change
made through this one at once. The database stays the only copy that matters (architecture.md, "Scale").
"""

from __future__ import annotations

import json
import time as clock
import weakref
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from core.db.database import Database
from core.scheduling.availability import Interval, ServiceRule, WeeklyShift, to_minutes

CHECK_TTL = 1.0
# Exceptions and closures are kept from this long before the catalogue was read; older windows are read
# from the database directly.
KEEP_PAST = timedelta(days=2)


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
    # Hours before the start at which reminders go out; None: the business default.
    reminder_hours: tuple[int, ...] | None = None

    def deposit_due(self) -> str:
        if self.deposit_kind == "fixed":
            return money(self.deposit_value)
        if self.deposit_kind == "percent":
            return money(Decimal(self.price) * Decimal(self.deposit_value) / 100)
        return money(0)


def money(value: object) -> str:
    """Amounts as text with two decimals on both engines (SQLite may hand back 500 for 500.00)."""
    return str(Decimal(str(value)).quantize(Decimal("0.01")))


@dataclass(frozen=True)
class StaffMember:
    id: int
    skills: frozenset[str]


@dataclass(frozen=True)
class Resource:
    capacity: int
    active: bool


@dataclass(frozen=True)
class TimeExceptions:
    """Dated exceptions of one staff member at one location, in epoch minutes."""

    off: tuple[Interval, ...] = ()
    extra: tuple[Interval, ...] = ()


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


@dataclass
class Catalogue:
    """What one schedule version holds; each part is read the first time it is asked for."""

    version: int
    since: datetime  # exceptions and closures ending before this are not kept
    services: dict[int, ServiceInfo | None] = field(default_factory=dict)
    zones: dict[int, ZoneInfo | None] = field(default_factory=dict)
    staff_at: dict[int, tuple[StaffMember, ...]] = field(default_factory=dict)
    shifts_at: dict[int, dict[int, tuple[WeeklyShift, ...]]] = field(default_factory=dict)
    resources: dict[int, Resource | None] = field(default_factory=dict)
    exceptions_at: dict[int, dict[int, TimeExceptions]] = field(default_factory=dict)
    closures_at: dict[int, frozenset[date]] = field(default_factory=dict)

    async def service(self, db: Database, service_id: int) -> ServiceInfo | None:
        """The service if it exists and is active."""
        if service_id not in self.services:
            self.services[service_id] = await _read_service(db, service_id)
        return self.services[service_id]

    async def zone(self, db: Database, location_id: int) -> ZoneInfo | None:
        if location_id not in self.zones:
            name = await db.fetchval("SELECT timezone FROM location WHERE id = ?", location_id)
            self.zones[location_id] = ZoneInfo(name) if name is not None else None
        return self.zones[location_id]

    async def staff(self, db: Database, location_id: int) -> tuple[StaffMember, ...]:
        """Active staff members who work at the location, by id."""
        if location_id not in self.staff_at:
            rows = await db.fetch(
                "SELECT s.id, s.skills FROM staff s JOIN staff_location sl ON sl.staff = s.id"
                " WHERE sl.location = ? AND s.active = ? ORDER BY s.id",
                location_id,
                True,
            )
            self.staff_at[location_id] = tuple(
                StaffMember(int(r["id"]), frozenset(json.loads(r["skills"]))) for r in rows
            )
        return self.staff_at[location_id]

    async def shifts(self, db: Database, location_id: int) -> dict[int, tuple[WeeklyShift, ...]]:
        """Weekly hours at the location, per staff member."""
        if location_id not in self.shifts_at:
            per_staff: dict[int, list[WeeklyShift]] = {}
            for r in await db.fetch(
                "SELECT staff, weekday, start_time, end_time, breaks FROM working_hours WHERE location = ?"
                " ORDER BY staff, weekday, start_time",
                location_id,
            ):
                breaks = tuple(
                    (time.fromisoformat(a), time.fromisoformat(b)) for a, b in json.loads(r["breaks"])
                )
                per_staff.setdefault(int(r["staff"]), []).append(
                    WeeklyShift(
                        int(r["weekday"]),
                        time.fromisoformat(r["start_time"]),
                        time.fromisoformat(r["end_time"]),
                        breaks,
                    )
                )
            self.shifts_at[location_id] = {sid: tuple(shifts) for sid, shifts in per_staff.items()}
        return self.shifts_at[location_id]

    async def resource(self, db: Database, resource_id: int) -> Resource | None:
        if resource_id not in self.resources:
            rows = await db.fetch("SELECT capacity, active FROM resource WHERE id = ?", resource_id)
            self.resources[resource_id] = (
                Resource(int(rows[0]["capacity"]), bool(rows[0]["active"])) if rows else None
            )
        return self.resources[resource_id]

    async def exceptions(
        self, db: Database, location_id: int, window_start: datetime, window_end: datetime
    ) -> dict[int, TimeExceptions]:
        """Time off and extra hours at the location (or at all locations) overlapping the window."""
        if window_start < self.since:
            return await _read_exceptions(db, location_id, window_start, window_end)
        if location_id not in self.exceptions_at:
            self.exceptions_at[location_id] = await _read_exceptions(db, location_id, self.since, None)
        low, high = to_minutes(window_start), to_minutes(window_end)

        def inside(intervals: tuple[Interval, ...]) -> tuple[Interval, ...]:
            return tuple((a, b) for a, b in intervals if a < high and b > low)

        return {
            sid: TimeExceptions(inside(dated.off), inside(dated.extra))
            for sid, dated in self.exceptions_at[location_id].items()
        }

    async def closures(self, db: Database, location_id: int, first_day: date, last_day: date) -> set[date]:
        """Closed local days of the location (closures for one location or for all)."""
        if first_day < self.since.date():
            return await _read_closures(db, location_id, first_day, last_day)
        if location_id not in self.closures_at:
            self.closures_at[location_id] = frozenset(
                await _read_closures(db, location_id, self.since.date(), None)
            )
        return {day for day in self.closures_at[location_id] if first_day <= day <= last_day}


async def _read_service(db: Database, service_id: int) -> ServiceInfo | None:
    rows = await db.fetch(
        "SELECT id, name, category, duration_min, buffer_before_min, buffer_after_min, prep_min, cleanup_min,"
        " price, currency, deposit_kind, deposit_value, required_skill, min_notice_min,"
        " max_days_ahead, slot_step_min, seats, reminder_hours FROM service WHERE id = ? AND active = ?",
        service_id,
        True,
    )
    if not rows:
        return None
    r = rows[0]
    # A deactivated location takes no bookings.
    locations = await db.fetch(
        "SELECT sl.location FROM service_location sl JOIN location l ON l.id = sl.location"
        " WHERE sl.service = ? AND l.active = ? ORDER BY sl.location",
        service_id,
        True,
    )
    resources = await db.fetch(
        "SELECT resource FROM service_resource WHERE service = ? ORDER BY resource", service_id
    )
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
        reminder_hours=None if r["reminder_hours"] is None else tuple(json.loads(r["reminder_hours"])),
    )


async def _read_exceptions(
    db: Database, location_id: int, window_start: datetime, window_end: datetime | None
) -> dict[int, TimeExceptions]:
    until = " AND starts_at < ?" if window_end is not None else ""
    rows = await db.fetch(
        "SELECT staff, kind, starts_at, ends_at FROM staff_exception"
        f" WHERE (location IS NULL OR location = ?) AND ends_at > ?{until} ORDER BY staff, starts_at",
        location_id,
        window_start,
        *([window_end] if window_end is not None else []),
    )
    off: dict[int, list[Interval]] = {}
    extra: dict[int, list[Interval]] = {}
    for r in rows:
        target = off if r["kind"] == "off" else extra
        target.setdefault(int(r["staff"]), []).append((to_minutes(r["starts_at"]), to_minutes(r["ends_at"])))
    return {sid: TimeExceptions(tuple(off.get(sid, ())), tuple(extra.get(sid, ()))) for sid in {*off, *extra}}


async def _read_closures(db: Database, location_id: int, first_day: date, last_day: date | None) -> set[date]:
    until = " AND day <= ?" if last_day is not None else ""
    rows = await db.fetch(
        f"SELECT day FROM closure WHERE (location IS NULL OR location = ?) AND day >= ?{until}",
        location_id,
        first_day,
        *([last_day] if last_day is not None else []),
    )
    return {_day(r["day"]) for r in rows}


@dataclass
class _Held:
    catalogue: Catalogue | None = None
    checked_at: float = float("-inf")
    commits_seen: int = -1
    # A catalogue read inside a transaction, kept only once that transaction commits.
    pending: tuple[object, Catalogue] | None = None


_held: weakref.WeakKeyDictionary[Database, _Held] = weakref.WeakKeyDictionary()


async def catalogue(db: Database) -> Catalogue:
    """The catalogue for the schedule as the caller's connection sees it now."""
    held = _held.setdefault(db, _Held())
    tx = db.current_tx
    kept = held.catalogue
    if (
        kept is not None
        and tx is None
        and held.commits_seen == db.commits
        and clock.monotonic() - held.checked_at < CHECK_TTL
    ):
        return kept
    commits = db.commits
    version = int(await db.fetchval("SELECT version FROM schedule_version WHERE id = 1"))
    if kept is not None and kept.version == version:
        if tx is None:
            held.checked_at, held.commits_seen = clock.monotonic(), commits
        return kept
    if tx is None:
        held.catalogue = fresh = Catalogue(version, datetime.now(UTC) - KEEP_PAST)
        held.checked_at, held.commits_seen = clock.monotonic(), commits
        return fresh
    # Inside a transaction that may be the one changing the schedule and may yet roll back: what it
    # reads is kept for others only after it commits (a later change has a higher version anyway).
    if held.pending is not None and held.pending[0] is tx and held.pending[1].version == version:
        return held.pending[1]
    fresh = Catalogue(version, datetime.now(UTC) - KEEP_PAST)
    held.pending = (tx, fresh)

    async def keep() -> None:
        if held.catalogue is None or held.catalogue.version < fresh.version:
            held.catalogue = fresh
        if held.pending is not None and held.pending[1] is fresh:
            held.pending = None

    tx.after_commit(keep)
    return fresh
