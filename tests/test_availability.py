"""The availability engine: DST days, breaks, closures, time off, buffers, notice, resources."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from core.scheduling.availability import (
    ServiceRule,
    StaffCalendar,
    WeeklyShift,
    find_slots,
    from_minutes,
    local_to_minutes,
    merge,
    saturated,
    subtract,
    to_minutes,
)

BERLIN = ZoneInfo("Europe/Berlin")
EVERY_DAY = [WeeklyShift(wd, time(9), time(18), ((time(12), time(13)),)) for wd in range(7)]
LONG_AGO = to_minutes(datetime(2000, 1, 1, tzinfo=UTC))


def local_starts(slots, zone=BERLIN) -> list[str]:
    return [from_minutes(s.start).astimezone(zone).strftime("%H:%M") for s in slots]


def hourly(**kw) -> ServiceRule:
    return ServiceRule(duration=60, step=60, max_days_ahead=100_000, **kw)


def test_spring_forward_day_keeps_the_wall_clock_and_the_real_hours() -> None:
    day = date(2030, 3, 31)  # clocks jump 02:00 -> 03:00
    slots = find_slots([StaffCalendar(1, EVERY_DAY)], hourly(), [day], BERLIN, set(), LONG_AGO)
    assert local_starts(slots) == ["09:00", "10:00", "11:00", "13:00", "14:00", "15:00", "16:00", "17:00"]
    assert from_minutes(slots[0].start) == datetime(2030, 3, 31, 7, 0, tzinfo=UTC)  # CEST, UTC+2


def test_fall_back_day_has_no_duplicate_or_missing_slot() -> None:
    day = date(2030, 10, 27)  # clocks go back 03:00 -> 02:00
    night = [WeeklyShift(6, time(0), time(6))]
    slots = find_slots([StaffCalendar(1, night)], hourly(), [day], BERLIN, set(), LONG_AGO)
    # 00:00-06:00 local is seven real hours on this day; hourly slots follow the real hours.
    assert len(slots) == 7
    assert len({s.start for s in slots}) == 7
    assert from_minutes(slots[0].start) == datetime(2030, 10, 26, 22, 0, tzinfo=UTC)
    day_slots = find_slots([StaffCalendar(1, EVERY_DAY)], hourly(), [day], BERLIN, set(), LONG_AGO)
    assert from_minutes(day_slots[0].start) == datetime(2030, 10, 27, 8, 0, tzinfo=UTC)  # CET, UTC+1


def test_a_shift_starting_inside_the_spring_gap_starts_at_the_first_real_minute() -> None:
    moment = local_to_minutes(date(2030, 3, 31), time(2, 30), BERLIN)
    assert from_minutes(moment).astimezone(BERLIN).strftime("%H:%M") == "03:30"


def test_busy_blocks_with_buffers_and_prep() -> None:
    rule = ServiceRule(duration=60, step=15, prep=10, buffer_after=20, max_days_ahead=100_000)
    day = date(2030, 6, 3)
    booked = local_to_minutes(day, time(10), BERLIN)
    no_lunch = [WeeklyShift(wd, time(9), time(18)) for wd in range(7)]
    starts = local_starts(
        find_slots(
            [StaffCalendar(1, no_lunch, busy=[rule.block(booked)])], rule, [day], BERLIN, set(), LONG_AGO
        )
    )
    # Before: the first start on the grid after 09:00 + prep is 09:15, whose block runs into 09:50.
    assert "09:15" not in starts and "10:00" not in starts
    # After: the booked block ends 11:20; a new block starts 10 minutes before its start: 11:30.
    assert starts[0] == "11:30"
    with_lunch = local_starts(
        find_slots(
            [StaffCalendar(1, EVERY_DAY, busy=[rule.block(booked)])], rule, [day], BERLIN, set(), LONG_AGO
        )
    )
    # 11:30 would run past the 12:00 lunch break; prep must also happen after the break.
    assert with_lunch[0] == "13:15"


def test_closures_time_off_extra_hours_and_notice() -> None:
    rule = hourly(min_notice=120)
    day = date(2030, 6, 3)
    off = (local_to_minutes(day, time(14), BERLIN), local_to_minutes(day, time(16), BERLIN))
    extra = (local_to_minutes(day, time(18), BERLIN), local_to_minutes(day, time(20), BERLIN))
    cal = StaffCalendar(1, EVERY_DAY, off=[off], extra=[extra])
    now = local_to_minutes(day, time(8, 30), BERLIN)
    starts = local_starts(find_slots([cal], rule, [day], BERLIN, set(), now))
    assert starts == ["11:00", "13:00", "16:00", "17:00", "18:00", "19:00"]
    assert find_slots([cal], rule, [day], BERLIN, {day}, now) == []


def test_any_staff_lists_everyone_free_and_full_resources_block_all() -> None:
    rule = hourly()
    day = date(2030, 6, 3)
    nine = local_to_minutes(day, time(9), BERLIN)
    a = StaffCalendar(1, EVERY_DAY, busy=[(nine, nine + 60)])
    b = StaffCalendar(2, EVERY_DAY)
    slots = find_slots([a, b], rule, [day], BERLIN, set(), LONG_AGO)
    assert slots[0].staff == (2,) and slots[1].staff == (1, 2)
    room_full = saturated([(nine + 60, nine + 120), (nine + 60, nine + 120)], capacity=2)
    slots = find_slots([a, b], rule, [day], BERLIN, set(), LONG_AGO, room_full)
    assert "10:00" not in local_starts(slots)


intervals = st.lists(
    st.tuples(st.integers(0, 500), st.integers(1, 60)).map(lambda t: (t[0], t[0] + t[1])), max_size=12
)


@settings(max_examples=200, deadline=None)
@given(intervals, intervals)
def test_interval_algebra_matches_a_minute_by_minute_model(base: list, cut: list) -> None:
    covered = {m for s, e in base for m in range(s, e)}
    removed = {m for s, e in cut for m in range(s, e)}
    merged = merge(base)
    assert {m for s, e in merged for m in range(s, e)} == covered
    result = subtract(merged, merge(cut))
    assert {m for s, e in result for m in range(s, e)} == covered - removed
    assert all(s < e for s, e in result) and result == sorted(result)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(1, 8)), max_size=10),
    st.sampled_from([15, 30, 60]),
    st.integers(0, 30),
)
def test_every_offered_slot_is_really_free(bookings: list, step: int, buffer: int) -> None:
    """Brute force: no offered start's block overlaps a busy block, and every start is on the grid."""
    rule = ServiceRule(duration=45, step=step, buffer_after=buffer, max_days_ahead=100_000)
    day = date(2030, 6, 3)
    open_ = local_to_minutes(day, time(9), BERLIN)
    busy = merge((open_ + 15 * s, open_ + 15 * s + 15 * n) for s, n in bookings)
    cal = StaffCalendar(1, [WeeklyShift(0, time(9), time(18))], busy=busy)
    slots = find_slots([cal], rule, [day], BERLIN, set(), LONG_AGO)
    for slot in slots:
        block = rule.block(slot.start)
        assert all(block[1] <= b_start or b_end <= block[0] for b_start, b_end in busy)
        assert (slot.start - open_) % step == 0
        assert slot.start + rule.duration <= open_ + 9 * 60
    offered = {s.start for s in slots}
    for start in range(open_, open_ + 9 * 60 - rule.duration + 1, step):
        block = rule.block(start)
        free = all(block[1] <= b_start or b_end <= block[0] for b_start, b_end in busy)
        assert free == (start in offered), from_minutes(start)


def test_minutes_round_trip() -> None:
    moment = datetime(2031, 1, 6, 6, 0, tzinfo=UTC)
    assert from_minutes(to_minutes(moment)) == moment
    assert to_minutes(moment + timedelta(minutes=1)) == to_minutes(moment) + 1
