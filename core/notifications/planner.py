"""Which messages a booking change causes, written to the outbox in the change's own transaction.

Called by the booking service inside its write transaction, so a message exists exactly when the change
commits: a crash cannot lose a confirmation or send a reminder for a booking that was rolled back. Each
message has a dedupe key (booking x kind x offset, and the start time for reminders), so replaying a
change never queues it twice, and a moved booking gets fresh reminders while the old ones are dropped.
What is decided here is only *what* and *when*; whether it may go out (consent, quiet hours, the cap,
the booking's state at that moment) is decided by the sender when it is due.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from core.notifications.kinds import KINDS
from core.outbox.queue import NewJob

if TYPE_CHECKING:
    from core.bookings.snapshot import BookingSnapshot
    from core.context import AppContext

SEND_JOB = "core.message"


def _epoch(when: datetime) -> int:
    return int(when.timestamp())


def reminder_key(booking: BookingSnapshot, hours: int) -> str:
    return f"reminder:{booking.id}:{hours}h:{_epoch(booking.start)}"


def message_job(
    kind: str,
    key: str,
    due: datetime,
    *,
    booking: BookingSnapshot | None = None,
    customer_id: int | None = None,
    staff_id: int | None = None,
    extra: dict[str, Any] | None = None,
) -> NewJob:
    payload: dict[str, Any] = {
        "kind": kind,
        "key": key,
        "booking": booking.id if booking else None,
        "customer": None
        if staff_id is not None
        else (customer_id if customer_id is not None else (booking.customer_id if booking else None)),
        "staff": staff_id,
        "due": due.isoformat(),
    }
    if extra:
        payload["extra"] = extra
    return NewJob(kind=SEND_JOB, payload=payload, run_at=due, dedupe_key=f"msg:{key}")


class Planner:
    """Booking events -> outbox jobs, inside the caller's transaction."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.config = ctx.settings.messages

    def _on(self, kind: str) -> bool:
        """Whether to queue a message of this kind now. Reminders are always queued (a channel added
        before they fall due will carry them); a message due at once is not queued when no channel
        carries its kind, because channels only change when the instance restarts."""
        if kind in self.config.disabled_kinds:
            return False
        if kind == "reminder":
            return True
        recipient = KINDS[kind].recipient
        return any(c.serves(kind, recipient) for c in self.ctx.notifications.channels())

    def reminder_hours(self, service_hours: tuple[int, ...] | None) -> tuple[int, ...]:
        return tuple(service_hours) if service_hours is not None else tuple(self.config.reminder_hours)

    def _reminders(self, booking: BookingSnapshot, hours: tuple[int, ...], now: datetime) -> list[NewJob]:
        if booking.customer_id is None or not self._on("reminder"):
            return []
        jobs = []
        for h in hours:
            due = booking.start - timedelta(hours=h)
            if due > now:  # a reminder whose moment has passed is not sent late
                jobs.append(
                    message_job(
                        "reminder", reminder_key(booking, h), due, booking=booking, extra={"offset_hours": h}
                    )
                )
        return jobs

    def _staff_notice(
        self, booking: BookingSnapshot, change: str, key: str, now: datetime, **extra: Any
    ) -> list[NewJob]:
        if booking.staff_id is None or not self._on("staff_notice"):
            return []
        return [
            message_job(
                "staff_notice", key, now, booking=booking, staff_id=booking.staff_id,
                extra={"change": change, **extra},
            )
        ]  # fmt: skip

    def _customer(
        self, kind: str, key: str, due: datetime, booking: BookingSnapshot, **extra: Any
    ) -> list[NewJob]:
        if booking.customer_id is None or not self._on(kind):
            return []
        return [message_job(kind, key, due, booking=booking, extra=extra or None)]

    async def created(
        self,
        booking: BookingSnapshot,
        service_hours: tuple[int, ...] | None,
        *,
        group: str | None = None,
        offer: bool = False,
    ) -> None:
        """A new booking: confirmation (or the deposit request / waitlist offer of a pending one),
        reminders, and a notice to the staff member. `group` (a visit or series key) makes one
        confirmation for all its bookings."""
        now = self.ctx.clock.now()
        jobs: list[NewJob] = []
        if booking.start <= now:
            return  # history being recorded (an import): nothing to tell anyone
        if offer:
            jobs += self._customer("waitlist_offer", f"waitlist_offer:{booking.id}", now, booking)
        elif booking.status == "pending" and Decimal(booking.deposit_due) > 0:
            jobs += self._customer("deposit_request", f"deposit_request:{booking.id}", now, booking)
        elif booking.status == "confirmed":
            jobs += self._customer("confirmation", f"confirmation:{group or booking.id}", now, booking)
        jobs += self._reminders(booking, self.reminder_hours(service_hours), now)
        if not offer:
            jobs += self._staff_notice(booking, "created", f"staff_notice:{booking.id}:created", now)
        await self.ctx.outbox.enqueue_many(jobs)

    async def confirmed(self, booking: BookingSnapshot) -> None:
        now = self.ctx.clock.now()
        await self.ctx.outbox.enqueue_many(
            self._customer("confirmation", f"confirmation:{booking.id}", now, booking)
        )

    async def rescheduled(
        self, old: BookingSnapshot, booking: BookingSnapshot, service_hours: tuple[int, ...] | None
    ) -> None:
        now = self.ctx.clock.now()
        hours = self.reminder_hours(service_hours)
        await self.ctx.outbox.cancel_keys([f"msg:{reminder_key(old, h)}" for h in hours])
        at = _epoch(booking.start)
        previous = old.start.isoformat()
        jobs = self._customer(
            "rescheduled", f"rescheduled:{booking.id}:{at}", now, booking, previous_start=previous
        )
        jobs += self._reminders(booking, hours, now)
        jobs += self._staff_notice(
            booking,
            "rescheduled",
            f"staff_notice:{booking.id}:rescheduled:{at}",
            now,
            previous_start=previous,
        )
        await self.ctx.outbox.enqueue_many(jobs)

    async def cancelled(self, booking: BookingSnapshot, reason: str | None) -> None:
        now = self.ctx.clock.now()
        # Read directly: the service may have been deactivated since (the catalogue skips those).
        stored = await self.ctx.db.fetchval(
            "SELECT reminder_hours FROM service WHERE id = ?", booking.service_ids[0]
        )
        hours = self.reminder_hours(None if stored is None else tuple(json.loads(stored)))
        await self.ctx.outbox.cancel_keys([f"msg:{reminder_key(booking, h)}" for h in hours])
        lapsed_offer = await self.ctx.db.fetchval(
            "SELECT COUNT(*) FROM waitlist_entry WHERE booking = ? AND status = 'expired'", booking.id
        )
        if lapsed_offer:
            return  # an offer nobody took: its message said when it lapses, and staff never saw it
        why = reason or ""
        jobs = self._customer("cancelled", f"cancelled:{booking.id}", now, booking, reason=why)
        jobs += self._staff_notice(
            booking, "cancelled", f"staff_notice:{booking.id}:cancelled", now, reason=why
        )
        await self.ctx.outbox.enqueue_many(jobs)

    async def completed(self, booking: BookingSnapshot) -> None:
        due = self.ctx.clock.now() + timedelta(minutes=self.config.thanks_delay_minutes)
        await self.ctx.outbox.enqueue_many(self._customer("thanks", f"thanks:{booking.id}", due, booking))
