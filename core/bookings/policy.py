"""The cancellation policy in one place: until when the customer's link may change a booking, and what
a cancellation does with a deposit. The self-service page and the self-service API both ask here, so
they can never tell a customer two different things."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from core.bookings.snapshot import BookingSnapshot

# none: no deposit; unpaid: still held waiting for its deposit, so nothing was paid; refund / keep.
DepositOutcome = Literal["none", "unpaid", "refund", "keep"]


def cutoff(booking: BookingSnapshot, cutoff_hours: int) -> datetime:
    """From this moment on the link no longer moves or cancels for free (`[bookings] cancel_cutoff_hours`)."""
    return booking.start - timedelta(hours=cutoff_hours)


def deposit_outcome(
    booking: BookingSnapshot, moment: datetime, cutoff_hours: int, late_cancel_deposit: str
) -> DepositOutcome:
    """What a cancellation at `moment` does with the deposit: refunded before the cut-off, then as
    `[bookings] late_cancel_deposit` says. A booking still holding its time for the deposit has not been
    paid for (the hold stays on the row after a cancellation; the payment clears it)."""
    if booking.deposit_due == "0.00":
        return "none"
    if booking.hold_expires_at is not None:
        return "unpaid"
    if moment < cutoff(booking, cutoff_hours):
        return "refund"
    return "refund" if late_cancel_deposit == "refund" else "keep"
