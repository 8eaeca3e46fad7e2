"""Near matches: a new card that matched no phone or e-mail exactly but is probably someone we know.

Exact matching (`service.match`) catches the same phone or e-mail written another way. It cannot catch
a mistyped digit, a second number with the same line, or the same mailbox name at another provider;
those cards are created (refusing them would turn people away at the booking page) and the pair is
flagged in `customer_review` for a person to merge or dismiss.

Phones and e-mails are encrypted, so the database cannot compare them. The name is what narrows the
search: `name_idx` is a blind index of the folded name (one indexed lookup finds the same-named
cards), and only those few candidates' contacts are decrypted and compared here. The lookup runs only
for a card that was just created, never for a returning customer matched exactly, and reads at most
`CANDIDATES` rows, so a common name cannot make a booking slow.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec

from core.audit.records import current_actor
from core.errors import Conflict, NotFound

if TYPE_CHECKING:
    from core.context import AppContext
    from core.customers.service import NewCustomer
    from core.privacy.crypto import FieldCipher

NAME_INDEX_FIELD = "customer.name"
# Same-named cards compared with a new one; the newest are the likeliest duplicates of a new card.
CANDIDATES = 50
# Reason codes, stored comma-separated in customer_review.reason (never the personal values).
PHONE_ONE_DIGIT = "phone_one_digit"
PHONE_SWAPPED_DIGITS = "phone_swapped_digits"
PHONE_LAST_SEVEN = "phone_last_seven"
EMAIL_LOCAL_PART = "email_local_part"
REVIEW_STATUSES = ("open", "merged", "dismissed")

# Python lower-cases İ to "i" plus a combining dot and I to "i"; Turkish has İ/i and I/ı. Both end as
# "i" below (accents are stripped and ı folded), so "AYŞE YILMAZ", "Ayşe Yılmaz" and "Ayse Yilmaz" meet.
_TURKISH_CAPITALS = str.maketrans({"İ": "i", "I": "ı"})


def fold_name(name: str) -> str:
    """The name as compared for near matches: case-folded the Turkish way, accents and punctuation
    dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", name.translate(_TURKISH_CAPITALS).casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).replace("ı", "i")
    return " ".join("".join(ch if ch.isalnum() else " " for ch in text).split())


def name_index(cipher: FieldCipher, name: str) -> str:
    """Blind index of the folded name (also used by migration m0012 to fill existing cards)."""
    return cipher.blind_index(fold_name(name), NAME_INDEX_FIELD)


def phone_reason(a: str, b: str) -> str | None:
    """Why two different E.164 numbers look like one person's: one digit mistyped, two neighbouring
    digits swapped, or the same last seven digits (the line, under another operator prefix)."""
    if a == b:
        return None
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diffs) == 1:
            return PHONE_ONE_DIGIT
        if (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and a[diffs[1]] == b[diffs[0]]
        ):
            return PHONE_SWAPPED_DIGITS
    if len(a) >= 8 and len(b) >= 8 and a[-7:] == b[-7:]:
        return PHONE_LAST_SEVEN
    return None


def email_reason(a: str, b: str) -> str | None:
    """The same mailbox name at another provider (ayse.yilmaz@gmail.com, ayse.yilmaz@hotmail.com)."""
    local_a, _, domain_a = a.partition("@")
    local_b, _, domain_b = b.partition("@")
    return EMAIL_LOCAL_PART if local_a == local_b and domain_a != domain_b else None


def near_match_reasons(
    phone: str | None, email: str | None, other_phone: str | None, other_email: str | None
) -> list[str]:
    """Reason codes for two same-named cards (empty: not a near match)."""
    reasons: list[str] = []
    if phone and other_phone and (why := phone_reason(phone, other_phone)):
        reasons.append(why)
    if email and other_email and (why := email_reason(email, other_email)):
        reasons.append(why)
    return reasons


async def flag_near_matches(ctx: AppContext, customer_id: int, customer: NewCustomer, name_idx: str) -> int:
    """Record a review row for each same-named card whose contacts look like the new card's; returns
    how many. Called by `create_card` after its transaction commits, only for a card it has just created."""
    rows = await ctx.db.fetch(
        "SELECT id, phone_enc, email_enc FROM customer WHERE name_idx = ? AND id <> ?"
        " AND merged_into IS NULL ORDER BY id DESC LIMIT ?",
        name_idx,
        customer_id,
        CANDIDATES,
    )
    if not rows:
        return 0
    cipher = ctx.cipher
    flagged = 0
    now = datetime.now(UTC)
    for row in rows:
        other_phone = cipher.decrypt(row["phone_enc"], "customer.phone") if customer.phone else None
        other_email = cipher.decrypt(row["email_enc"], "customer.email") if customer.email else None
        reasons = near_match_reasons(customer.phone, customer.email, other_phone, other_email)
        if reasons:
            await add_review(ctx, customer_id, int(row["id"]), ",".join(reasons), now)
            flagged += 1
    return flagged


async def add_review(ctx: AppContext, one: int, other: int, reason: str, now: datetime) -> None:
    """An open review of the pair, unless the pair was already flagged (open, merged or dismissed: a
    dismissed pair is not raised again)."""
    a, b = sorted((one, other))
    await ctx.db.execute(
        "INSERT INTO customer_review (customer_a, customer_b, reason, status, created_at)"
        " VALUES (?, ?, ?, 'open', ?) ON CONFLICT (customer_a, customer_b) DO NOTHING",
        a,
        b,
        reason,
        now,
    )


class ReviewCard(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str


class Review(msgspec.Struct, frozen=True, kw_only=True):
    """A suspected pair as staff see it: names only, the reasons as codes (no contact values)."""

    id: int
    customer_a: ReviewCard
    customer_b: ReviewCard
    reasons: list[str]
    status: str
    created_at: datetime


REVIEW_SELECT = (
    "SELECT r.id, r.customer_a, a.name AS name_a, r.customer_b, b.name AS name_b, r.reason, r.status,"
    " r.created_at FROM customer_review r JOIN customer a ON a.id = r.customer_a"
    " JOIN customer b ON b.id = r.customer_b"
)


def _review(row: Any) -> Review:
    return Review(
        id=int(row["id"]),
        customer_a=ReviewCard(id=int(row["customer_a"]), name=row["name_a"]),
        customer_b=ReviewCard(id=int(row["customer_b"]), name=row["name_b"]),
        reasons=str(row["reason"]).split(","),
        status=row["status"],
        created_at=row["created_at"],
    )


async def open_reviews(ctx: AppContext, limit: int = 100, after: int = 0) -> list[Review]:
    """Open pairs, oldest first; `after` pages by review id."""
    rows = await ctx.db.fetch(
        f"{REVIEW_SELECT} WHERE r.status = 'open' AND r.id > ? ORDER BY r.id LIMIT ?", after, limit
    )
    return [_review(row) for row in rows]


async def open_reviews_of(ctx: AppContext, customer_id: int) -> list[Review]:
    """The open flags on one card (shown on the card, so staff see the suspected duplicate)."""
    rows = await ctx.db.fetch(
        f"{REVIEW_SELECT} WHERE r.status = 'open' AND (r.customer_a = ? OR r.customer_b = ?)"
        " ORDER BY r.id LIMIT 100",
        customer_id,
        customer_id,
    )
    return [_review(row) for row in rows]


async def dismiss_review(ctx: AppContext, review_id: int) -> Review:
    """Two different people after all: the pair is closed and never flagged again."""
    async with ctx.db.transaction():
        # The UPDATE decides (two staff dismissing at once: one succeeds, the other is told).
        done = await ctx.db.fetch(
            "UPDATE customer_review SET status = 'dismissed', resolved_at = ?, resolved_by = ?"
            " WHERE id = ? AND status = 'open' RETURNING id",
            datetime.now(UTC),
            str(current_actor()),
            review_id,
        )
        rows = await ctx.db.fetch(f"{REVIEW_SELECT} WHERE r.id = ?", review_id)
        if not rows:
            raise NotFound("customer review", review_id)
        review = _review(rows[0])
        if not done:
            raise Conflict(f"review {review_id} is already {review.status}", {"review_status": review.status})
        await ctx.audit.record(
            "customer_review",
            review_id,
            "dismissed",
            {"customer_a": review.customer_a.id, "customer_b": review.customer_b.id},
        )
    return review
