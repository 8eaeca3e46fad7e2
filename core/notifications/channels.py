"""The contract between the core and a notification channel plugin.

A plugin returns channel objects from `register_notification_channels`; the core picks one per message
(the customer's preferred medium first, then `[messages] fallback`) and calls `send`. A channel only
moves bytes: consent, quiet hours, the frequency cap and templates are the core's business, so every
channel behaves the same way towards the law and the customer.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import msgspec

from core.notifications.kinds import Category, Recipient

# Media whose address is a phone number (E.164); every other medium but e-mail has a fixed target
# (a staff chat, a webhook) given by the channel itself.
PHONE_MEDIA = frozenset({"sms", "whatsapp"})
EMAIL = "email"


class Attachment(msgspec.Struct, frozen=True):
    filename: str
    content_type: str
    data: bytes


class Outgoing(msgspec.Struct, frozen=True, kw_only=True):
    """A rendered message, ready for one channel."""

    key: str  # the message's dedupe key: stable across retries, usable as an idempotency key
    kind: str
    category: Category
    recipient: Recipient
    medium: str
    to: str | None  # E.164 phone or e-mail address; None for fixed-target channels
    language: str
    subject: str
    text: str  # e-mail text, or the short text for SMS-like media
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()


class ChannelError(Exception):
    """The provider refused or could not be reached; the message is what it said (kept encrypted)."""


@runtime_checkable
class Channel(Protocol):
    """What a channel plugin provides. `name` is unique (it appears in the message log)."""

    name: str
    medium: str  # email | sms | whatsapp | telegram | webhook | ...

    def serves(self, kind: str, recipient: Recipient) -> bool:
        """Whether this channel carries that kind of message to that kind of recipient."""
        ...

    def needs_address(self) -> bool:
        """True when the message's `to` is required (e-mail, SMS); False for fixed targets."""
        ...

    async def send(self, message: Outgoing) -> str | None:
        """Deliver or raise `ChannelError`; may return the provider's reference for the log."""
        ...
