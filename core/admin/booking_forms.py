"""Reading the admin booking forms and saying what is wrong with them in the reader's language.

Forms are read by hand (not through a typed body) so a bad value re-renders the same form with the
entered values and a message next to the field, instead of ending in a generic error page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from core.customers.card import Card, load_cards
from core.customers.duplicates import name_index
from core.errors import FieldError
from core.scheduling.loader import qualified_staff
from core.web.pages import Gettext
from core.web.params import MAX_ID

if TYPE_CHECKING:
    from core.context import AppContext
    from core.scheduling.loader import ServiceInfo

MAX_HOLD_MINUTES = 7 * 24 * 60
MAX_NOTES = 2000
MAX_REASON = 500


@dataclass
class Problems:
    """Field -> message, in the order they were found (the summary at the top lists them)."""

    fields: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, message)

    def __bool__(self) -> bool:
        return bool(self.fields)


def text(form: Mapping[str, Any], name: str, limit: int = 200) -> str:
    """A form field as text: trimmed, NUL-free (PostgreSQL cannot store it), at most `limit` long."""
    value = form.get(name)
    return "" if value is None else str(value).replace("\x00", "").strip()[:limit]


def an_id(value: object) -> int | None:
    """An id from a form or query string; anything else (empty, words, absurd) is no id."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= MAX_ID else None


def a_time(value: object) -> time | None:
    try:
        return time.fromisoformat(str(value).strip())
    except ValueError:
        return None


def a_moment(value: object) -> datetime | None:
    """An ISO moment with its offset (slot links carry the location's offset)."""
    try:
        moment = datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def local_moment(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone)


def field_message(err: FieldError, _: Gettext) -> tuple[str, str]:
    """(form field, message for the reader) for a FieldError of the booking or customer code."""
    name = err.field.rsplit(".", 1)[-1]
    if name == "name":
        return "name", _("Enter the customer's name.")
    if name == "phone":
        if "required" in err.message:
            return "phone", _("Enter a phone number or an e-mail address.")
        return "phone", _("Enter a valid phone number, e.g. 0532 111 22 33.")
    if name == "email":
        return "email", _("Enter a valid e-mail address, e.g. ayse@example.com.")
    if name == "staff":
        return "staff", _("This staff member does not offer this service at this location.")
    if name in ("service", "location"):
        return name, _("This service is not offered at this location.")
    if name == "q":
        return "q", _("Enter a name, a phone number, its last four digits or an e-mail address.")
    if name == "start":
        return "start", _("Choose a time.")
    return name, err.message


async def location_services(ctx: AppContext, location_id: int) -> list[dict[str, Any]]:
    rows = await ctx.db.fetch(
        "SELECT s.id, s.name, s.duration_min, s.price, s.currency FROM service s"
        " JOIN service_location sl ON sl.service = s.id WHERE sl.location = ? AND s.active = ?"
        " ORDER BY s.category, s.name",
        location_id,
        True,
    )
    return [dict(r) for r in rows]


async def service_staff(
    ctx: AppContext, service: ServiceInfo | None, location_id: int
) -> list[dict[str, Any]]:
    """Who can do the service at the location (everyone there while no service is chosen)."""
    rows = await ctx.db.fetch(
        "SELECT s.id, s.name FROM staff s JOIN staff_location sl ON sl.staff = s.id"
        " WHERE sl.location = ? AND s.active = ? ORDER BY s.id",
        location_id,
        True,
    )
    if service is None:
        return [dict(r) for r in rows]
    able = set(await qualified_staff(ctx.db, service, location_id))
    return [dict(r) for r in rows if int(r["id"]) in able]


async def same_name_cards(ctx: AppContext, name: str, limit: int = 10) -> list[Card]:
    """Cards whose folded name is the entered one: possibly the same person under other contacts."""
    return await load_cards(ctx, "name_idx = ?", [name_index(ctx.cipher, name)], limit)
