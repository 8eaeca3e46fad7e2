"""Shared by the benchmarks: a throw-away database, a benchmark business, bulk bookings, statistics.

Nothing here is used by the application. The business is written with plain SQL (executemany inside one
transaction on the database's own write connection), so building 20,000 bookings takes seconds, not the
minutes the booking service would need; the rows have exactly the shape the service writes (UTC times,
one staff occupancy row per booking, non-overlapping per staff member).
"""

from __future__ import annotations

import json
import os
import platform
import random
import shutil
import statistics
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from core.config import Settings, generate_secrets, settings_from_dict
from core.db.database import Database
from core.scheduling.availability import from_minutes, local_to_minutes

DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:55432/postgres"
ZONE = "Europe/Istanbul"
# Monday-Saturday 09:00-20:00 with a lunch break; Sunday off.
WEEK = {weekday: ("09:00", "20:00", [["13:00", "14:00"]]) for weekday in range(6)}
# The benchmark service: 45 minutes on a 15-minute grid, 10 minutes of buffer after each visit.
SERVICE = {"duration_min": 45, "slot_step_min": 15, "buffer_after_min": 10, "price": Decimal("650")}


# ------------------------------------------------------------------------------------------------
# Statistics and the machine


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(seconds: Sequence[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"median {statistics.median(ms):8.3f} ms   p95 {percentile(ms, 95):8.3f} ms   "
        f"min {min(ms):8.3f} ms   ({len(ms)} runs)"
    )


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {len(os.sched_getaffinity(0))} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.system()} {platform.release()}"
    )


# ------------------------------------------------------------------------------------------------
# A throw-away database


def _pg_url(dsn: str, name: str) -> str:
    base, _, _ = dsn.rpartition("/")
    return f"{base}/{name}"


async def _pg_admin(dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def scratch_database(engine: str, dsn: str = DEFAULT_PG_DSN) -> AsyncIterator[tuple[str, Path]]:
    """(database url, scratch folder): a SQLite file in a temp folder, or a fresh PostgreSQL database.

    Both are removed on the way out (the PostgreSQL database with DROP ... WITH (FORCE)).
    """
    folder = Path(tempfile.mkdtemp(prefix="ajanda-bench-"))
    name = f"ajanda_bench_{uuid.uuid4().hex[:10]}"
    try:
        if engine == "sqlite":
            yield f"sqlite:///{folder / 'bench.sqlite3'}", folder
        else:
            await _pg_admin(dsn, f'CREATE DATABASE "{name}"')
            try:
                yield _pg_url(dsn, name), folder
            finally:
                await _pg_admin(dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bench_settings(
    url: str, folder: Path, secrets: dict[str, str] | None = None, **sections: dict[str, Any]
) -> Settings:
    raw: dict[str, Any] = {"security": secrets or generate_secrets(), "database": {"url": url}}
    raw.update(sections)
    return settings_from_dict(raw, folder, None, env={})


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value))


def write_config(path: Path, sections: dict[str, dict[str, Any]]) -> None:
    """A config.toml from plain sections (flat tables of scalars)."""
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {toml_value(value)}" for key, value in values.items())
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    path.chmod(0o600)


# ------------------------------------------------------------------------------------------------
# The business


@dataclass
class Business:
    location: int
    zone: ZoneInfo
    service: int
    staff: list[int] = field(default_factory=list)


def _sql(db: Database, sql: str) -> str:
    """`?` placeholders as the engine wants them (the bench talks to the raw connection)."""
    if db.kind == "sqlite":
        return sql
    counter = iter(range(1, 1000))
    return "".join(f"${next(counter)}" if ch == "?" else ch for ch in sql)


async def _many(db: Database, sql: str, rows: list[tuple[Any, ...]]) -> None:
    tx = db.current_tx
    assert tx is not None
    if rows:
        await tx.connection.executemany(_sql(db, sql), rows)


async def build_business(db: Database, staff: int, zone: str = ZONE, max_days_ahead: int = 365) -> Business:
    """One location, `staff` staff members working WEEK at it, and the benchmark service."""
    async with db.transaction():
        location = int(
            (
                await db.fetch(
                    "INSERT INTO location (name, address, timezone, active)"
                    " VALUES (?, '', ?, ?) RETURNING id",
                    "Bench Salon",
                    zone,
                    True,
                )
            )[0]["id"]
        )
        service = int(
            (
                await db.fetch(
                    "INSERT INTO service (name, category, description, duration_min, buffer_before_min,"
                    " buffer_after_min, prep_min, cleanup_min, price, currency, deposit_kind, deposit_value,"
                    " required_skill, min_notice_min, max_days_ahead, slot_step_min, seats, active)"
                    " VALUES (?, 'Saç', '', ?, 0, ?, 0, 0, ?, 'TRY', 'none', ?, 'haircut', 0, ?, ?, 1, ?)"
                    " RETURNING id",
                    "Kadın Saç Kesimi",
                    SERVICE["duration_min"],
                    SERVICE["buffer_after_min"],
                    SERVICE["price"],
                    Decimal(0),
                    max_days_ahead,
                    SERVICE["slot_step_min"],
                    True,
                )
            )[0]["id"]
        )
        await db.execute("INSERT INTO service_location (service, location) VALUES (?, ?)", service, location)
        first = len(await db.fetch("SELECT id FROM staff")) + 1
        ids = list(range(first, first + staff))
        await _many(
            db,
            "INSERT INTO staff (id, name, skills, colour, active) VALUES (?, ?, ?, '#4f46e5', ?)",
            [(sid, f"Staff {sid}", json.dumps(["haircut"]), True) for sid in ids],
        )
        await _many(
            db,
            "INSERT INTO staff_location (staff, location) VALUES (?, ?)",
            [(sid, location) for sid in ids],
        )
        await _many(
            db,
            "INSERT INTO working_hours (staff, location, weekday, start_time, end_time, breaks)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (sid, location, weekday, start, end, json.dumps(breaks))
                for sid in ids
                for weekday, (start, end, breaks) in WEEK.items()
            ],
        )
        if db.kind == "postgres":
            await db.execute(
                "SELECT setval(pg_get_serial_sequence('staff', 'id'), (SELECT MAX(id) FROM staff))"
            )
    return Business(location, ZoneInfo(zone), service, ids)


def _windows(day: date) -> list[tuple[time, time]]:
    """The working windows of a WEEK day (between the breaks)."""
    if day.weekday() not in WEEK:
        return []
    start, end, breaks = WEEK[day.weekday()]
    out, cursor = [], time.fromisoformat(start)
    for b_start, b_end in breaks:
        out.append((cursor, time.fromisoformat(b_start)))
        cursor = time.fromisoformat(b_end)
    out.append((cursor, time.fromisoformat(end)))
    return out


def plan_bookings(
    business: Business, days: Sequence[date], count: int, rng: random.Random
) -> list[tuple[int, int]]:
    """`count` (staff, start minute) pairs on the service's grid, never overlapping per staff member.

    Each staff-day gets its share; within a working window the starts are a uniformly random choice of
    non-overlapping grid positions (so the gaps left are of every size, as in a real calendar).
    """
    duration, step, after = SERVICE["duration_min"], SERVICE["slot_step_min"], SERVICE["buffer_after_min"]
    spacing = -(-(int(duration) + int(after)) // int(step))  # grid positions one booking blocks
    cells: list[tuple[int, date, list[tuple[int, int]]]] = []
    for day in days:
        windows = []
        for w_start, w_end in _windows(day):
            first = local_to_minutes(day, w_start, business.zone)
            last = local_to_minutes(day, w_end, business.zone) - int(duration)  # work inside, buffer may not
            positions = (last - first) // int(step) + 1
            windows.append((first, positions))
        if windows:
            cells.extend((sid, day, windows) for sid in business.staff)

    def capacity(positions: int) -> int:
        return (positions - 1) // spacing + 1 if positions > 0 else 0

    per_cell = [0] * len(cells)
    room = [sum(capacity(p) for _, p in w) for _, _, w in cells]
    if count > sum(room):
        raise ValueError(f"{count} bookings do not fit: at most {sum(room)}")
    left = count
    order = list(range(len(cells)))
    while left:  # deal the bookings round-robin in random order, so each cell gets its share
        rng.shuffle(order)
        for i in order:
            if left and per_cell[i] < room[i]:
                per_cell[i] += 1
                left -= 1
    out: list[tuple[int, int]] = []
    for (sid, _day, windows), n in zip(cells, per_cell, strict=True):
        caps = [capacity(p) for _, p in windows]
        split = [0] * len(windows)
        for _ in range(n):  # spread the day's bookings over its windows, weighted by what is left
            choices = [i for i in range(len(windows)) if split[i] < caps[i]]
            i = rng.choices(choices, weights=[caps[c] - split[c] for c in choices])[0]
            split[i] += 1
        for (first, positions), m in zip(windows, split, strict=True):
            if not m:
                continue
            # m non-overlapping positions = m distinct values of a shorter range, spread out again.
            picked = sorted(rng.sample(range(positions - (spacing - 1) * (m - 1)), m))
            out.extend((sid, first + (p + (spacing - 1) * k) * int(step)) for k, p in enumerate(picked))
    return out


async def bulk_bookings(db: Database, business: Business, plan: Sequence[tuple[int, int]]) -> None:
    """Booking rows and their staff occupancy rows, in one transaction (explicit ids: an empty table)."""
    duration, after = int(SERVICE["duration_min"]), int(SERVICE["buffer_after_min"])
    now = datetime.now(UTC).replace(microsecond=0)
    price = SERVICE["price"]
    async with db.transaction():
        base = int(await db.fetchval("SELECT COALESCE(MAX(id), 0) FROM booking"))
        bookings, occupancy = [], []
        for n, (sid, start) in enumerate(plan, start=base + 1):
            begins, ends = from_minutes(start), from_minutes(start + duration)
            bookings.append(
                (n, business.location, business.service, sid, "confirmed", begins, ends, "web",
                 price, "TRY", Decimal(0), now, now)
            )  # fmt: skip
            occupancy.append((n, sid, begins, from_minutes(start + duration + after)))
        await _many(
            db,
            "INSERT INTO booking (id, location, service, staff, status, start_at, end_at, source, price,"
            " currency, deposit_due, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            bookings,
        )
        await _many(
            db,
            "INSERT INTO occupancy (booking, owner_kind, owner_id, unit, starts_at, ends_at)"
            " VALUES (?, 'staff', ?, 0, ?, ?)",
            occupancy,
        )
        if db.kind == "postgres":
            for table in ("booking", "occupancy"):
                await db.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
                )
    # Fresh statistics, as autovacuum (PostgreSQL) or `PRAGMA optimize` (SQLite) would leave them.
    await db.execute("ANALYZE")


def local_days(zone: ZoneInfo, first_offset: int, count: int) -> list[date]:
    """`count` local dates starting `first_offset` days after today in `zone`."""
    today = datetime.now(zone).date()
    return [today + timedelta(days=first_offset + i) for i in range(count)]
