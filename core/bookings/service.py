"""The booking lifecycle: create, confirm, reschedule, cancel, complete, no-show, expire holds.

Each transition runs in one write transaction that checks availability (for a friendly answer and
alternatives), writes the booking and its occupancy rows (the database refuses overlaps, whatever the
application thought), records history and audit rows, and fires the in-transaction validation hook;
the after-commit hooks fire only once it has committed.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from core.audit.records import Actor, current_actor
from core.bookings import waitlist
from core.bookings.snapshot import BookingSnapshot, BookingStatus
from core.customers.service import NewCustomer, find_or_create
from core.errors import Conflict, FieldError, NotFound
from core.notifications.planner import Planner
from core.scheduling.availability import Slot, find_slots, from_minutes, to_minutes
from core.scheduling.catalogue import Catalogue, catalogue
from core.scheduling.loader import (
    ServiceInfo,
    load_availability,
    load_service,
    location_zone,
    money,
    qualified_staff,
)

if TYPE_CHECKING:
    from core.context import AppContext

ACTIVE = ("pending", "confirmed")
RETRIES_ON_RACE = 2
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "confirm": ("pending",),
    "cancel": ("pending", "confirmed"),
    "complete": ("confirmed",),
    "no_show": ("confirmed",),
    "reschedule": ("pending", "confirmed"),
}


class SlotTaken(Conflict):
    """The requested time is not (or no longer) free."""


def _is_overlap_violation(err: BaseException) -> bool:
    """True when the database refused an occupancy because a concurrent one holds that time.

    PostgreSQL checks an exclusion constraint after putting the new row in the index, so two
    transactions inserting rows that overlap each other can each wait for the other; the deadlock
    detector then aborts one of them (40P01). That is the same race as an exclusion violation
    (23P01) and is retried or reported the same way.
    """
    if isinstance(err, sqlite3.IntegrityError):
        return "occupancy_overlap" in str(err)
    return getattr(err, "sqlstate", None) in ("23P01", "40P01")


def utc_minute(moment: datetime) -> datetime:
    """UTC, whole minutes: every stored booking time has this exact form (SQLite compares text)."""
    if moment.tzinfo is None:
        raise FieldError("start", "must include a UTC offset, e.g. 2030-01-07T09:00:00+03:00")
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


@dataclass
class NewBooking:
    service_id: int
    start: datetime
    staff_id: int | None = None
    customer_id: int | None = None
    # Or a person to find or create in the booking's own transaction (no card if the booking fails).
    customer: NewCustomer | None = None
    location_id: int | None = None
    source: Literal["web", "staff", "api"] = "api"
    hold_minutes: int | None = None  # pending with a hold (e.g. waiting for a deposit)
    notes: str | None = None
    # When the booking is made: now, or an earlier moment when importing history (notice rules and
    # `created_at` follow it).
    as_of: datetime | None = None
    # A waitlist offer: the customer gets the offer message instead of a confirmation.
    offer: bool = False
    # The request that asks for this booking (e.g. the booking page's form): a second booking with
    # the same key is refused with RequestRepeated, which carries the first one.
    request_key: str | None = None


class RequestRepeated(Exception):
    """This request already made a booking (a second press of the same button)."""

    def __init__(self, booking: BookingSnapshot) -> None:
        super().__init__(f"request already made booking {booking.id}")
        self.booking = booking


def _is_repeated_request(err: BaseException) -> bool:
    if isinstance(err, sqlite3.IntegrityError):
        return "booking.request_key" in str(err)
    return getattr(err, "sqlstate", None) == "23505" and getattr(err, "constraint_name", "") == (
        "booking_request_key"
    )


def snapshot(row: Any, service_ids: tuple[int, ...] | None = None) -> BookingSnapshot:
    return BookingSnapshot(
        id=int(row["id"]),
        status=row["status"],
        location_id=int(row["location"]),
        service_ids=service_ids or (int(row["service"]),),
        staff_id=int(row["staff"]) if row["staff"] is not None else None,
        customer_id=int(row["customer"]) if row["customer"] is not None else None,
        start=row["start_at"],
        end=row["end_at"],
        source=row["source"],
        price=money(row["price"]),
        currency=row["currency"],
        deposit_due=money(row["deposit_due"]),
        hold_expires_at=row["hold_expires_at"],
    )


BOOKING_COLUMNS = (
    "id, location, service, staff, customer, status, start_at, end_at, hold_expires_at, source,"
    " price, currency, deposit_due"
)


class BookingService:
    def __init__(self, context: AppContext) -> None:
        self.ctx = context
        self.db = context.db

    # ---------------------------------------------------------------------------------------------
    async def slots(
        self,
        service: ServiceInfo,
        location_id: int,
        first_day: date,
        last_day: date,
        staff_id: int | None = None,
        now: datetime | None = None,
        exclude_booking: int | None = None,
        schedule: Catalogue | None = None,
        only: datetime | None = None,
        read_busy: bool = True,
    ) -> tuple[ZoneInfo, list[Slot]]:
        """Free slots on the location's local days first_day..last_day (or just the one at `only`)."""
        now = now or datetime.now(UTC)
        schedule = schedule or await catalogue(self.db)
        staff = await qualified_staff(self.db, service, location_id, staff_id, schedule)
        block = None
        if only is not None:
            block = (
                only - timedelta(minutes=service.rule.lead),
                only + timedelta(minutes=service.rule.tail),
            )
        data = await load_availability(
            self.db, service, location_id, first_day, last_day, staff, now, exclude_booking, schedule, block,
            read_busy,
        )  # fmt: skip
        found = find_slots(
            data.calendars,
            service.rule,
            data.days,
            data.zone,
            data.closed,
            to_minutes(now),
            data.resource_busy,
            None if only is None else to_minutes(only),
        )
        if service.seats > 1:
            found = await self._with_open_sessions(
                found, service, location_id, data.days, data.zone, now, staff
            )
        return data.zone, found

    async def _open_sessions(
        self, service: ServiceInfo, location_id: int, first: datetime, last: datetime
    ) -> dict[tuple[int, int], int]:
        """{(start minute, staff): seats taken} for sessions of a group service with seats left."""
        rows = await self.db.fetch(
            "SELECT staff, start_at, COUNT(*) AS taken FROM booking WHERE service = ? AND location = ?"
            " AND status IN ('pending', 'confirmed') AND start_at >= ? AND start_at < ?"
            " GROUP BY staff, start_at",
            service.id, location_id, first, last,
        )  # fmt: skip
        return {
            (to_minutes(r["start_at"]), int(r["staff"])): int(r["taken"])
            for r in rows
            if int(r["taken"]) < service.seats
        }

    async def _with_open_sessions(
        self,
        found: list[Slot],
        service: ServiceInfo,
        location_id: int,
        days: list[date],
        zone: ZoneInfo,
        now: datetime,
        staff: list[int],
    ) -> list[Slot]:
        """A group session with seats left is bookable even though its staff member is busy with it."""
        first = datetime.combine(days[0], datetime.min.time(), tzinfo=zone).astimezone(UTC)
        last = datetime.combine(days[-1] + timedelta(days=1), datetime.min.time(), tzinfo=zone).astimezone(
            UTC
        )
        earliest = to_minutes(now) + service.rule.min_notice
        by_start = {s.start: set(s.staff) for s in found}
        for (start, staff_id), _taken in (
            await self._open_sessions(service, location_id, first, last)
        ).items():
            if staff_id in staff and start >= earliest:
                by_start.setdefault(start, set()).add(staff_id)
        return [
            Slot(start, start + service.rule.duration, tuple(sorted(members)))
            for start, members in sorted(by_start.items())
        ]

    async def slots_around(
        self,
        service: ServiceInfo,
        location_id: int,
        moment: datetime,
        staff_id: int | None = None,
        now: datetime | None = None,
        exclude_booking: int | None = None,
        read_busy: bool = True,
    ) -> tuple[ZoneInfo, Slot | None]:
        """The free slot starting exactly at `moment`, if there is one (`read_busy` False: judged on
        working time alone, see `_insert`)."""
        schedule = await catalogue(self.db)
        zone = await location_zone(self.db, location_id, schedule)
        day = moment.astimezone(zone).date()
        zone, found = await self.slots(
            service, location_id, day, day, staff_id, now, exclude_booking, schedule, only=moment,
            read_busy=read_busy,
        )  # fmt: skip
        target = to_minutes(moment)
        return zone, next((s for s in found if s.start == target), None)

    def location_for(self, service: ServiceInfo, location_id: int | None) -> int:
        if location_id is not None:
            if location_id not in service.location_ids:
                raise FieldError("location", "this service is not offered at this location")
            return location_id
        if len(service.location_ids) == 1:
            return service.location_ids[0]
        if not service.location_ids:
            raise FieldError("service", "this service is not offered at any location")
        raise FieldError("location", "required: this service is offered at several locations")

    async def _alternatives(
        self, service: ServiceInfo, location_id: int, start: datetime, staff_id: int | None, limit: int = 5
    ) -> list[dict[str, Any]]:
        """Nearest free slots around the asked time (same and next days), least busy staff first."""
        zone = await location_zone(self.db, location_id)
        day = start.astimezone(zone).date()
        zone, found = await self.slots(
            service, location_id, day - timedelta(days=1), day + timedelta(days=7), staff_id
        )
        target = to_minutes(start)
        nearest = sorted(found, key=lambda s: (abs(s.start - target), -len(s.staff)))[:limit]
        return [
            {
                "start": from_minutes(s.start).astimezone(zone).isoformat(),
                "end": from_minutes(s.end).astimezone(zone).isoformat(),
                "staff": list(s.staff),
            }
            for s in sorted(nearest, key=lambda s: s.start)
        ]

    async def _pick_staff(self, candidates: tuple[int, ...], start: datetime, zone: Any) -> int:
        """Spread the load: fewest bookings that local day, then the one booked least recently."""
        if len(candidates) == 1:
            return candidates[0]
        local = start.astimezone(zone)
        day_start = local.replace(hour=0, minute=0).astimezone(UTC)
        day_end = (local.replace(hour=0, minute=0) + timedelta(days=1)).astimezone(UTC)
        marks = ", ".join("?" for _ in candidates)
        rows = await self.db.fetch(
            f"SELECT staff, COUNT(*) AS n, MAX(created_at) AS last FROM booking WHERE staff IN ({marks})"
            " AND status IN ('pending', 'confirmed', 'completed') AND start_at >= ? AND start_at < ?"
            " GROUP BY staff",
            *candidates,
            day_start,
            day_end,
        )
        load = {int(r["staff"]): (int(r["n"]), str(r["last"] or "")) for r in rows}
        return min(candidates, key=lambda sid: (*load.get(sid, (0, "")), sid))

    # ---------------------------------------------------------------------------------------------
    async def create(self, request: NewBooking) -> BookingSnapshot:
        start = utc_minute(request.start)
        service = await load_service(self.db, request.service_id)
        location_id = self.location_for(service, request.location_id)
        now = request.as_of or datetime.now(UTC)
        try:
            return await self._create(request, service, location_id, start, now)
        except Exception as err:
            if request.request_key is None or not _is_repeated_request(err):
                raise
            # The other press committed first (this insert waited for it): show that booking.
            rows = await self.db.fetch(
                f"SELECT {BOOKING_COLUMNS} FROM booking WHERE request_key = ?", request.request_key
            )
            raise RequestRepeated(snapshot(rows[0])) from None

    async def _create(
        self, request: NewBooking, service: ServiceInfo, location_id: int, start: datetime, now: datetime
    ) -> BookingSnapshot:
        async with self._translating_conflicts(service, location_id, start, request.staff_id):
            for attempt in range(RETRIES_ON_RACE + 1):
                try:
                    async with self.db.transaction():
                        if attempt:
                            # The availability check already ignores expired holds, but their time
                            # stays occupied until cancelled: on a refusal, free them and try again
                            # (the worker frees the rest on its rounds), instead of a search for
                            # them in every booking's transaction.
                            await self.expire_holds(now)
                        with_customer = await self._with_customer(request)
                        return await self._insert(
                            with_customer, service, location_id, start, now, optimistic=not attempt
                        )
                except Exception as err:
                    # A concurrent transaction committed first: decide again on what is now committed
                    # (e.g. join the group session it opened instead of failing).
                    if not _is_overlap_violation(err) or attempt == RETRIES_ON_RACE:
                        raise
        raise AssertionError("unreachable")

    @asynccontextmanager
    async def _translating_conflicts(
        self, service: ServiceInfo, location_id: int, start: datetime, staff_id: int | None
    ) -> AsyncIterator[None]:
        """Turn "taken" (by our check or by the database guard) into SlotTaken with alternatives."""
        try:
            yield
        except SlotTaken as err:
            if "alternatives" not in err.extra:
                err.extra["alternatives"] = await self._alternatives(service, location_id, start, staff_id)
            raise
        except Exception as err:
            if not _is_overlap_violation(err):
                raise
            taken = SlotTaken("the requested time was just taken")
            taken.extra["alternatives"] = await self._alternatives(service, location_id, start, staff_id)
            raise taken from None

    async def _with_customer(self, request: NewBooking) -> NewBooking:
        if request.customer is None:
            return request
        return replace(request, customer_id=await find_or_create(self.ctx, request.customer))

    async def _insert(
        self,
        request: NewBooking,
        service: ServiceInfo,
        location_id: int,
        start: datetime,
        now: datetime,
        visit_key: str | None = None,
        series_key: str | None = None,
        optimistic: bool = False,
    ) -> BookingSnapshot:
        """Check, write and announce one booking inside the current transaction.

        `optimistic` (the first attempt of a single booking): when one named staff member and nothing
        else is occupied, the database's overlap guard decides whether the time is free, so the check
        reads working time, closures and notice but not the staff member's other bookings. A refusal
        by the guard brings the caller back with a full check, which then names the reason.
        """
        if service.seats > 1:
            # Everyone booking this session queues here: seat-takers see each other's seats instead
            # of all opening it at once and retrying (on PostgreSQL those retries can deadlock).
            await self.db.lock(f"ajanda_session:{service.id}:{location_id}:{start.isoformat()}")
        guard_decides = (
            optimistic and request.staff_id is not None and service.seats == 1 and not service.resource_ids
        )
        zone, free = await self.slots_around(
            service, location_id, start, request.staff_id, now, read_busy=not guard_decides
        )
        if free is None:
            raise SlotTaken("the requested time is not available")
        session = None
        if service.seats > 1:
            window = (start, start + timedelta(minutes=1))
            sessions = await self._open_sessions(service, location_id, *window)
            # Fill a session that has started to fill before opening another.
            session = next((sid for (_m, sid) in sessions if sid in free.staff), None)
        staff_id = session or await self._pick_staff(free.staff, start, zone)
        end = start + timedelta(minutes=service.rule.duration)
        status: BookingStatus = "pending" if request.hold_minutes else "confirmed"
        hold = now + timedelta(minutes=request.hold_minutes) if request.hold_minutes else None
        price, deposit = money(service.price), money(service.deposit_due())
        booking_id = await self.db.fetchval(
            "INSERT INTO booking (location, service, staff, customer, visit_key, series_key, status,"
            " start_at, end_at, hold_expires_at, source, price, currency, deposit_due, notes_enc,"
            " created_at, updated_at, request_key)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            location_id, service.id, staff_id, request.customer_id, visit_key, series_key, status,
            start, end, hold, request.source, Decimal(price), service.currency, Decimal(deposit),
            self.ctx.cipher.encrypt(request.notes, "booking.notes"), now, now, request.request_key,
        )  # fmt: skip
        # Built from what was written rather than read back: the row's own values, without a
        # converter per column (tests/test_bookings.py compares the two).
        booking = BookingSnapshot(
            id=int(booking_id), status=status, location_id=location_id, service_ids=(service.id,),
            staff_id=staff_id, customer_id=request.customer_id, start=start, end=end,
            source=request.source, price=price, currency=service.currency, deposit_due=deposit,
            hold_expires_at=hold,
        )  # fmt: skip
        # The occupancy first: a time the guard refuses never reaches the plugins' validation.
        await self._place(booking, service, staff_id, start)
        await self.ctx.hooks.call("booking_validate", booking=booking, action="create")
        await self._history(booking.id, "created", None, booking)
        changes = {
            "status": status, "start": start.isoformat(), "staff": staff_id, "service": service.id,
            "source": request.source, "visit": visit_key, "series": series_key,
        }  # fmt: skip
        await self.ctx.audit.record("booking", booking.id, "created", changes)
        await Planner(self.ctx).created(
            booking, service.reminder_hours, group=visit_key or series_key, offer=request.offer
        )
        await self.ctx.hooks.call("booking_created", booking=booking)
        return booking

    async def create_visit(
        self, parts: list[tuple[int, int | None]], request: NewBooking
    ) -> list[BookingSnapshot]:
        """Several services back to back in one visit (e.g. cut then colour), all or nothing.

        `parts` is [(service id, staff id or None for anyone)]; each part starts when the previous
        one ends, possibly with another staff member.
        """
        if not parts:
            raise FieldError("services", "at least one service")
        start = utc_minute(request.start)
        now = request.as_of or datetime.now(UTC)
        visit_key = uuid.uuid4().hex[:16]
        booked: list[BookingSnapshot] = []
        cursor = start
        async with self.db.transaction():
            await self.expire_holds(now)
            request = await self._with_customer(request)
            for index, (service_id, staff_id) in enumerate(parts):
                service = await load_service(self.db, service_id)
                location_id = self.location_for(service, request.location_id)
                part = replace(request, service_id=service_id, staff_id=staff_id, start=cursor)
                try:
                    async with self._translating_conflicts(service, location_id, cursor, staff_id):
                        booked.append(await self._insert(part, service, location_id, cursor, now, visit_key))
                except SlotTaken as err:
                    err.extra["part"] = index
                    raise
                cursor = cursor + timedelta(minutes=service.rule.duration)
        return booked

    async def create_series(
        self,
        request: NewBooking,
        every: int,
        unit: Literal["days", "weeks"],
        count: int | None = None,
        until: date | None = None,
        skip_conflicts: bool = False,
    ) -> tuple[list[BookingSnapshot], list[dict[str, Any]]]:
        """A recurring series (every N days or weeks, `count` times or until a date).

        Every occurrence is checked. With conflicts and `skip_conflicts` false nothing is booked and
        SlotTaken lists each conflicting occurrence with its alternatives; with it true the free ones
        are booked and the conflicts returned.
        """
        if (count is None) == (until is None):
            raise FieldError("repeat", "give exactly one of count and until")
        if count is not None and not 1 <= count <= 104:
            raise FieldError("repeat.count", "between 1 and 104")
        start = utc_minute(request.start)
        service = await load_service(self.db, request.service_id)
        location_id = self.location_for(service, request.location_id)
        zone = await location_zone(self.db, location_id)
        local = start.astimezone(zone)
        step = timedelta(days=every * (7 if unit == "weeks" else 1))
        occurrences: list[datetime] = []
        wall = local.replace(tzinfo=None)
        while (count is None or len(occurrences) < count) and len(occurrences) < 104:
            if until is not None and wall.date() > until:
                break
            # Same wall-clock time in the location's zone, whatever DST does in between.
            occurrences.append(wall.replace(tzinfo=zone).astimezone(UTC))
            wall += step
        now = request.as_of or datetime.now(UTC)
        series_key = uuid.uuid4().hex[:16]
        booked: list[BookingSnapshot] = []
        conflicts: list[dict[str, Any]] = []
        async with self.db.transaction():
            await self.expire_holds(now)
            for index, moment in enumerate(occurrences):
                _, free = await self.slots_around(service, location_id, moment, request.staff_id, now)
                if free is None:
                    conflicts.append({"occurrence": index, "start": moment.astimezone(zone).isoformat()})
            if conflicts and not skip_conflicts:
                for conflict in conflicts:
                    moment = datetime.fromisoformat(conflict["start"])
                    conflict["alternatives"] = await self._alternatives(
                        service, location_id, moment, request.staff_id, limit=3
                    )
                err = SlotTaken(f"{len(conflicts)} of {len(occurrences)} occurrences are not available")
                err.extra["conflicts"] = conflicts
                err.extra["alternatives"] = []
                raise err
            taken = {c["occurrence"] for c in conflicts}
            async with self._translating_conflicts(service, location_id, start, request.staff_id):
                for index, moment in enumerate(occurrences):
                    if index not in taken:
                        occurrence = replace(request, start=moment)
                        booked.append(
                            await self._insert(
                                occurrence, service, location_id, moment, now, None, series_key
                            )
                        )
        return booked, conflicts

    async def _take_unit(
        self,
        booking_id: int,
        kind: str,
        owner_id: int,
        capacity: int,
        block: tuple[datetime, datetime],
        full: str,
    ) -> None:
        """Take the lowest free unit of a resource or session; the database refuses a taken one."""
        block_start, block_end = block
        used = {
            int(r["unit"])
            for r in await self.db.fetch(
                "SELECT unit FROM occupancy WHERE owner_kind = ? AND owner_id = ?"
                " AND starts_at < ? AND ends_at > ?",
                kind,
                owner_id,
                block_end,
                block_start,
            )
        }
        unit = next((u for u in range(capacity) if u not in used), None)
        if unit is None:
            raise SlotTaken(full)
        await self.db.execute(
            "INSERT INTO occupancy (booking, owner_kind, owner_id, unit, starts_at, ends_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            booking_id, kind, owner_id, unit, block_start, block_end,
        )  # fmt: skip

    @staticmethod
    def _block(service: ServiceInfo, start: datetime) -> tuple[datetime, datetime]:
        block_start, block_end = service.rule.block(to_minutes(start))
        return from_minutes(block_start), from_minutes(block_end)

    async def _place(
        self, booking: BookingSnapshot, service: ServiceInfo, staff_id: int, start: datetime
    ) -> None:
        """Write the occupancy of a booking: staff and resources, or a seat in an open group session."""
        if service.seats > 1:
            joins = await self.db.fetchval(
                "SELECT COUNT(*) FROM booking WHERE service = ? AND staff = ? AND start_at = ? AND id <> ?"
                " AND status IN ('pending', 'confirmed')",
                service.id, staff_id, start, booking.id,
            )  # fmt: skip
            if not joins:
                await self._occupy(booking.id, service, staff_id, start)
            block = self._block(service, start)
            await self._take_unit(booking.id, "seat", staff_id, service.seats, block, "this session is full")
            return
        await self._occupy(booking.id, service, staff_id, start)

    async def _release(self, booking: BookingSnapshot) -> None:
        """Drop a booking's occupancy; a group session's staff and room stay held by another seat."""
        heir = await self.db.fetchval(
            "SELECT b.id FROM booking b WHERE b.service = ? AND b.staff = ? AND b.start_at = ? AND b.id <> ?"
            " AND b.status IN ('pending', 'confirmed') ORDER BY b.id LIMIT 1",
            booking.service_ids[0], booking.staff_id, booking.start, booking.id,
        )  # fmt: skip
        if heir is not None:
            await self.db.execute(
                "UPDATE occupancy SET booking = ? WHERE booking = ? AND owner_kind IN ('staff', 'resource')",
                heir,
                booking.id,
            )
        await self.db.execute("DELETE FROM occupancy WHERE booking = ?", booking.id)

    async def _occupy(self, booking_id: int, service: ServiceInfo, staff_id: int, start: datetime) -> None:
        """The staff member (unit 0) and one unit of each required resource, for the whole block."""
        block = self._block(service, start)
        await self.db.execute(
            "INSERT INTO occupancy (booking, owner_kind, owner_id, unit, starts_at, ends_at)"
            " VALUES (?, 'staff', ?, 0, ?, ?)",
            booking_id, staff_id, *block,
        )  # fmt: skip
        for resource_id in service.resource_ids:
            capacity = int(await self.db.fetchval("SELECT capacity FROM resource WHERE id = ?", resource_id))
            full = "a required room or piece of equipment is fully booked then"
            await self._take_unit(booking_id, "resource", resource_id, capacity, block, full)

    async def _history(
        self, booking_id: int, action: str, old: BookingSnapshot | None, new: BookingSnapshot | None
    ) -> None:
        await self.db.execute(
            "INSERT INTO booking_change (booking, at, actor, action, old_start, old_end, old_staff,"
            " new_start, new_end, new_staff) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            booking_id, datetime.now(UTC), str(current_actor()), action,
            old.start if old else None, old.end if old else None, old.staff_id if old else None,
            new.start if new else None, new.end if new else None, new.staff_id if new else None,
        )  # fmt: skip

    async def get(self, booking_id: int) -> BookingSnapshot:
        rows = await self.db.fetch(f"SELECT {BOOKING_COLUMNS} FROM booking WHERE id = ?", booking_id)
        if not rows:
            raise NotFound("booking", booking_id)
        return snapshot(rows[0])

    async def _locked(self, booking_id: int, action: str) -> BookingSnapshot:
        lock = " FOR UPDATE" if self.db.kind == "postgres" else ""
        rows = await self.db.fetch(f"SELECT {BOOKING_COLUMNS} FROM booking WHERE id = ?{lock}", booking_id)
        if not rows:
            raise NotFound("booking", booking_id)
        booking = snapshot(rows[0])
        if booking.status not in TRANSITIONS[action]:
            raise Conflict(f"a {booking.status} booking cannot be {_past(action)}")
        return booking

    async def _set_status(
        self, booking_id: int, status: str, extra_sql: str = "", *args: Any
    ) -> BookingSnapshot:
        rows = await self.db.fetch(
            f"UPDATE booking SET status = ?, updated_at = ?{extra_sql} WHERE id = ?"
            f" RETURNING {BOOKING_COLUMNS}",
            status, datetime.now(UTC), *args, booking_id,
        )  # fmt: skip
        return snapshot(rows[0])

    # ---------------------------------------------------------------------------------------------
    async def confirm(self, booking_id: int) -> BookingSnapshot:
        async with self.db.transaction():
            await self.expire_holds(datetime.now(UTC))
            old = await self._locked(booking_id, "confirm")
            booking = await self._set_status(booking_id, "confirmed", ", hold_expires_at = NULL")
            await waitlist.booking_settled(self.ctx, booking_id, "confirmed")
            await self._history(booking_id, "confirmed", old, booking)
            await self.ctx.audit.record(
                "booking", booking_id, "confirmed", {"status": [old.status, "confirmed"]}
            )
            await Planner(self.ctx).confirmed(booking)
            await self.ctx.hooks.call("booking_confirmed", booking=booking)
        return booking

    async def cancel(
        self, booking_id: int, reason: str | None = None, by: Actor | None = None
    ) -> BookingSnapshot:
        actor = by or current_actor()
        async with self.db.transaction():
            old = await self._locked(booking_id, "cancel")
            booking = await self._cancel_row(old, reason, actor)
        return booking

    async def _cancel_row(self, old: BookingSnapshot, reason: str | None, actor: Actor) -> BookingSnapshot:
        now = datetime.now(UTC)
        booking = await self._set_status(
            old.id,
            "cancelled",
            ", cancel_reason = ?, cancelled_at = ?, cancelled_by = ?",
            reason,
            now,
            str(actor),
        )
        await self._release(old)
        await waitlist.booking_settled(self.ctx, old.id, "cancelled")
        await waitlist.slot_freed(self.ctx, old.location_id, old.start)
        await self._history(old.id, "cancelled", old, None)
        await self.ctx.audit.record(
            "booking",
            old.id,
            "cancelled",
            {"status": [old.status, "cancelled"], "reason": reason},
            actor=actor,
        )
        await Planner(self.ctx).cancelled(booking, reason)
        await self.ctx.hooks.call("booking_cancelled", booking=booking, reason=reason, by=actor)
        return booking

    async def complete(self, booking_id: int) -> BookingSnapshot:
        return await self._finish(booking_id, "complete", "completed", "booking_completed")

    async def no_show(self, booking_id: int) -> BookingSnapshot:
        return await self._finish(booking_id, "no_show", "no_show", "booking_no_show")

    async def _finish(self, booking_id: int, action: str, status: str, hook: str) -> BookingSnapshot:
        async with self.db.transaction():
            old = await self._locked(booking_id, action)
            if old.start > datetime.now(UTC):
                raise Conflict(f"a booking that has not started cannot be {_past(action)}")
            booking = await self._set_status(booking_id, status)
            await self._history(booking_id, status, old, booking)
            await self.ctx.audit.record("booking", booking_id, status, {"status": [old.status, status]})
            if status == "completed":
                await Planner(self.ctx).completed(booking)
            await self.ctx.hooks.call(hook, booking=booking)
        return booking

    async def reschedule(
        self, booking_id: int, start: datetime, staff_id: int | None = None
    ) -> BookingSnapshot:
        """Move a booking (same id, history kept); the old time stays held until the new one is secured."""
        new_start = utc_minute(start)
        old = await self.get(booking_id)
        service = await load_service(self.db, old.service_ids[0])
        now = datetime.now(UTC)
        try:
            async with self.db.transaction():
                await self.expire_holds(now)
                old = await self._locked(booking_id, "reschedule")
                zone, free = await self.slots_around(
                    service, old.location_id, new_start, staff_id, now, exclude_booking=booking_id
                )
                if free is None:
                    raise SlotTaken("the requested time is not available")
                new_staff = (
                    old.staff_id
                    if old.staff_id in free.staff and staff_id is None
                    else await self._pick_staff(free.staff, new_start, zone)
                )
                end = new_start + timedelta(minutes=service.rule.duration)
                rows = await self.db.fetch(
                    f"UPDATE booking SET start_at = ?, end_at = ?, staff = ?, updated_at = ? WHERE id = ?"
                    f" RETURNING {BOOKING_COLUMNS}",
                    new_start, end, new_staff, now, booking_id,
                )  # fmt: skip
                booking = snapshot(rows[0])
                await self.ctx.hooks.call("booking_validate", booking=booking, action="reschedule")
                await self._release(old)
                await self._place(booking, service, new_staff, new_start)
                await self._history(booking_id, "rescheduled", old, booking)
                await waitlist.slot_freed(self.ctx, old.location_id, old.start)
                await self.ctx.audit.record(
                    "booking", booking_id, "rescheduled",
                    {"start": [old.start.isoformat(), new_start.isoformat()],
                     "staff": [old.staff_id, new_staff]},
                )  # fmt: skip
                await Planner(self.ctx).rescheduled(old, booking, service.reminder_hours)
                await self.ctx.hooks.call("booking_rescheduled", booking=booking, previous=old)
        except SlotTaken as err:
            err.extra["alternatives"] = await self._alternatives(
                service, old.location_id, new_start, staff_id
            )
            raise
        except Exception as err:
            if _is_overlap_violation(err):
                raise SlotTaken("the requested time was just taken") from None
            raise
        return booking

    async def expire_holds(self, now: datetime | None = None) -> int:
        """Cancel pending bookings whose hold has run out, freeing their time (runs in-transaction)."""
        now = now or datetime.now(UTC)
        async with self.db.transaction():
            rows = await self.db.fetch(
                f"SELECT {BOOKING_COLUMNS} FROM booking WHERE status = 'pending'"
                " AND hold_expires_at IS NOT NULL AND hold_expires_at <= ?",
                now,
            )
            for row in rows:
                await self._cancel_row(snapshot(row), "hold expired", Actor("system", "hold-expiry"))
        return len(rows)


PAST = {
    "confirm": "confirmed",
    "cancel": "cancelled",
    "complete": "completed",
    "no_show": "marked no-show",
    "reschedule": "rescheduled",
}


def _past(action: str) -> str:
    return PAST[action]
