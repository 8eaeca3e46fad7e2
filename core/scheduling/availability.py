"""The availability engine: free slots from working time minus busy time, by a sorted sweep.

Everything is computed on integer minutes since the Unix epoch (UTC), which makes interval arithmetic
cheap and DST-proof: working hours are turned into UTC intervals per local day with the location's IANA
zone, so a Europe/Berlin 09:00-18:00 shift is 9 real hours on the spring-forward day too, and slots
start on the local 09:00, 09:15... grid.

For each staff member the engine builds the free windows (working hours + extra hours - breaks - time
off - closures), subtracts the merged busy blocks of existing bookings and live holds and of full
resources, and enumerates the valid starts of each remaining gap arithmetically. Nothing is checked
per candidate against every booking.

A booking starting at S occupies the staff member (and its resources) for its block
[S - prep - buffer_before, S + duration + cleanup + buffer_after); the work itself,
[S - prep, S + duration + cleanup], must lie inside working time, buffers may not.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Interval = tuple[int, int]  # [start, end) in epoch minutes

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_minutes(moment: datetime) -> int:
    return int((moment - EPOCH).total_seconds() // 60)


def from_minutes(minutes: int) -> datetime:
    return EPOCH + timedelta(minutes=minutes)


def local_to_minutes(day: date, wall: time, zone: ZoneInfo) -> int:
    """A wall-clock time on a local day as epoch minutes (a time in a DST gap moves forward)."""
    # fold=0 takes the offset in force before a transition: a wall time in the spring-forward gap
    # (02:30 in Berlin) lands an hour later in real time (03:30), and an ambiguous fall-back time
    # means its first occurrence.
    return to_minutes(datetime.combine(day, wall, tzinfo=zone).astimezone(UTC))


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping union (touching intervals are joined)."""
    out: list[Interval] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def subtract(base: Sequence[Interval], cut: Sequence[Interval]) -> list[Interval]:
    """`base` minus `cut`; both sorted and merged."""
    out: list[Interval] = []
    j = 0
    for start, end in base:
        cursor = start
        while j < len(cut) and cut[j][1] <= cursor:
            j += 1
        k = j
        while k < len(cut) and cut[k][0] < end:
            if cut[k][0] > cursor:
                out.append((cursor, cut[k][0]))
            cursor = max(cursor, cut[k][1])
            if cursor >= end:
                break
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def saturated(intervals: Iterable[Interval], capacity: int) -> list[Interval]:
    """Where at least `capacity` of the intervals overlap (a resource with no unit left)."""
    events: list[tuple[int, int]] = []
    for start, end in intervals:
        if end > start:
            events.append((start, 1))
            events.append((end, -1))
    events.sort(key=lambda e: (e[0], e[1]))  # ends before starts at the same minute
    out: list[Interval] = []
    level = 0
    opened = 0
    for moment, delta in events:
        before = level
        level += delta
        if before < capacity <= level:
            opened = moment
        elif level < capacity <= before:
            out.append((opened, moment))
    return merge(out)


# Each of a service's five timing parts (duration, prep, cleanup, the two buffers) is at most a day
# (the admin API refuses more), so no block is longer than five days: busy reads use that as the
# lower bound of an index range instead of scanning every earlier booking of the staff member.
MAX_PART_MINUTES = 24 * 60
LONGEST_BLOCK_MINUTES = 5 * MAX_PART_MINUTES


@dataclass(frozen=True)
class ServiceRule:
    """The timing rules of one service, in minutes."""

    duration: int
    step: int
    buffer_before: int = 0
    buffer_after: int = 0
    prep: int = 0
    cleanup: int = 0
    min_notice: int = 0
    max_days_ahead: int = 365

    @property
    def lead(self) -> int:
        """Block minutes before the customer's start."""
        return self.prep + self.buffer_before

    @property
    def tail(self) -> int:
        """Block minutes after the customer's start."""
        return self.duration + self.cleanup + self.buffer_after

    def block(self, start: int) -> Interval:
        return (start - self.lead, start + self.tail)


@dataclass(frozen=True)
class WeeklyShift:
    weekday: int  # 0 = Monday
    start: time
    end: time
    breaks: tuple[tuple[time, time], ...] = ()


@dataclass
class StaffCalendar:
    """One staff member's time at one location, as the engine needs it."""

    staff_id: int
    shifts: list[WeeklyShift]
    extra: list[Interval] = field(default_factory=list)  # extra hours (UTC minutes)
    off: list[Interval] = field(default_factory=list)  # time off (UTC minutes)
    busy: list[Interval] = field(default_factory=list)  # blocks of bookings and live holds


@dataclass(frozen=True)
class Slot:
    start: int
    end: int
    staff: tuple[int, ...]


def working_windows(
    calendar: StaffCalendar, days: Sequence[date], zone: ZoneInfo, closed: set[date]
) -> list[Interval]:
    """Working time over `days` (local dates) in UTC minutes: shifts + extra - breaks - off - closures."""
    by_weekday: dict[int, list[WeeklyShift]] = {}
    for shift in calendar.shifts:
        by_weekday.setdefault(shift.weekday, []).append(shift)
    work: list[Interval] = []
    pauses: list[Interval] = []
    for day in days:
        if day in closed:
            continue
        for shift in by_weekday.get(day.weekday(), ()):
            work.append((local_to_minutes(day, shift.start, zone), local_to_minutes(day, shift.end, zone)))
            for b_start, b_end in shift.breaks:
                pauses.append((local_to_minutes(day, b_start, zone), local_to_minutes(day, b_end, zone)))
    windows = merge([*work, *calendar.extra])
    closures = [
        (local_to_minutes(d, time(0), zone), local_to_minutes(d + timedelta(days=1), time(0), zone))
        for d in closed
    ]
    return subtract(windows, merge([*pauses, *calendar.off, *closures]))


def starts_in(
    windows: Sequence[Interval],
    busy: Sequence[Interval],
    rule: ServiceRule,
    earliest: int,
    latest: int,
    zone: ZoneInfo,
) -> list[int]:
    """Every valid start: work inside a window, block clear of busy, on the local `step` grid.

    `busy` is sorted and merged, so its ends are sorted too and the first relevant block of each
    window is found by bisection; within a window each busy block is looked at once.
    """
    starts: list[int] = []
    step = rule.step
    ends = [b[1] for b in busy]
    for w_start, w_end in windows:
        first = max(w_start + rule.prep, earliest)
        last = min(w_end - rule.duration - rule.cleanup, latest)
        if last < first:
            continue
        # Slots sit on the local clock's grid (09:00, 09:15...) whatever the UTC offset.
        offset = from_minutes(w_start).astimezone(zone).utcoffset() or timedelta(0)
        local_offset = int(offset.total_seconds() // 60)
        i = bisect_right(ends, first - rule.lead)
        cursor = first
        while cursor <= last:
            if i < len(busy) and busy[i][0] < cursor + rule.tail:
                cursor = max(cursor, busy[i][1] + rule.lead)
                i += 1
                continue
            upper = min(busy[i][0] - rule.tail, last) if i < len(busy) else last
            s = cursor + (-(cursor + local_offset)) % step
            if s <= upper:
                starts.extend(range(s, upper + 1, step))
            cursor = upper + 1
    return starts


def find_slots(
    calendars: Sequence[StaffCalendar],
    rule: ServiceRule,
    days: Sequence[date],
    zone: ZoneInfo,
    closed: set[date],
    now: int,
    resource_busy: Sequence[Interval] = (),
    only: int | None = None,
) -> list[Slot]:
    """Free slots over `days` for any of the given staff; each slot lists who can take it.

    `resource_busy` is the merged time where some required resource has no unit left. With `only`
    (a start, in epoch minutes) the answer is that one slot or nothing: the booking transaction's
    check, whose busy time was read for that slot's block alone.
    """
    earliest = now + rule.min_notice
    latest = now + rule.max_days_ahead * 24 * 60
    if only is not None:
        earliest, latest = max(earliest, only), min(latest, only)
    by_start: dict[int, list[int]] = {}
    for calendar in calendars:
        windows = working_windows(calendar, days, zone, closed)
        busy = merge([*calendar.busy, *resource_busy]) if resource_busy else calendar.busy
        for start in starts_in(windows, busy, rule, earliest, latest, zone):
            by_start.setdefault(start, []).append(calendar.staff_id)
    return [
        Slot(start, start + rule.duration, tuple(sorted(staff))) for start, staff in sorted(by_start.items())
    ]
