"""The booking page's details form: what it posts and how each field is checked.

Every field arrives as text and is checked here, all at once, so a visitor sees every problem in one
answer, each next to its field and in their language, instead of a generic error page for the first.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

import msgspec

from core.bookings.booking_page_flow import Gettext
from core.context import AppContext
from core.customers.contact import normalise_email, normalise_phone
from core.customers.service import NewCustomer, new_customer
from core.errors import FieldError

MAX_NAME = 200
MAX_NOTES = 2000
CONSENT_CHANNELS = ("sms", "whatsapp", "email")


# A form's key: what `new_attempt` makes (secrets.token_urlsafe(24), 32 characters).
ATTEMPT = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_attempt() -> str:
    return secrets.token_urlsafe(24)


class BookingForm(msgspec.Struct, kw_only=True):
    """Everything is text with a default: a missing or odd field is a message, never a decode error."""

    service: str = ""
    location: str = ""
    staff: str = ""
    day: str = ""
    start: str = ""
    name: str = ""
    phone: str = ""
    email: str = ""
    notes: str = ""
    consent_sms: str = ""
    consent_whatsapp: str = ""
    consent_email: str = ""
    # This form's own random key (see `request_key`), made when the details step is first shown.
    attempt: str = ""

    def consents(self) -> list[str]:
        """The ticked marketing channels (unticked boxes are simply absent from a form post)."""
        ticked = {"sms": self.consent_sms, "whatsapp": self.consent_whatsapp, "email": self.consent_email}
        return [channel for channel in CONSENT_CHANNELS if ticked[channel]]

    def request_key(self) -> str | None:
        """The key under which this form's booking is stored, so a second press of its button shows
        the first booking instead of making another (None for a form without a well-formed key)."""
        return f"web:{self.attempt}" if ATTEMPT.fullmatch(self.attempt) else None

    def cleaned(self) -> BookingForm:
        """Without NUL characters (PostgreSQL cannot store them; no person types them)."""
        return msgspec.structs.replace(
            self, **{f: getattr(self, f).replace("\x00", "") for f in self.__struct_fields__}
        )


@dataclass
class Checked:
    customer: NewCustomer | None
    notes: str | None
    errors: dict[str, str] = field(default_factory=dict)


def check_details(ctx: AppContext, form: BookingForm, lang: str, _: Gettext) -> Checked:
    """The person and the notes, each field checked on its own; the card's language is the page's."""
    errors: dict[str, str] = {}
    name = " ".join(form.name.split())
    if not name:
        errors["name"] = _("Please enter your name.")
    elif len(name) > MAX_NAME:
        errors["name"] = _("Your name can be at most 200 characters long.")
    phone, email = form.phone.strip(), form.email.strip()
    if not phone and not email:
        errors["phone"] = _("Please give a phone number or an e-mail address, so we can reach you.")
    if phone:
        try:
            normalise_phone(phone[:40], ctx.settings.business.default_region)
            if len(phone) > 40:
                raise FieldError("phone", "too long")
        except FieldError:
            errors["phone"] = _("This is not a valid phone number. Example: 0532 123 45 67")
    if email:
        try:
            normalise_email(email)
            if len(email) > 254:
                raise FieldError("email", "too long")
        except FieldError:
            errors["email"] = _("This is not a valid e-mail address. Example: name@example.com")
    notes = form.notes.strip()
    if len(notes) > MAX_NOTES:
        errors["notes"] = _("Your note can be at most 2000 characters long.")
    if errors:
        return Checked(None, None, errors)
    try:
        customer = new_customer(ctx, name, phone or None, email or None, "web", lang, field_prefix="")
    except FieldError as err:  # the checks above should have caught it; still name the field
        return Checked(None, None, {err.field: _("Please check this field.")})
    return Checked(customer, notes or None)
