"""Settings forms -> the scheduling admin's own shapes and services (`core/scheduling/admin_routes.py`).

A form posts text; it is turned into the JSON API's input Struct (`ServiceIn`, `StaffPatch`, `Shift`,
`ClosureIn`) and saved by the same functions the API calls, so a rule holds the same way for both.
Every problem `core.config.problems` finds is shown at once, next to its field; the checks that span
fields (a deposit against the price, breaks inside their shift) come from the services' FieldError.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import msgspec

from core.admin.settings_forms import Form, Gettext, error_text, one
from core.config import problems
from core.context import AppContext
from core.errors import FieldError
from core.scheduling.admin_routes import (
    SERVICES,
    STAFF,
    ClosureIn,
    ClosuresCreated,
    ServiceIn,
    ServiceOut,
    ServicePatch,
    Shift,
    StaffIn,
    StaffOut,
    StaffPatch,
    _save,
    add_closures,
    replace_week,
    sent,
)

SERVICE_INTS = (
    "duration_min", "buffer_before_min", "buffer_after_min", "prep_min", "cleanup_min", "min_notice_min",
    "max_days_ahead", "slot_step_min", "seats", "recall_days",
)  # fmt: skip
SERVICE_TEXTS = (
    "name",
    "category",
    "description",
    "price",
    "deposit_kind",
    "deposit_value",
    "required_skill",
)
OPTIONAL = ("recall_days", "required_skill")
MAX_CLOSURE_DAYS = 366
_NUMBER = re.compile(r"^-?\d{1,12}$")


def validation_text(_: Gettext, message: str) -> str:
    """A msgspec or config problem ("expected int >= 1") as a reader's sentence."""
    if "required key is missing" in message or "missing required field" in message:
        return _("Required")
    if "unknown key" in message:
        return _("Not a setting of this plugin")
    if re.search(r"expected (int|float|number)\b.*, got", message):
        return _("A whole number") if "int" in message else _("A number")
    if "expected bool" in message:
        return _("Yes or no")
    if "length" in message:
        longest = re.search(r"length <= (\d+)", message)
        if longest:
            return _("At most %(a)s characters") % {"a": longest.group(1)}
        return _("Required")
    for sign, template in ((">=", "At least %(a)s"), ("<=", "At most %(a)s"), (">", "More than %(a)s"),
                           ("<", "Less than %(a)s")):  # fmt: skip
        found = re.search(rf"{sign} (-?[\d.]+)", message)
        if found:
            return _(template) % {"a": found.group(1)}
    if "matching regex" in message:
        return _("Not in the expected form")
    if "invalid enum value" in message or "expected one of" in message:
        return _("Not one of the choices")
    return error_text(_, message)


def _field_name(path: str) -> str:
    """`locations[2]` -> `locations`: the form field a problem belongs to."""
    return path.split("[", 1)[0].split(".", 1)[0]


def add_problems(_: Gettext, form: Form, raw: dict[str, Any], typ: Any) -> None:
    for problem in problems(raw, typ):
        path, _sep, message = problem.partition(": ")
        form.add(_field_name(path), validation_text(_, message))


def add_field_error(_: Gettext, form: Form, err: FieldError) -> None:
    form.add(_field_name(err.field), error_text(_, err.message))


def _number(text: str) -> int | str:
    text = text.strip()
    return int(text) if _NUMBER.match(text) else text


def _ids(values: list[str]) -> list[int | str]:
    return [_number(v) for v in values if v.strip()]


# -------------------------------------------------------------------------------------------------
# Services


def service_values(service: ServiceOut | None, currency: str) -> dict[str, Any]:
    """The form filled with a service (or a new one's defaults)."""
    source = service or ServiceIn(name="", duration_min=30, currency=currency)
    values = {name: getattr(source, name) for name in (*SERVICE_INTS, *SERVICE_TEXTS)}
    values = {k: "" if v is None else str(v) for k, v in values.items()}
    values["active"] = "1" if source.active else "0"
    values["locations"] = [str(i) for i in source.locations]
    values["resources"] = [str(i) for i in source.resources]
    hours = source.reminder_hours
    values["reminder_hours"] = "" if hours is None else ", ".join(str(h) for h in hours)
    return values


def _hours(text: str) -> list[int | str] | None:
    """Text like "48, 2" -> [48, 2]; empty -> None (the business default). A word that is not a number
    stays text, so the validation names the field."""
    words = [w for w in re.split(r"[,;\s]+", text) if w]
    return [_number(w) for w in words] if words else None


async def save_service(
    ctx: AppContext, _: Gettext, data: dict[str, list[str]], service_id: int | None
) -> tuple[Form, ServiceOut | None]:
    """Create (no id) or update a service from the posted form."""
    form = Form(values={name: one(data, name) for name in (*SERVICE_INTS, *SERVICE_TEXTS)})
    form.values["active"] = "1" if one(data, "active", "0") == "1" else "0"
    form.values["locations"] = [v for v in data.get("locations", []) if v.strip()]
    form.values["resources"] = [v for v in data.get("resources", []) if v.strip()]
    form.values["reminder_hours"] = one(data, "reminder_hours")
    raw: dict[str, Any] = {name: form.values[name].strip() for name in SERVICE_TEXTS}
    raw["name"] = form.values["name"]
    raw.update({name: _number(form.values[name]) for name in SERVICE_INTS})
    for name in OPTIONAL:
        if raw[name] == "":
            raw[name] = None
    raw["active"] = form.values["active"] == "1"
    raw["locations"] = _ids(form.values["locations"])
    raw["resources"] = _ids(form.values["resources"])
    raw["reminder_hours"] = _hours(form.values["reminder_hours"])
    if service_id is None:
        raw["currency"] = ctx.settings.business.currency
    add_problems(_, form, raw, ServiceIn if service_id is None else ServicePatch)
    if not form.ok:
        return form, None
    try:
        if service_id is None:
            created = msgspec.convert(raw, ServiceIn)
            return form, await _save(ctx, SERVICES, None, msgspec.structs.asdict(created))
        return form, await _save(ctx, SERVICES, service_id, sent(msgspec.convert(raw, ServicePatch)))
    except FieldError as err:
        add_field_error(_, form, err)
        return form, None


# -------------------------------------------------------------------------------------------------
# Staff


def staff_values(member: StaffOut | None) -> dict[str, Any]:
    return {
        "name": member.name if member else "",
        "skills": ", ".join(member.skills) if member else "",
        "colour": member.colour if member else "#4f46e5",
        "active": "1" if member is None or member.active else "0",
        "locations": [str(i) for i in member.locations] if member else [],
    }


async def save_staff(
    ctx: AppContext, _: Gettext, data: dict[str, list[str]], staff_id: int | None
) -> tuple[Form, StaffOut | None]:
    form = Form(values={name: one(data, name) for name in ("name", "skills", "colour")})
    form.values["active"] = "1" if one(data, "active", "0") == "1" else "0"
    form.values["locations"] = [v for v in data.get("locations", []) if v.strip()]
    raw: dict[str, Any] = {
        "name": form.values["name"],
        "skills": [s.strip() for s in form.values["skills"].split(",") if s.strip()],
        "colour": form.values["colour"].strip(),
        "active": form.values["active"] == "1",
        "locations": _ids(form.values["locations"]),
    }
    add_problems(_, form, raw, StaffIn if staff_id is None else StaffPatch)
    if not form.ok:
        return form, None
    try:
        if staff_id is None:
            return form, await _save(ctx, STAFF, None, msgspec.structs.asdict(msgspec.convert(raw, StaffIn)))
        return form, await _save(ctx, STAFF, staff_id, sent(msgspec.convert(raw, StaffPatch)))
    except FieldError as err:
        add_field_error(_, form, err)
        return form, None


# -------------------------------------------------------------------------------------------------
# Working hours: one row per shift, then one empty row per weekday for another shift (a split day,
# e.g. 09:00-13:00 and 16:00-20:00); empty rows are days off and are not saved.


def hours_rows(week: list[Shift]) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for weekday in range(7):
        for shift in (s for s in week if s.weekday == weekday):
            breaks = ", ".join(f"{a}-{b}" for a, b in shift.breaks)
            rows.append({"weekday": str(weekday), "start": shift.start, "end": shift.end, "breaks": breaks})
        rows.append({"weekday": str(weekday), "start": "", "end": "", "breaks": ""})
    return rows


async def save_hours(
    ctx: AppContext, _: Gettext, data: dict[str, list[str]], staff_id: int, location: int
) -> tuple[Form, list[dict[str, str]]]:
    """Rows -> shifts -> `replace_week`; a problem is shown on the row (and part) it belongs to."""
    weekdays, starts, ends = data.get("weekday", []), data.get("start", []), data.get("end", [])
    breaks = data.get("breaks", [])
    count = min(len(weekdays), len(starts), len(ends), len(breaks), 100)
    rows = [
        {"weekday": weekdays[i], "start": starts[i].strip(), "end": ends[i].strip(), "breaks": breaks[i]}
        for i in range(count)
    ]
    form = Form(values={"rows": rows})
    shifts: list[Shift] = []
    sent_rows: list[int] = []  # the row of each shift sent
    for i, row in enumerate(rows):
        if not row["start"] and not row["end"]:
            if row["breaks"].strip():
                form.add(f"h{i}-start", _("Required"))
            continue
        pairs: list[tuple[str, str]] = []
        for part in (p.strip() for p in row["breaks"].split(",")):
            if not part:
                continue
            start, sep, end = part.partition("-")
            if not sep:
                form.add(f"h{i}-breaks", _("Write breaks as 13:00-14:00, separated by commas"))
                break
            pairs.append((start.strip(), end.strip()))
        weekday = _number(row["weekday"])
        shifts.append(
            Shift(weekday=weekday if isinstance(weekday, int) else -1, start=row["start"], end=row["end"],
                  breaks=pairs)
        )  # fmt: skip
        sent_rows.append(i)
    if form.ok:
        try:
            await replace_week(ctx, staff_id, location, shifts)
        except FieldError as err:
            found = re.match(r"^hours\[(\d+)\](?:\.(start|end|breaks))?", err.field)
            if found and int(found.group(1)) < len(sent_rows):
                index = sent_rows[int(found.group(1))]
                form.add(f"h{index}-{found.group(2) or 'start'}", error_text(_, err.message))
            else:
                form.add("location", error_text(_, err.message))
    return form, rows


# -------------------------------------------------------------------------------------------------
# Closures: a date range, at one location or all of them


async def save_closures(
    ctx: AppContext, _: Gettext, data: dict[str, list[str]]
) -> tuple[Form, ClosuresCreated | None]:
    names = ("first_day", "last_day", "name", "location")
    form = Form(values={name: one(data, name).strip() for name in names})
    days: list[date] = []
    try:
        first = date.fromisoformat(form.values["first_day"])
    except ValueError:
        form.add("first_day", _("A date, e.g. 2031-10-29"))
    try:
        last = date.fromisoformat(form.values["last_day"] or form.values["first_day"])
    except ValueError:
        form.add("last_day", _("A date, e.g. 2031-10-29"))
    if form.ok:
        if last < first:
            form.add("last_day", _("Must not be before the first day"))
        elif (last - first).days >= MAX_CLOSURE_DAYS:
            form.add("last_day", _("At most %(a)s days at once") % {"a": MAX_CLOSURE_DAYS})
        else:
            days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    if not form.values["name"]:
        form.add("name", _("Required"))
    location = _number(form.values["location"]) if form.values["location"] else None
    if isinstance(location, str):
        form.add("location", _("Not one of the choices"))
    if not form.ok:
        return form, None
    items = [
        ClosureIn(day=day.isoformat(), name=form.values["name"], location=location)  # type: ignore[arg-type]
        for day in days
    ]
    try:
        return form, await add_closures(ctx, items)
    except FieldError as err:
        field = err.field.rsplit(".", 1)[-1]
        form.add({"day": "first_day"}.get(field, field), error_text(_, err.message))
        return form, None
