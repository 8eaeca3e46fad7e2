"""Marketing consent per channel, kept as a ledger: every grant and withdrawal is a row (who, when,
from where), and the newest row per channel is the current state. Nothing is overwritten, so the
KVKK module can show what a customer agreed to on any past day.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from core.audit.records import current_actor
from core.customers.card import CHANNELS, load_card
from core.errors import Conflict, FieldError

if TYPE_CHECKING:
    from core.context import AppContext

SOURCES = ("staff", "web", "import", "api")


class ConsentState(msgspec.Struct, frozen=True, kw_only=True):
    """A channel's current consent; channels never asked are absent (no consent)."""

    granted: bool
    at: datetime
    source: str
    actor: str


async def consents(ctx: AppContext, customer_id: int) -> dict[str, ConsentState]:
    rows = await ctx.db.fetch(
        "SELECT channel, granted, at, source, actor FROM customer_consent WHERE customer = ? ORDER BY at, id",
        customer_id,
    )
    current: dict[str, ConsentState] = {}
    for row in rows:  # oldest first: the newest per channel stays
        current[row["channel"]] = ConsentState(
            granted=bool(row["granted"]), at=row["at"], source=row["source"], actor=row["actor"]
        )
    return current


async def record_consent(
    ctx: AppContext, customer_id: int, channel: str, granted: bool, source: str, at: datetime
) -> ConsentState:
    """Add a ledger row (audited; `customer_updated` fires with `consent.<channel>`)."""
    if channel not in CHANNELS:
        raise FieldError("channel", f"one of {', '.join(CHANNELS)}")
    if source not in SOURCES:
        raise FieldError("source", f"one of {', '.join(SOURCES)}")
    actor = str(current_actor())
    async with ctx.db.transaction():
        card = await load_card(ctx, customer_id)
        if card.merged_into is not None:
            raise Conflict(
                f"this card was merged into customer {card.merged_into}", {"customer": card.merged_into}
            )
        await ctx.db.execute(
            "INSERT INTO customer_consent (customer, channel, granted, at, source, actor)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            customer_id, channel, granted, at, source, actor,
        )  # fmt: skip
        action = "consent_granted" if granted else "consent_withdrawn"
        await ctx.audit.record("customer", customer_id, action, {"channel": channel, "source": source})
        await ctx.hooks.call("customer_updated", customer=card.snapshot(), changed=(f"consent.{channel}",))
    return ConsentState(granted=granted, at=at, source=source, actor=actor)
