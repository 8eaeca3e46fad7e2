"""Signed, expiring self-service links ("view / reschedule / cancel my booking").

A token is `base64url(booking id, expiry) . base64url(HMAC-SHA256)` under a key derived from
`security.secret_key`; it names the booking and nothing about the person, and stops working at expiry.
"""

from __future__ import annotations

import base64
import functools
import struct
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.errors import AjandaError

if TYPE_CHECKING:
    from core.bookings.snapshot import BookingSnapshot
    from core.context import AppContext


class BadLink(AjandaError):
    """The link is malformed, forged or expired (HTTP 404: nothing is revealed)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LinkSigner:
    def __init__(self, secret_key: str) -> None:
        self._key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"ajanda self-service links"
        ).derive(secret_key.encode())

    def _mac(self, body: bytes) -> hmac.HMAC:
        mac = hmac.HMAC(self._key, hashes.SHA256())
        mac.update(body)
        return mac

    def sign(self, booking_id: int, expires: datetime) -> str:
        body = struct.pack(">QQ", booking_id, int(expires.timestamp()))
        return f"{_b64(body)}.{_b64(self._mac(body).finalize())}"

    def verify(self, token: str, now: datetime | None = None) -> int:
        try:
            body_text, sig_text = token.split(".", 1)
            body, signature = _unb64(body_text), _unb64(sig_text)
            self._mac(body).verify(signature)
            booking_id, expires = struct.unpack(">QQ", body)
        except (ValueError, InvalidSignature, struct.error):
            raise BadLink("invalid link") from None
        if (now or datetime.now(UTC)).timestamp() > expires:
            raise BadLink("this link has expired")
        return int(booking_id)


def signer(ctx: AppContext) -> LinkSigner:
    return _signer_for(ctx.settings.security.secret_key.reveal())


@functools.lru_cache(maxsize=4)
def _signer_for(secret_key: str) -> LinkSigner:
    # One key derivation (HKDF) per secret, not one per booking answered or message sent.
    return LinkSigner(secret_key)


def self_service_token(ctx: AppContext, booking: BookingSnapshot) -> str:
    """The signed token of a booking's links (self-service, feedback): valid until some days after it."""
    expires = booking.end + timedelta(days=ctx.settings.bookings.link_valid_days_after)
    return signer(ctx).sign(booking.id, expires)


def self_service_url(ctx: AppContext, booking: BookingSnapshot) -> str:
    """The customer's page for the booking (the JSON API answers the same token under /api/v1/self/)."""
    return f"{ctx.settings.server.base_url()}/manage/{self_service_token(ctx, booking)}"
