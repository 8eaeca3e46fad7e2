"""What plugins are told about a booking: an immutable snapshot, not a live ORM row."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

BookingStatus = Literal["pending", "confirmed", "completed", "no_show", "cancelled"]


class BookingSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    status: BookingStatus
    location_id: int
    service_ids: tuple[int, ...]
    staff_id: int | None
    resource_ids: tuple[int, ...] = ()
    customer_id: int | None
    start: datetime  # UTC
    end: datetime  # UTC
    source: Literal["web", "staff", "api"] = "api"
    price: str = "0"
    currency: str = "TRY"
    deposit_due: str = "0"
    # A pending booking's hold: it is cancelled if not confirmed (deposit paid) by then. UTC.
    hold_expires_at: datetime | None = None
