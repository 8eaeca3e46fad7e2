"""Admin API for what can be booked: locations, staff, resources, services, hours, exceptions, closures.

Every change runs in one write transaction together with its audit row (the changed fields as
[old, new]), so the log can never disagree with the data. Input is checked here, before the database
sees it, so that a mistake is a 422 naming the field instead of a constraint error (a 500). Checks that
span fields (a deposit against the price, breaks inside their shift, resources at the service's
locations) run on the record as it will be after the change, which is what makes a partial PATCH safe.
"""

from __future__ import annotations

import functools
import json
import re
import zoneinfo
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

import msgspec
from litestar import Controller, Request, Router, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from core.access.permissions import Permission, requires
from core.audit.log import diff
from core.context import AppContext
from core.db.database import Database
from core.db.values import as_utc
from core.errors import FieldError, NotFound
from core.scheduling.availability import MAX_PART_MINUTES
from core.scheduling.loader import money
from core.web.auth import context_of

UNSET = msgspec.UNSET
Unset = msgspec.UnsetType

# Ids are 64-bit on both engines; a larger number would be a driver error (a 500), not an unknown id.
MAX_ID = 2**63 - 1
# PostgreSQL refuses NUL in text: refuse it here, where the field can be named.
NO_NUL = "^[^\x00]*$"

Id = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
Address = Annotated[str, msgspec.Meta(max_length=1000, pattern=NO_NUL)]
Zone = Annotated[str, msgspec.Meta(max_length=64, description="IANA time zone, e.g. Europe/Istanbul")]
Colour = Annotated[str, msgspec.Meta(pattern="^#[0-9a-fA-F]{6}$", description="#rrggbb")]
Skill = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=NO_NUL)]
Skills = Annotated[list[Skill], msgspec.Meta(max_length=50)]
Ids = Annotated[list[Id], msgspec.Meta(max_length=200)]
Minutes = Annotated[int, msgspec.Meta(ge=0, le=MAX_PART_MINUTES)]
Duration = Annotated[int, msgspec.Meta(ge=1, le=MAX_PART_MINUTES)]
Notice = Annotated[int, msgspec.Meta(ge=0, le=366 * 24 * 60)]
DaysAhead = Annotated[int, msgspec.Meta(ge=1, le=3650)]
Step = Annotated[int, msgspec.Meta(ge=5, le=240)]
Count = Annotated[int, msgspec.Meta(ge=1, le=1000)]
RecallDays = Annotated[int, msgspec.Meta(ge=1, le=3650)]
# Hours before the start at which reminders go out; null: the business default ([messages] reminder_hours).
ReminderHours = Annotated[list[Annotated[int, msgspec.Meta(ge=1, le=24 * 30)]], msgspec.Meta(max_length=5)]
Amount = Annotated[str, msgspec.Meta(description='decimal text with at most two decimals, e.g. "450.00"')]
Currency = Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$", description="ISO 4217, e.g. TRY")]
Category = Annotated[str, msgspec.Meta(max_length=100, pattern=NO_NUL)]
Description = Annotated[str, msgspec.Meta(max_length=5000, pattern=NO_NUL)]
Note = Annotated[str, msgspec.Meta(max_length=500, pattern=NO_NUL)]
DepositKind = Literal["none", "fixed", "percent"]
ResourceKind = Literal["room", "equipment"]
ActiveFilter = Annotated[bool | None, QueryParameter(description="only active (true) or inactive (false)")]
LocationFilter = Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)]
AtLocation = Annotated[
    int | None, QueryParameter(ge=1, le=MAX_ID, description="default: the staff member's only location")
]

_AMOUNT = re.compile(r"^\d{1,10}(\.\d{1,2})?$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# -------------------------------------------------------------------------------------------------
# Shapes


class LocationIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    timezone: Zone
    address: Address = ""
    active: bool = True


class LocationPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name | Unset = UNSET
    timezone: Zone | Unset = UNSET
    address: Address | Unset = UNSET
    active: bool | Unset = UNSET


class LocationOut(msgspec.Struct):
    id: int
    name: str
    address: str
    timezone: str
    active: bool


class StaffIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    skills: Skills = []
    colour: Colour = "#4f46e5"
    locations: Ids = []
    active: bool = True


class StaffPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name | Unset = UNSET
    skills: Skills | Unset = UNSET
    colour: Colour | Unset = UNSET
    locations: Ids | Unset = UNSET
    active: bool | Unset = UNSET


class StaffOut(msgspec.Struct):
    id: int
    name: str
    skills: list[str]
    colour: str
    locations: list[int]
    active: bool


class ResourceIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    location: Id
    name: Name
    kind: ResourceKind = "room"
    capacity: Count = 1
    active: bool = True


class ResourcePatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    location: Id | Unset = UNSET
    name: Name | Unset = UNSET
    kind: ResourceKind | Unset = UNSET
    capacity: Count | Unset = UNSET
    active: bool | Unset = UNSET


class ResourceOut(msgspec.Struct):
    id: int
    location: int
    name: str
    kind: str
    capacity: int
    active: bool


class ServiceIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    duration_min: Duration
    category: Category = ""
    description: Description = ""
    buffer_before_min: Minutes = 0
    buffer_after_min: Minutes = 0
    prep_min: Minutes = 0
    cleanup_min: Minutes = 0
    price: Amount = "0.00"
    currency: Currency = "TRY"
    deposit_kind: DepositKind = "none"
    deposit_value: Amount = "0.00"
    required_skill: Skill | None = None
    min_notice_min: Notice = 60
    max_days_ahead: DaysAhead = 60
    slot_step_min: Step = 15
    seats: Count = 1
    recall_days: RecallDays | None = None
    reminder_hours: ReminderHours | None = None
    active: bool = True
    locations: Ids = []
    resources: Ids = []


class ServicePatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name | Unset = UNSET
    duration_min: Duration | Unset = UNSET
    category: Category | Unset = UNSET
    description: Description | Unset = UNSET
    buffer_before_min: Minutes | Unset = UNSET
    buffer_after_min: Minutes | Unset = UNSET
    prep_min: Minutes | Unset = UNSET
    cleanup_min: Minutes | Unset = UNSET
    price: Amount | Unset = UNSET
    currency: Currency | Unset = UNSET
    deposit_kind: DepositKind | Unset = UNSET
    deposit_value: Amount | Unset = UNSET
    required_skill: Skill | Unset | None = UNSET
    min_notice_min: Notice | Unset = UNSET
    max_days_ahead: DaysAhead | Unset = UNSET
    slot_step_min: Step | Unset = UNSET
    seats: Count | Unset = UNSET
    recall_days: RecallDays | Unset | None = UNSET
    reminder_hours: ReminderHours | Unset | None = UNSET
    active: bool | Unset = UNSET
    locations: Ids | Unset = UNSET
    resources: Ids | Unset = UNSET


class ServiceOut(msgspec.Struct):
    id: int
    name: str
    category: str
    description: str
    duration_min: int
    buffer_before_min: int
    buffer_after_min: int
    prep_min: int
    cleanup_min: int
    price: str
    currency: str
    deposit_kind: str
    deposit_value: str
    required_skill: str | None
    min_notice_min: int
    max_days_ahead: int
    slot_step_min: int
    seats: int
    recall_days: int | None
    reminder_hours: list[int] | None
    active: bool
    locations: list[int]
    resources: list[int]


class Shift(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One weekly shift in the location's wall-clock time (it follows DST)."""

    weekday: Annotated[int, msgspec.Meta(description="0 = Monday ... 6 = Sunday")]
    start: Annotated[str, msgspec.Meta(description="HH:MM")]
    end: Annotated[str, msgspec.Meta(description="HH:MM, after start (no shift crosses midnight)")]
    breaks: list[tuple[str, str]] = []


Week = Annotated[list[Shift], msgspec.Meta(max_length=100)]


class ExceptionIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kind: Literal["off", "extra"]
    starts_at: Annotated[datetime, msgspec.Meta(description="ISO-8601 with a UTC offset")]
    ends_at: Annotated[datetime, msgspec.Meta(description="ISO-8601 with a UTC offset")]
    location: Id | None = None
    note: Note = ""


class ExceptionOut(msgspec.Struct):
    id: int
    staff: int
    kind: str
    starts_at: datetime  # UTC
    ends_at: datetime
    location: int | None
    note: str


class ClosureIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # Checked by hand (not by type) so that a bad entry in a bulk list is named by its position.
    day: Annotated[str, msgspec.Meta(description="YYYY-MM-DD, a whole local day")]
    name: Annotated[str, msgspec.Meta(description="e.g. Cumhuriyet Bayramı (1-200 characters)")]
    location: int | None = None


Closures = Annotated[list[ClosureIn], msgspec.Meta(max_length=500)]


class ClosureOut(msgspec.Struct):
    id: int
    day: date
    name: str
    location: int | None  # None: every location


class ClosuresCreated(msgspec.Struct):
    created: int
    skipped: int  # already there (same day and location), or repeated in the list
    closures: list[ClosureOut]


# -------------------------------------------------------------------------------------------------
# Small helpers


def sent(data: msgspec.Struct) -> dict[str, Any]:
    """The fields a PATCH body carries; the absent ones stay as they are."""
    return {name: value for name in data.__struct_fields__ if (value := getattr(data, name)) is not UNSET}


def _plain(record: msgspec.Struct) -> dict[str, Any]:
    """A record as JSON-ready values, for audit diffs (dates as text, tuples as lists)."""
    plain: dict[str, Any] = msgspec.to_builtins(record)
    return plain


def _unique(values: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def _where(**filters: Any) -> tuple[str, list[Any]]:
    """` WHERE a = ? AND ...` for the filters that are set (column names come from code, not input)."""
    pairs = [(column, value) for column, value in filters.items() if value is not None]
    clause = " WHERE " + " AND ".join(f"{column} = ?" for column, _ in pairs) if pairs else ""
    return clause, [value for _, value in pairs]


def _marks(values: Iterable[Any]) -> str:
    return ", ".join("?" for _ in values)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


@functools.cache
def _zone_names() -> frozenset[str]:
    # "localtime" and friends exist as files but name no place: the server's zone is not the business's.
    return frozenset(zoneinfo.available_timezones() - {"localtime", "Factory", "posixrules"})


def check_zone(name: str) -> None:
    if name not in _zone_names():
        raise FieldError("timezone", "not an IANA time zone name, e.g. Europe/Istanbul")


def amount(field: str, text: str) -> Decimal:
    """A price as the client wrote it; decimal text only, so that no float rounding slips in."""
    if not _AMOUNT.match(text):
        raise FieldError(field, "an amount of 0 or more with at most two decimals, e.g. 450.00")
    return Decimal(text)


def utc_second(field: str, moment: datetime) -> datetime:
    """UTC, whole seconds: every stored instant has one text form (SQLite compares them as text)."""
    if moment.tzinfo is None:
        raise FieldError(field, "must include a UTC offset, e.g. 2031-01-06T09:00:00+03:00")
    try:
        return moment.astimezone(UTC).replace(microsecond=0)
    except OverflowError:
        raise FieldError(field, "out of range") from None


def _clock(field: str, text: str) -> None:
    if not _CLOCK.match(text):
        raise FieldError(field, "a time as HH:MM between 00:00 and 23:59")


def _overlaps(a: tuple[str, str], b: tuple[str, str]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


async def _insert(db: Database, table: str, values: Mapping[str, Any]) -> int:
    sql = f"INSERT INTO {table} ({', '.join(values)}) VALUES ({_marks(values)}) RETURNING id"
    return int(await db.fetchval(sql, *values.values()))


async def _upsert(db: Database, table: str, row_id: int | None, values: Mapping[str, Any]) -> int:
    """Insert a new row (no id) or update the given columns of an existing one; the row's id."""
    if row_id is None:
        return await _insert(db, table, values)
    if values:
        sets = ", ".join(f"{column} = ?" for column in values)
        await db.execute(f"UPDATE {table} SET {sets} WHERE id = ?", *values.values(), row_id)
    return row_id


async def _links(
    db: Database, table: str, owner: str, other: str, owner_ids: list[int]
) -> dict[int, list[int]]:
    """Many-to-many partners per owner id, e.g. each staff member's locations."""
    found: dict[int, list[int]] = {owner_id: [] for owner_id in owner_ids}
    if owner_ids:
        rows = await db.fetch(
            f"SELECT {owner}, {other} FROM {table} WHERE {owner} IN ({_marks(owner_ids)}) ORDER BY {other}",
            *owner_ids,
        )
        for row in rows:
            found[int(row[owner])].append(int(row[other]))
    return found


async def _replace_links(
    db: Database, table: str, owner: str, owner_id: int, other: str, ids: list[int]
) -> None:
    await db.execute(f"DELETE FROM {table} WHERE {owner} = ?", owner_id)
    for other_id in _unique(ids):
        await db.execute(f"INSERT INTO {table} ({owner}, {other}) VALUES (?, ?)", owner_id, other_id)


async def _check_ids(db: Database, table: str, refs: Mapping[str, int | None]) -> None:
    """Each referenced row exists; otherwise a 422 naming the field that refers to it."""
    wanted = {field: ref for field, ref in refs.items() if ref is not None}
    if not wanted:
        return
    ids = _unique(wanted.values())
    rows = await db.fetch(f"SELECT id FROM {table} WHERE id IN ({_marks(ids)})", *ids)
    found = {int(r["id"]) for r in rows}
    for field, ref in wanted.items():
        if ref not in found:
            raise FieldError(field, f"no {table} {ref}")


async def _found(db: Database, entity: str, row_id: int, sql: str, *args: Any) -> Any:
    """The row `sql` finds for this id (its first placeholder), or a 404."""
    rows = await db.fetch(sql, row_id, *args) if 1 <= row_id <= MAX_ID else []
    if not rows:
        raise NotFound(entity, row_id)
    return rows[0]


def _listed(field: str, ids: list[int]) -> dict[str, int | None]:
    return {f"{field}[{i}]": ref for i, ref in enumerate(ids)}


async def _audited(
    ctx: AppContext,
    entity: str,
    entity_id: int,
    action: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    personal: Iterable[str] = (),
) -> None:
    """An audit row with the fields that changed; none when nothing did."""
    changes = diff(
        {k: v for k, v in before.items() if k != "id"}, {k: v for k, v in after.items() if k != "id"}
    )
    if changes:
        await ctx.audit.record(entity, entity_id, action, changes, personal=personal)


# -------------------------------------------------------------------------------------------------
# Records: each kind reads and writes itself; `_save` and `_set_active` do the rest the same way.

R = TypeVar("R", bound=msgspec.Struct)
Writer = Callable[[Database, int | None, dict[str, Any], dict[str, Any]], Awaitable[int]]


@dataclass(frozen=True)
class Kind(Generic[R]):
    """One kind of record: its table (also its audit entity), how to read it and how to write it.

    A writer gets the record as it will be (`state`: the current one overlaid with what was sent) and
    what was sent; it validates `state` and writes only the sent fields, returning the row's id.
    """

    table: str
    records: Callable[..., Awaitable[list[R]]]
    write: Writer

    async def one(self, db: Database, row_id: int) -> R:
        found = await self.records(db, id=row_id) if 1 <= row_id <= MAX_ID else []
        if not found:
            raise NotFound(self.table, row_id)
        return found[0]


async def _lock(db: Database, table: str, row_id: int) -> None:
    """Hold the row until commit on PostgreSQL, so that concurrent changes of one record (which
    replace its link rows and check fields against each other) run one after the other. SQLite
    already runs one write transaction at a time."""
    if db.kind == "postgres" and 1 <= row_id <= MAX_ID:
        await db.execute(f"SELECT id FROM {table} WHERE id = ? FOR UPDATE", row_id)


async def _save(ctx: AppContext, kind: Kind[R], row_id: int | None, values: dict[str, Any]) -> R:
    """Create (no id) or partially update one record, with an audit row of what changed."""
    async with ctx.db.transaction():
        if row_id is not None:
            await _lock(ctx.db, kind.table, row_id)
        before = _plain(await kind.one(ctx.db, row_id)) if row_id is not None else {}
        row_id = await kind.write(ctx.db, row_id, {**before, **values}, values)
        after = await kind.one(ctx.db, row_id)
        await _audited(ctx, kind.table, row_id, "updated" if before else "created", before, _plain(after))
    return after


async def _set_active(ctx: AppContext, kind: Kind[R], row_id: int, active: bool) -> R:
    """Deactivate instead of delete: bookings and history keep pointing at the record."""
    async with ctx.db.transaction():
        await _lock(ctx.db, kind.table, row_id)
        before = _plain(await kind.one(ctx.db, row_id))
        await ctx.db.execute(f"UPDATE {kind.table} SET active = ? WHERE id = ?", active, row_id)
        after = await kind.one(ctx.db, row_id)
        action = "activated" if active else "deactivated"
        await _audited(ctx, kind.table, row_id, action, before, _plain(after))
    return after


def _columns(state: dict[str, Any], values: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {name: state[name] for name in names if name in values}


async def location_records(db: Database, **filters: Any) -> list[LocationOut]:
    clause, args = _where(**filters)
    rows = await db.fetch(
        f"SELECT id, name, address, timezone, active FROM location{clause} ORDER BY name, id", *args
    )
    return [
        LocationOut(int(r["id"]), r["name"], r["address"], r["timezone"], bool(r["active"])) for r in rows
    ]


async def _write_location(
    db: Database, row_id: int | None, state: dict[str, Any], values: dict[str, Any]
) -> int:
    if "timezone" in values:
        check_zone(state["timezone"])
    return await _upsert(
        db, "location", row_id, _columns(state, values, ("name", "address", "timezone", "active"))
    )


async def staff_records(db: Database, **filters: Any) -> list[StaffOut]:
    clause, args = _where(**filters)
    rows = await db.fetch(
        f"SELECT id, name, skills, colour, active FROM staff{clause} ORDER BY name, id", *args
    )
    locations = await _links(db, "staff_location", "staff", "location", [int(r["id"]) for r in rows])
    return [
        StaffOut(
            int(r["id"]),
            r["name"],
            json.loads(r["skills"]),
            r["colour"],
            locations[int(r["id"])],
            bool(r["active"]),
        )
        for r in rows
    ]


async def _write_staff(
    db: Database, row_id: int | None, state: dict[str, Any], values: dict[str, Any]
) -> int:
    columns = _columns(state, values, ("name", "active"))
    if "colour" in values:
        columns["colour"] = state["colour"].lower()
    if "skills" in values:
        columns["skills"] = json.dumps(_unique(state["skills"]), ensure_ascii=False)
    if "locations" in values:
        await _check_ids(db, "location", _listed("locations", state["locations"]))
    row_id = await _upsert(db, "staff", row_id, columns)
    if "locations" in values:
        await _replace_links(db, "staff_location", "staff", row_id, "location", state["locations"])
    return row_id


async def resource_records(db: Database, **filters: Any) -> list[ResourceOut]:
    clause, args = _where(**filters)
    rows = await db.fetch(
        "SELECT id, location, name, kind, capacity, active"
        f" FROM resource{clause} ORDER BY location, name, id",
        *args,
    )
    return [
        ResourceOut(
            int(r["id"]), int(r["location"]), r["name"], r["kind"], int(r["capacity"]), bool(r["active"])
        )
        for r in rows
    ]


async def _write_resource(
    db: Database, row_id: int | None, state: dict[str, Any], values: dict[str, Any]
) -> int:
    if "location" in values:
        await _check_ids(db, "location", {"location": state["location"]})
        if row_id is not None:
            await _check_resource_move(db, row_id, state["location"])
    columns = _columns(state, values, ("location", "name", "kind", "capacity", "active"))
    return await _upsert(db, "resource", row_id, columns)


async def _check_resource_move(db: Database, resource_id: int, location_id: int) -> None:
    """A service may only need resources at its own locations; moving one must keep that true."""
    stranded = await db.fetchval(
        "SELECT sr.service FROM service_resource sr WHERE sr.resource = ? AND NOT EXISTS"
        " (SELECT 1 FROM service_location sl WHERE sl.service = sr.service AND sl.location = ?)",
        resource_id,
        location_id,
    )
    if stranded is not None:
        raise FieldError(
            "location", f"service {stranded} needs this resource and is not offered at location {location_id}"
        )


SERVICE_COLUMNS = (
    "name", "category", "description", "duration_min", "buffer_before_min", "buffer_after_min", "prep_min",
    "cleanup_min", "price", "currency", "deposit_kind", "deposit_value", "required_skill", "min_notice_min",
    "max_days_ahead", "slot_step_min", "seats", "recall_days", "reminder_hours", "active",
)  # fmt: skip


async def service_records(db: Database, **filters: Any) -> list[ServiceOut]:
    clause, args = _where(**filters)
    rows = await db.fetch(
        f"SELECT id, {', '.join(SERVICE_COLUMNS)} FROM service{clause} ORDER BY category, name, id", *args
    )
    ids = [int(r["id"]) for r in rows]
    locations = await _links(db, "service_location", "service", "location", ids)
    resources = await _links(db, "service_resource", "service", "resource", ids)
    out = []
    for r in rows:
        values = {column: r[column] for column in SERVICE_COLUMNS}
        values.update(
            price=money(r["price"]),
            deposit_value=money(r["deposit_value"]),
            active=bool(r["active"]),
            recall_days=None if r["recall_days"] is None else int(r["recall_days"]),
            reminder_hours=None if r["reminder_hours"] is None else json.loads(r["reminder_hours"]),
        )
        out.append(
            ServiceOut(
                id=int(r["id"]),
                locations=locations[int(r["id"])],
                resources=resources[int(r["id"])],
                **values,
            )
        )
    return out


async def _write_service(
    db: Database, row_id: int | None, state: dict[str, Any], values: dict[str, Any]
) -> int:
    price = amount("price", state["price"])
    deposit = amount("deposit_value", state["deposit_value"])
    if state["deposit_kind"] == "percent" and deposit > 100:
        raise FieldError("deposit_value", "a percentage deposit must be at most 100")
    if state["deposit_kind"] == "fixed" and deposit > price:
        raise FieldError("deposit_value", "a fixed deposit must not exceed the price")
    if "locations" in values:
        await _check_ids(db, "location", _listed("locations", state["locations"]))
    if "locations" in values or "resources" in values:
        await _check_service_resources(db, state["locations"], state["resources"], "resources" in values)
    columns = _columns(state, values, SERVICE_COLUMNS)
    columns.update({k: Decimal(columns[k]) for k in ("price", "deposit_value") if k in columns})
    if columns.get("reminder_hours") is not None:
        columns["reminder_hours"] = json.dumps(sorted(set(columns["reminder_hours"]), reverse=True))
    row_id = await _upsert(db, "service", row_id, columns)
    for field, table, column in (
        ("locations", "service_location", "location"),
        ("resources", "service_resource", "resource"),
    ):
        if field in values:
            await _replace_links(db, table, "service", row_id, column, state[field])
    return row_id


async def _check_service_resources(
    db: Database, locations: list[int], resources: list[int], resources_sent: bool
) -> None:
    """Every resource exists and stands at one of the service's locations."""
    if not resources:
        return
    rows = await db.fetch(f"SELECT id, location FROM resource WHERE id IN ({_marks(resources)})", *resources)
    located = {int(r["id"]): int(r["location"]) for r in rows}
    for i, resource_id in enumerate(resources):
        field = f"resources[{i}]" if resources_sent else "locations"
        if resource_id not in located:
            raise FieldError(field, f"no resource {resource_id}")
        if located[resource_id] not in locations:
            raise FieldError(
                field,
                f"resource {resource_id} is at location {located[resource_id]},"
                " where this service is not offered",
            )


LOCATIONS = Kind("location", location_records, _write_location)
STAFF = Kind("staff", staff_records, _write_staff)
RESOURCES = Kind("resource", resource_records, _write_resource)
SERVICES = Kind("service", service_records, _write_service)


# -------------------------------------------------------------------------------------------------
# Working hours


def check_week(shifts: list[Shift]) -> None:
    """Refuse what the slot engine would silently misread: bad clocks, inverted or overlapping times."""
    for i, shift in enumerate(shifts):
        where = f"hours[{i}]"
        if not 0 <= shift.weekday <= 6:
            raise FieldError(f"{where}.weekday", "0 (Monday) to 6 (Sunday)")
        _clock(f"{where}.start", shift.start)
        _clock(f"{where}.end", shift.end)
        if shift.start >= shift.end:
            raise FieldError(f"{where}.end", "must be after start (a shift cannot cross midnight)")
        for k, other in enumerate(shifts[:i]):
            if other.weekday == shift.weekday and _overlaps(
                (shift.start, shift.end), (other.start, other.end)
            ):
                raise FieldError(where, f"overlaps hours[{k}] on the same weekday")
        _check_breaks(where, shift)


def _check_breaks(where: str, shift: Shift) -> None:
    for j, pause in enumerate(shift.breaks):
        field = f"{where}.breaks[{j}]"
        _clock(field, pause[0])
        _clock(field, pause[1])
        if pause[0] >= pause[1]:
            raise FieldError(field, "must end after it starts")
        if pause[0] < shift.start or pause[1] > shift.end:
            raise FieldError(field, f"must lie inside the shift {shift.start}-{shift.end}")
        for k, other in enumerate(shift.breaks[:j]):
            if _overlaps(pause, other):
                raise FieldError(field, f"overlaps breaks[{k}]")


async def week_of(db: Database, staff_id: int, location_id: int) -> list[Shift]:
    rows = await db.fetch(
        "SELECT weekday, start_time, end_time, breaks FROM working_hours WHERE staff = ? AND location = ?"
        " ORDER BY weekday, start_time",
        staff_id,
        location_id,
    )
    return [
        Shift(
            weekday=int(r["weekday"]),
            start=r["start_time"],
            end=r["end_time"],
            breaks=[(a, b) for a, b in json.loads(r["breaks"])],
        )
        for r in rows
    ]


async def hours_location(db: Database, staff_id: int, location: int | None, to_change: bool) -> int:
    """The location whose hours are meant: the one given, or the staff member's only one."""
    await STAFF.one(db, staff_id)
    rows = await db.fetch("SELECT location FROM staff_location WHERE staff = ? ORDER BY location", staff_id)
    works_at = [int(r["location"]) for r in rows]
    if location is None:
        if len(works_at) == 1:
            return works_at[0]
        if not works_at:
            raise FieldError(
                "location", "this staff member works at no location yet; set their locations first"
            )
        raise FieldError("location", "required: this staff member works at several locations")
    await LOCATIONS.one(db, location)
    if to_change and location not in works_at:
        # Hours there would never be used: availability only looks at a staff member's locations.
        raise FieldError("location", f"staff member {staff_id} does not work at location {location}")
    return location


async def replace_week(
    ctx: AppContext, staff_id: int, location: int | None, shifts: list[Shift]
) -> list[Shift]:
    check_week(shifts)
    async with ctx.db.transaction():
        await _lock(ctx.db, "staff", staff_id)
        location_id = await hours_location(ctx.db, staff_id, location, to_change=True)
        before = await week_of(ctx.db, staff_id, location_id)
        await ctx.db.execute(
            "DELETE FROM working_hours WHERE staff = ? AND location = ?", staff_id, location_id
        )
        for shift in sorted(shifts, key=lambda s: (s.weekday, s.start)):
            await _insert(
                ctx.db,
                "working_hours",
                {
                    "staff": staff_id, "location": location_id, "weekday": shift.weekday,
                    "start_time": shift.start, "end_time": shift.end,
                    "breaks": json.dumps(sorted([a, b] for a, b in shift.breaks)),
                },
            )  # fmt: skip
        after = await week_of(ctx.db, staff_id, location_id)
        changes = diff({"hours": msgspec.to_builtins(before)}, {"hours": msgspec.to_builtins(after)})
        if changes:
            await ctx.audit.record("staff", staff_id, "hours_set", {**changes, "location": location_id})
    return after


# -------------------------------------------------------------------------------------------------
# Exceptions and closures

_EXCEPTION_SELECT = "SELECT id, staff, kind, starts_at, ends_at, location, note FROM staff_exception"


def _exception_out(r: Any) -> ExceptionOut:
    return ExceptionOut(
        int(r["id"]), int(r["staff"]), r["kind"], as_utc(r["starts_at"]), as_utc(r["ends_at"]),
        None if r["location"] is None else int(r["location"]), r["note"],
    )  # fmt: skip


async def add_exception(ctx: AppContext, staff_id: int, data: ExceptionIn) -> ExceptionOut:
    starts_at = utc_second("starts_at", data.starts_at)
    ends_at = utc_second("ends_at", data.ends_at)
    if ends_at <= starts_at:
        raise FieldError("ends_at", "must be after starts_at")
    async with ctx.db.transaction():
        await STAFF.one(ctx.db, staff_id)
        await _check_ids(ctx.db, "location", {"location": data.location})
        values = {
            "staff": staff_id, "location": data.location, "kind": data.kind, "starts_at": starts_at,
            "ends_at": ends_at, "note": data.note,
        }  # fmt: skip
        row_id = await _insert(ctx.db, "staff_exception", values)
        out = _exception_out((await ctx.db.fetch(f"{_EXCEPTION_SELECT} WHERE id = ?", row_id))[0])
        # A note may say why someone is off (a doctor's visit): keep it out of the log.
        await _audited(ctx, "staff_exception", row_id, "created", {}, _plain(out), personal=("note",))
    return out


async def remove_exception(ctx: AppContext, staff_id: int, exception_id: int) -> None:
    async with ctx.db.transaction():
        await STAFF.one(ctx.db, staff_id)
        sql = f"{_EXCEPTION_SELECT} WHERE id = ? AND staff = ?"
        row = await _found(ctx.db, "staff_exception", exception_id, sql, staff_id)
        await ctx.db.execute("DELETE FROM staff_exception WHERE id = ?", exception_id)
        before = _plain(_exception_out(row))
        await _audited(ctx, "staff_exception", exception_id, "deleted", before, {}, personal=("note",))


def _closure_entry(i: int, item: ClosureIn) -> tuple[date, str, int | None]:
    where = f"closures[{i}]"
    if not _DAY.match(item.day):
        raise FieldError(f"{where}.day", "a date as YYYY-MM-DD")
    try:
        day = date.fromisoformat(item.day)
    except ValueError:
        raise FieldError(f"{where}.day", "not a calendar date") from None
    name = item.name.strip()
    if not 1 <= len(name) <= 200 or "\x00" in name:
        raise FieldError(f"{where}.name", "1 to 200 characters")
    if item.location is not None and not 1 <= item.location <= MAX_ID:
        raise FieldError(f"{where}.location", "a location id, or null for every location")
    return day, name, item.location


async def _closure_exists(db: Database, day: date, location: int | None) -> bool:
    if location is None:
        found = await db.fetchval("SELECT id FROM closure WHERE day = ? AND location IS NULL", day)
    else:
        found = await db.fetchval("SELECT id FROM closure WHERE day = ? AND location = ?", day, location)
    return found is not None


async def add_closures(ctx: AppContext, items: list[ClosureIn]) -> ClosuresCreated:
    """Bulk entry (a year's public holidays): entries already there are skipped, not refused."""
    entries = [_closure_entry(i, item) for i, item in enumerate(items)]
    created: list[ClosureOut] = []
    async with ctx.db.transaction():
        # Concurrent bulk entries queue: the check-then-insert below skips days already entered.
        await ctx.db.lock("ajanda_closure_entry")
        await _check_ids(ctx.db, "location", {f"closures[{i}].location": e[2] for i, e in enumerate(entries)})
        seen: set[tuple[date, int | None]] = set()
        for day, name, location in entries:
            if (day, location) in seen or await _closure_exists(ctx.db, day, location):
                continue
            seen.add((day, location))
            row_id = await _insert(ctx.db, "closure", {"day": day, "name": name, "location": location})
            out = ClosureOut(row_id, day, name, location)
            await _audited(ctx, "closure", row_id, "created", {}, _plain(out))
            created.append(out)
    return ClosuresCreated(len(created), len(items) - len(created), created)


async def remove_closure(ctx: AppContext, closure_id: int) -> None:
    async with ctx.db.transaction():
        sql = "SELECT id, day, name, location FROM closure WHERE id = ?"
        row = await _found(ctx.db, "closure", closure_id, sql)
        await ctx.db.execute("DELETE FROM closure WHERE id = ?", closure_id)
        await _audited(ctx, "closure", closure_id, "deleted", _plain(_closure_out(row)), {})


def _closure_out(r: Any) -> ClosureOut:
    location = None if r["location"] is None else int(r["location"])
    return ClosureOut(int(r["id"]), _as_date(r["day"]), r["name"], location)


# -------------------------------------------------------------------------------------------------
# HTTP


class LocationController(Controller):
    path = "/locations"

    @get("/", operation_id="admin_list_locations", opt=requires(Permission.SCHEDULING_READ))
    async def index(self, request: Request[Any, Any, Any], active: ActiveFilter = None) -> list[LocationOut]:
        """All locations, inactive ones too unless filtered."""
        return await location_records(context_of(request).db, active=active)

    @post("/", operation_id="admin_create_location", opt=requires(Permission.SCHEDULING_MANAGE))
    async def create(self, request: Request[Any, Any, Any], data: JSONBody[LocationIn]) -> LocationOut:
        """A new location; its IANA time zone is what working hours and closures are read in."""
        return await _save(context_of(request), LOCATIONS, None, msgspec.structs.asdict(data))

    @get("/{location_id:int}", operation_id="admin_get_location", opt=requires(Permission.SCHEDULING_READ))
    async def read(self, request: Request[Any, Any, Any], location_id: FromPath[int]) -> LocationOut:
        return await LOCATIONS.one(context_of(request).db, location_id)

    @patch(
        "/{location_id:int}", operation_id="admin_update_location", opt=requires(Permission.SCHEDULING_MANAGE)
    )
    async def update(
        self, request: Request[Any, Any, Any], location_id: FromPath[int], data: JSONBody[LocationPatch]
    ) -> LocationOut:
        """Change only the fields sent."""
        return await _save(context_of(request), LOCATIONS, location_id, sent(data))

    @post(
        "/{location_id:int}/deactivate",
        operation_id="admin_deactivate_location",
        opt=requires(Permission.SCHEDULING_MANAGE),
        status_code=200,
    )
    async def deactivate(self, request: Request[Any, Any, Any], location_id: FromPath[int]) -> LocationOut:
        """Retire a location; it is kept because bookings and history refer to it."""
        return await _set_active(context_of(request), LOCATIONS, location_id, False)

    @post(
        "/{location_id:int}/activate",
        operation_id="admin_activate_location",
        opt=requires(Permission.SCHEDULING_MANAGE),
        status_code=200,
    )
    async def activate(self, request: Request[Any, Any, Any], location_id: FromPath[int]) -> LocationOut:
        return await _set_active(context_of(request), LOCATIONS, location_id, True)


class StaffController(Controller):
    path = "/staff"

    @get("/", operation_id="admin_list_staff", opt=requires(Permission.SCHEDULING_READ))
    async def index(self, request: Request[Any, Any, Any], active: ActiveFilter = None) -> list[StaffOut]:
        """All staff members with their skills and locations."""
        return await staff_records(context_of(request).db, active=active)

    @post("/", operation_id="admin_create_staff", opt=requires(Permission.SCHEDULING_MANAGE))
    async def create(self, request: Request[Any, Any, Any], data: JSONBody[StaffIn]) -> StaffOut:
        """A new staff member; they are offered for services whose required skill they have."""
        return await _save(context_of(request), STAFF, None, msgspec.structs.asdict(data))

    @get("/{staff_id:int}", operation_id="admin_get_staff", opt=requires(Permission.SCHEDULING_READ))
    async def read(self, request: Request[Any, Any, Any], staff_id: FromPath[int]) -> StaffOut:
        return await STAFF.one(context_of(request).db, staff_id)

    @patch("/{staff_id:int}", operation_id="admin_update_staff", opt=requires(Permission.SCHEDULING_MANAGE))
    async def update(
        self, request: Request[Any, Any, Any], staff_id: FromPath[int], data: JSONBody[StaffPatch]
    ) -> StaffOut:
        """Change only the fields sent; `locations` and `skills` replace the whole list."""
        return await _save(context_of(request), STAFF, staff_id, sent(data))

    @post(
        "/{staff_id:int}/deactivate",
        operation_id="admin_deactivate_staff",
        opt=requires(Permission.SCHEDULING_MANAGE),
        status_code=200,
    )
    async def deactivate(self, request: Request[Any, Any, Any], staff_id: FromPath[int]) -> StaffOut:
        """Stop offering this staff member for new bookings; existing bookings stay as they are."""
        return await _set_active(context_of(request), STAFF, staff_id, False)

    @post(
        "/{staff_id:int}/activate",
        operation_id="admin_activate_staff",
        opt=requires(Permission.SCHEDULING_MANAGE),
        status_code=200,
    )
    async def activate(self, request: Request[Any, Any, Any], staff_id: FromPath[int]) -> StaffOut:
        return await _set_active(context_of(request), STAFF, staff_id, True)

    @get(
        "/{staff_id:int}/hours",
        operation_id="admin_get_staff_hours",
        opt=requires(Permission.SCHEDULING_READ),
    )
    async def hours(
        self,
        request: Request[Any, Any, Any],
        staff_id: FromPath[int],
        location: AtLocation = None,
    ) -> list[Shift]:
        """The weekly shifts at one location, in the same shape PUT takes."""
        db = context_of(request).db
        return await week_of(db, staff_id, await hours_location(db, staff_id, location, to_change=False))

    @put(
        "/{staff_id:int}/hours",
        operation_id="admin_set_staff_hours",
        opt=requires(Permission.SCHEDULING_MANAGE),
    )
    async def set_hours(
        self,
        request: Request[Any, Any, Any],
        staff_id: FromPath[int],
        data: JSONBody[Week],
        location: AtLocation = None,
    ) -> list[Shift]:
        """Replace the weekly shifts at one location (an empty list clears them).

        Times are the location's wall clock; several shifts a day are fine as long as they do not overlap.
        """
        return await replace_week(context_of(request), staff_id, location, data)

    @get(
        "/{staff_id:int}/exceptions",
        operation_id="admin_list_staff_exceptions",
        opt=requires(Permission.SCHEDULING_READ),
    )
    async def exceptions(
        self,
        request: Request[Any, Any, Any],
        staff_id: FromPath[int],
        from_: Annotated[datetime | None, QueryParameter(name="from", description="ending after")] = None,
        to: Annotated[datetime | None, QueryParameter(description="starting before")] = None,
    ) -> list[ExceptionOut]:
        """Time off and extra hours, oldest first, optionally only those touching [from, to)."""
        db = context_of(request).db
        await STAFF.one(db, staff_id)
        where: list[str] = ["staff = ?"]
        args: list[Any] = [staff_id]
        if from_ is not None:
            where.append("ends_at > ?")
            args.append(utc_second("from", from_))
        if to is not None:
            where.append("starts_at < ?")
            args.append(utc_second("to", to))
        rows = await db.fetch(
            f"{_EXCEPTION_SELECT} WHERE {' AND '.join(where)} ORDER BY starts_at, id", *args
        )
        return [_exception_out(r) for r in rows]

    @post(
        "/{staff_id:int}/exceptions",
        operation_id="admin_create_staff_exception",
        opt=requires(Permission.SCHEDULING_MANAGE),
    )
    async def create_exception(
        self, request: Request[Any, Any, Any], staff_id: FromPath[int], data: JSONBody[ExceptionIn]
    ) -> ExceptionOut:
        """Time off ("off") or extra hours ("extra"), at one location or (no location) all of them."""
        return await add_exception(context_of(request), staff_id, data)

    @delete(
        "/{staff_id:int}/exceptions/{exception_id:int}",
        operation_id="admin_delete_staff_exception",
        opt=requires(Permission.SCHEDULING_MANAGE),
    )
    async def delete_exception(
        self, request: Request[Any, Any, Any], staff_id: FromPath[int], exception_id: FromPath[int]
    ) -> None:
        await remove_exception(context_of(request), staff_id, exception_id)


class ResourceController(Controller):
    path = "/resources"

    @get("/", operation_id="admin_list_resources", opt=requires(Permission.SCHEDULING_READ))
    async def index(
        self,
        request: Request[Any, Any, Any],
        active: ActiveFilter = None,
        location: LocationFilter = None,
    ) -> list[ResourceOut]:
        """Rooms and equipment, per location."""
        return await resource_records(context_of(request).db, active=active, location=location)

    @post("/", operation_id="admin_create_resource", opt=requires(Permission.SCHEDULING_MANAGE))
    async def create(self, request: Request[Any, Any, Any], data: JSONBody[ResourceIn]) -> ResourceOut:
        """A room or piece of equipment; `capacity` is how many bookings may use it at once."""
        return await _save(context_of(request), RESOURCES, None, msgspec.structs.asdict(data))

    @get("/{resource_id:int}", operation_id="admin_get_resource", opt=requires(Permission.SCHEDULING_READ))
    async def read(self, request: Request[Any, Any, Any], resource_id: FromPath[int]) -> ResourceOut:
        return await RESOURCES.one(context_of(request).db, resource_id)

    @patch(
        "/{resource_id:int}", operation_id="admin_update_resource", opt=requires(Permission.SCHEDULING_MANAGE)
    )
    async def update(
        self, request: Request[Any, Any, Any], resource_id: FromPath[int], data: JSONBody[ResourcePatch]
    ) -> ResourceOut:
        """Change only the fields sent."""
        return await _save(context_of(request), RESOURCES, resource_id, sent(data))

    @post(
        "/{resource_id:int}/deactivate",
        operation_id="admin_deactivate_resource",
        opt=requires(Permission.SCHEDULING_MANAGE),
        status_code=200,
    )
    async def deactivate(self, request: Request[Any, Any, Any], resource_id: FromPath[int]) -> ResourceOut:
        return await _set_active(context_of(request), RESOURCES, resource_id, False)

    @post(
        "/{resource_id:int}/activate",
        operation_id="admin_activate_resource",
        opt=requires(Permission.SCHEDULING_MANAGE),
        status_code=200,
    )
    async def activate(self, request: Request[Any, Any, Any], resource_id: FromPath[int]) -> ResourceOut:
        return await _set_active(context_of(request), RESOURCES, resource_id, True)


class ServiceController(Controller):
    path = "/services"

    @get("/", operation_id="admin_list_services", opt=requires(Permission.SCHEDULING_READ))
    async def index(self, request: Request[Any, Any, Any], active: ActiveFilter = None) -> list[ServiceOut]:
        """Every service with all its settings (the public list shows only what customers need)."""
        return await service_records(context_of(request).db, active=active)

    @post("/", operation_id="admin_create_service", opt=requires(Permission.SCHEDULING_MANAGE))
    async def create(self, request: Request[Any, Any, Any], data: JSONBody[ServiceIn]) -> ServiceOut:
        """A new service; it is bookable at its `locations` by staff with its `required_skill`."""
        return await _save(context_of(request), SERVICES, None, msgspec.structs.asdict(data))

    @get("/{service_id:int}", operation_id="admin_get_service", opt=requires(Permission.SCHEDULING_READ))
    async def read(self, request: Request[Any, Any, Any], service_id: FromPath[int]) -> ServiceOut:
        return await SERVICES.one(context_of(request).db, service_id)

    @patch(
        "/{service_id:int}", operation_id="admin_update_service", opt=requires(Permission.SCHEDULING_MANAGE)
    )
    async def update(
        self, request: Request[Any, Any, Any], service_id: FromPath[int], data: JSONBody[ServicePatch]
    ) -> ServiceOut:
        """Change only the fields sent; bookings already made keep the price they were made at."""
        return await _save(context_of(request), SERVICES, service_id, sent(data))

    @post(
        "/{service_id:int}/deactivate",
        operation_id="admin_deactivate_service",
        opt=requires(Permission.SCHEDULING_MANAGE),
        status_code=200,
    )
    async def deactivate(self, request: Request[Any, Any, Any], service_id: FromPath[int]) -> ServiceOut:
        """Take the service off the booking page; existing bookings stay."""
        return await _set_active(context_of(request), SERVICES, service_id, False)

    @post(
        "/{service_id:int}/activate",
        operation_id="admin_activate_service",
        opt=requires(Permission.SCHEDULING_MANAGE),
        status_code=200,
    )
    async def activate(self, request: Request[Any, Any, Any], service_id: FromPath[int]) -> ServiceOut:
        return await _set_active(context_of(request), SERVICES, service_id, True)


class ClosureController(Controller):
    path = "/closures"

    @get("/", operation_id="admin_list_closures", opt=requires(Permission.SCHEDULING_READ))
    async def index(
        self,
        request: Request[Any, Any, Any],
        from_: Annotated[date | None, QueryParameter(name="from", description="first day")] = None,
        to: Annotated[date | None, QueryParameter(description="last day")] = None,
        location: LocationFilter = None,
    ) -> list[ClosureOut]:
        """Closed days in a range; for a location, its own and those of every location (the NULL ones)."""
        if from_ is not None and to is not None and to < from_:
            raise FieldError("to", "must not be before from")
        where: list[str] = ["1 = 1"]
        args: list[Any] = []
        for condition, value in (("day >= ?", from_), ("day <= ?", to)):
            if value is not None:
                where.append(condition)
                args.append(value)
        if location is not None:
            where.append("(location IS NULL OR location = ?)")
            args.append(location)
        rows = await context_of(request).db.fetch(
            f"SELECT id, day, name, location FROM closure WHERE {' AND '.join(where)} ORDER BY day, id", *args
        )
        return [_closure_out(r) for r in rows]

    @post("/", operation_id="admin_create_closures", opt=requires(Permission.SCHEDULING_MANAGE))
    async def create(self, request: Request[Any, Any, Any], data: JSONBody[Closures]) -> ClosuresCreated:
        """Add closed days in bulk; a day already closed at that location is skipped, not an error."""
        return await add_closures(context_of(request), data)

    @delete(
        "/{closure_id:int}", operation_id="admin_delete_closure", opt=requires(Permission.SCHEDULING_MANAGE)
    )
    async def remove(self, request: Request[Any, Any, Any], closure_id: FromPath[int]) -> None:
        """Reopen a closed day."""
        await remove_closure(context_of(request), closure_id)


def scheduling_admin_router() -> Router:
    """All scheduling admin routes under /api/v1/admin (admin-only: the app's guard applies)."""
    return Router(
        path="/api/v1/admin",
        route_handlers=[
            LocationController,
            StaffController,
            ResourceController,
            ServiceController,
            ClosureController,
        ],
        tags=["admin", "scheduling"],
    )
