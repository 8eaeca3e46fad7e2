"""What plugins are told about a message: who it is for and how it goes, not its text."""

from __future__ import annotations

from datetime import datetime

import msgspec


class MessageSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    key: str  # dedupe key, e.g. "reminder:42:48h:1764061200"
    kind: str
    category: str  # transactional | commercial
    recipient: str  # customer | staff
    customer_id: int | None
    booking_id: int | None
    staff_id: int | None
    medium: str | None  # the channel medium chosen (None before one is chosen)
    channel: str | None
    language: str
    status: str
    due_at: datetime  # UTC
    sent_at: datetime | None = None
