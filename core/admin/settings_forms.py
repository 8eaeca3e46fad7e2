"""Form handling shared by the admin settings and customer pages: reading a posted form, and turning
the services' field errors into messages next to the field, in the reader's language.

The services raise `FieldError(field, message)` with English text written for API clients; a page
shows the field's own label (translated) and the message translated when the catalogues know it.
Messages that quote values ("no location 5") are matched by pattern so the quoted part survives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from litestar import Request

from core.errors import FieldError
from core.web.pages import Gettext

# Messages of the scheduling and customer services that quote a value: (pattern, English template).
# The template is the msgid; the groups fill its %(a)s / %(b)s.
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^no (location|resource) (\d+)$"), "No such %(a)s: %(b)s"),
    (re.compile(r"^must lie inside the shift (\S+)$"), "Must lie inside the shift %(a)s"),
    (re.compile(r"^overlaps (\S+) on the same weekday$"), "Overlaps another shift on the same day"),
    (re.compile(r"^overlaps breaks\[(\d+)\]$"), "Overlaps another break"),
    (re.compile(r"^one of (.+)$"), "One of: %(a)s"),
    (re.compile(r"^(?:must be )?at most (\d+) characters$"), "At most %(a)s characters"),
    (
        re.compile(r"^customer (\d+) already has this phone number$"),
        "Customer %(a)s already has this phone number",
    ),
    (
        re.compile(r"^customer (\d+) already has this e-mail address$"),
        "Customer %(a)s already has this e-mail address",
    ),
    (
        re.compile(r"^staff member (\d+) does not work at location (\d+)$"),
        "This staff member does not work there",
    ),
    (
        re.compile(r"^resource (\d+) is at location (\d+), where this service is not offered$"),
        "A room or device at a location where this service is not offered",
    ),
]


def error_text(_: Gettext, message: str) -> str:
    """The message in the reader's language: the catalogue's wording, a known pattern, or as it is."""
    translated = _(message)
    if translated != message:
        return translated
    for pattern, template in _PATTERNS:
        found = pattern.match(message)
        if found:
            groups = found.groups()
            values = {"a": groups[0] if groups else "", "b": groups[1] if len(groups) > 1 else ""}
            values["a"] = {"location": _("location"), "resource": _("resource")}.get(values["a"], values["a"])
            return _(template) % values
    return message[:1].upper() + message[1:]


@dataclass
class Form:
    """What was entered (kept for the re-rendered form) and what is wrong with it, per field."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def field_error(self, _: Gettext, err: FieldError, rename: dict[str, str] | None = None) -> None:
        """Attach a service's error to the form field it names (`rename`: service name -> form name)."""
        name = (rename or {}).get(err.field, err.field)
        self.add(name, error_text(_, err.message))

    @property
    def ok(self) -> bool:
        return not self.errors


async def posted(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    """The posted fields, each with all its values (checkbox groups repeat a name). A body that is not
    a form (a JSON call to a page) reads as an empty form, which then fails validation as usual."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return {}
    form = await request.form()
    out: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            out.setdefault(key, []).append(value)
    out.pop("_csrf_token", None)
    return out


def one(data: dict[str, list[str]], name: str, default: str = "") -> str:
    """One field's value; the last one wins (a hidden default followed by a checkbox)."""
    values = data.get(name)
    return values[-1] if values else default
