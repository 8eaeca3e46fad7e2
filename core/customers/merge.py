"""Merging duplicate cards into the one that stays, keeping every trace of the person.

A merged card is not deleted: its id stays valid in old links, booking snapshots and the audit trail,
and `merged_into` points at the kept card. Everything that hangs off a customer moves to the kept card
in the merge's transaction (`REFERENCES`), so the kept card's bookings, figures, waitlist entries and
consent ledger are the person's whole history. The merged cards keep their phone and e-mail blind
indexes: `match` follows `merged_into`, so a duplicate's other number or address still leads to the
kept card on the booking page (instead of creating the duplicate again), and search does the same.
Only their name index is cleared, so a merged card is never a near-match candidate.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.audit.records import current_actor
from core.customers.card import Card, audit_value, load_card, lock_cards, write_fields
from core.customers.duplicates import add_review
from core.customers.service import PERSONAL
from core.errors import Conflict, FieldError, NotFound

if TYPE_CHECKING:
    from core.context import AppContext

# Every (table, column) that references customer.id. The one list a merge moves; a table added
# later that references customers must be added here, or a merge leaves its rows behind on the
# merged card, outside the kept card's history. Still to come: the payments table (deposits,
# payments, refunds) when that module lands.
REFERENCES: tuple[tuple[str, str], ...] = (
    ("booking", "customer"),
    ("waitlist_entry", "customer"),
    ("customer_consent", "customer"),
    ("message", "customer"),
)
MAX_MERGED = 50


def _checked(keep_id: int, merge_ids: Sequence[int]) -> list[int]:
    """The cards to merge, in the order given, without repeats; refused before any lock is taken."""
    merged = list(dict.fromkeys(merge_ids))
    if not merged:
        raise FieldError("merge", "name at least one card to merge")
    if len(merged) > MAX_MERGED:
        raise FieldError("merge", f"at most {MAX_MERGED} cards in one merge")
    if keep_id in merged:
        raise FieldError("merge", f"customer {keep_id} cannot be merged into itself")
    return merged


def _filled(keep: Card, merged: list[Card]) -> dict[str, Any]:
    """What the kept card takes from the merged ones: a phone or e-mail it lacks (from the first card
    that has one), their notes appended, the union of the tags."""
    changed: dict[str, Any] = {}
    if keep.phone is None and (phone := next((c.phone for c in merged if c.phone), None)):
        changed["phone"] = phone
    if keep.email is None and (email := next((c.email for c in merged if c.email), None)):
        changed["email"] = email
    notes = [keep.notes] if keep.notes else []
    notes += [c.notes for c in merged if c.notes and c.notes not in notes]
    if "\n\n".join(notes) != (keep.notes or ""):
        changed["notes"] = "\n\n".join(notes)
    tags = tuple(dict.fromkeys([*keep.tags, *(t for c in merged for t in c.tags)]))
    if tags != keep.tags:
        changed["tags"] = tags
    return changed


async def merge_customers(ctx: AppContext, keep_id: int, merge_ids: Sequence[int]) -> Card:
    """Merge the cards `merge_ids` into `keep_id` in one transaction; returns the kept card.

    404 for an unknown id; 422 (field `merge`) for merging a card into itself; 409 when the kept card
    or one of the others was already merged (so two people merging the same duplicates at once get
    one merge and one clear refusal, never a chain or a half-moved history).
    """
    merged_ids = _checked(keep_id, merge_ids)
    async with ctx.db.transaction():
        cards = await lock_cards(ctx, sorted([keep_id, *merged_ids]))
        for customer_id in (keep_id, *merged_ids):
            if customer_id not in cards:
                raise NotFound("customer", customer_id)
        keep = cards[keep_id]
        if keep.merged_into is not None:
            raise Conflict(
                f"customer {keep_id} was merged into customer {keep.merged_into}; merge into that card",
                {"field": "customer", "customer": keep.merged_into},
            )
        for customer_id in merged_ids:
            into = cards[customer_id].merged_into
            if into is not None:
                raise Conflict(
                    f"customer {customer_id} was already merged into customer {into}",
                    {"field": "merge", "customer": customer_id, "merged_into": into},
                )
        merged = [cards[customer_id] for customer_id in merged_ids]
        now = datetime.now(UTC)
        marks = ", ".join("?" for _ in merged_ids)
        moved: dict[str, int] = {}
        for table, column in REFERENCES:
            rows = await ctx.db.fetch(
                f"UPDATE {table} SET {column} = ? WHERE {column} IN ({marks}) RETURNING id",
                keep_id,
                *merged_ids,
            )
            moved[table] = len(rows)
        # Cards merged earlier into one of these now point at the kept card: `match` follows one step.
        await ctx.db.execute(
            f"UPDATE customer SET merged_into = ?, updated_at = ? WHERE merged_into IN ({marks})",
            keep_id,
            now,
            *merged_ids,
        )
        await ctx.db.execute(
            f"UPDATE customer SET merged_into = ?, name_idx = NULL, updated_at = ? WHERE id IN ({marks})",
            keep_id,
            now,
            *merged_ids,
        )
        changed = _filled(keep, merged)
        if changed:
            await write_fields(ctx, keep_id, changed)
        await _resolve_reviews(ctx, keep_id, merged_ids, now)
        after = await load_card(ctx, keep_id)
        diff: dict[str, Any] = {"merged": merged_ids, "moved": moved}
        diff.update({k: [audit_value(getattr(keep, k)), audit_value(v)] for k, v in changed.items()})
        await ctx.audit.record("customer", keep_id, "merged", diff, personal=PERSONAL)
        for card in merged:
            await ctx.audit.record("customer", card.id, "merged_into", {"into": keep_id}, personal=PERSONAL)
        await ctx.hooks.call("customer_merged", customer=after.snapshot(), merged_ids=tuple(merged_ids))
    return after


async def _resolve_reviews(ctx: AppContext, keep_id: int, merged_ids: list[int], now: datetime) -> None:
    """Open flags on the merged cards are closed as `merged`; a flag between a merged card and a
    third card is raised again between the kept card and that third card (the suspicion stands)."""
    marks = ", ".join("?" for _ in merged_ids)
    rows = await ctx.db.fetch(
        f"SELECT id, customer_a, customer_b, reason FROM customer_review WHERE status = 'open'"
        f" AND (customer_a IN ({marks}) OR customer_b IN ({marks}))",
        *merged_ids,
        *merged_ids,
    )
    if not rows:
        return
    group = {keep_id, *merged_ids}
    for row in rows:
        a, b = int(row["customer_a"]), int(row["customer_b"])
        other = b if a in group else a
        if other not in group:
            await add_review(ctx, keep_id, other, row["reason"], now)
    await ctx.db.execute(
        f"UPDATE customer_review SET status = 'merged', resolved_at = ?, resolved_by = ?"
        f" WHERE id IN ({', '.join('?' for _ in rows)})",
        now,
        str(current_actor()),
        *[int(row["id"]) for row in rows],
    )
