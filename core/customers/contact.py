"""Normalising contact details so the same person is recognised on every entry path."""

from __future__ import annotations

import phonenumbers

from core.errors import FieldError


def normalise_phone(raw: str, default_region: str, field: str = "phone") -> str:
    """E.164 (+905321112233) or FieldError naming `field`."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise FieldError(field, "not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise FieldError(field, "not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str, field: str = "email") -> str:
    """Trimmed and lower-cased; a light syntax check (the real check is that mail arrives)."""
    email = raw.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or " " in email or domain.startswith("."):
        raise FieldError(field, "not an e-mail address")
    return email
