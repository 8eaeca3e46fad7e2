"""What the customer's self-service page knows about the booking its signed link names.

One load per request: the link is checked against the instance clock (so a test or a replayed day
sees the same expiry and cut-off as the customer would), the audit actor becomes the link, and the
page speaks the customer's own language unless the visitor picked another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from litestar import Request

from core.audit.records import Actor, set_actor
from core.bookings import policy, waitlist
from core.bookings.links import BadLink, signer
from core.bookings.policy import DepositOutcome
from core.bookings.service import ACTIVE
from core.db.values import as_utc
from core.notifications.content import BookingFacts, booking_facts
from core.web.auth import context_of
from core.web.pages import page_language

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from core.bookings.snapshot import BookingSnapshot
    from core.context import AppContext


@dataclass(frozen=True)
class Managed:
    token: str
    facts: BookingFacts
    lang: str
    now: datetime  # UTC, from the instance clock
    offer: bool  # a waitlist offer waiting for the customer's answer
    cutoff_hours: int
    late_cancel_deposit: str  # "keep" or "refund"

    @property
    def booking(self) -> BookingSnapshot:
        return self.facts.booking

    @property
    def zone(self) -> ZoneInfo:
        return self.facts.zone

    @property
    def active(self) -> bool:
        return self.booking.status in ACTIVE

    @property
    def cutoff(self) -> datetime:
        return policy.cutoff(self.booking, self.cutoff_hours)

    @property
    def before_cutoff(self) -> bool:
        return self.now < self.cutoff

    @property
    def has_deposit(self) -> bool:
        return self.booking.deposit_due != "0.00"

    def deposit_if_cancelled_at(self, moment: datetime) -> DepositOutcome:
        return policy.deposit_outcome(self.booking, moment, self.cutoff_hours, self.late_cancel_deposit)

    @property
    def local_today(self) -> date:
        return self.now.astimezone(self.zone).date()

    @property
    def local_day(self) -> date:
        return self.booking.start.astimezone(self.zone).date()

    def template_values(self) -> dict[str, Any]:
        return {"m": self, "booking": self.booking, "facts": self.facts, "zone": self.zone}


async def load(request: Request[Any, Any, Any], token: str) -> Managed:
    """The booking of a valid link; BadLink (a 404 saying only "invalid or expired") otherwise."""
    ctx = context_of(request)
    now = ctx.clock.now()
    booking_id = signer(ctx).verify(token, now)
    facts = await booking_facts(ctx, booking_id)
    if facts is None:  # erased since the link was sent
        raise BadLink("no such booking")
    set_actor(Actor("customer_link", str(booking_id)))
    card_language = None
    if facts.booking.customer_id is not None:
        card_language = await ctx.db.fetchval(
            "SELECT language FROM customer WHERE id = ?", facts.booking.customer_id
        )
    lang = page_language(request, fallback=card_language or ctx.settings.business.default_language)
    return Managed(
        token=token,
        facts=facts,
        lang=lang,
        now=now,
        offer=facts.booking.status == "pending" and await waitlist.is_offer(ctx, booking_id),
        cutoff_hours=ctx.settings.bookings.cancel_cutoff_hours,
        late_cancel_deposit=ctx.settings.bookings.late_cancel_deposit,
    )


async def cancelled_at(ctx: AppContext, booking_id: int) -> datetime | None:
    """When the booking was cancelled, on the instance clock: the booking service stamps it with the
    system clock, and a shifted instance clock (a test, a replayed day) must judge the cut-off the
    same way the cancellation did."""
    stamped = as_utc(await ctx.db.fetchval("SELECT cancelled_at FROM booking WHERE id = ?", booking_id))
    return None if stamped is None else stamped + (ctx.clock.now() - datetime.now(UTC))


@dataclass(frozen=True)
class WaitingEntry:
    day: date
    window_start: str
    window_end: str


async def waiting_entries(ctx: AppContext, m: Managed) -> list[WaitingEntry]:
    """The customer's open waitlist requests for this booking's service, from today on."""
    if m.booking.customer_id is None:
        return []
    rows = await ctx.db.fetch(
        "SELECT day, window_start, window_end FROM waitlist_entry WHERE customer = ? AND service = ?"
        " AND location = ? AND status = 'waiting' AND day >= ? ORDER BY day, window_start",
        m.booking.customer_id, m.booking.service_ids[0], m.booking.location_id, m.local_today,
    )  # fmt: skip
    return [
        WaitingEntry(
            r["day"] if isinstance(r["day"], date) else date.fromisoformat(str(r["day"])),
            str(r["window_start"]),
            str(r["window_end"]),
        )
        for r in rows
    ]


def parse_clock(text: str) -> time | None:
    """HH:MM (what a time input sends); None for anything else."""
    value = text.strip()
    if len(value) != 5 or value[2] != ":" or not (value[:2] + value[3:]).isdigit():
        return None
    try:
        return time(int(value[:2]), int(value[3:]))
    except ValueError:
        return None


class Refused(Exception):
    """The link cannot do this now (cancelled already, past the cut-off...): a page that says why,
    in the customer's language, with the way back to the booking."""

    def __init__(self, managed: Managed, title: str, message: str, status: int = 409) -> None:
        self.managed = managed
        self.title = title
        self.message = message
        self.status = status
        super().__init__(title)
