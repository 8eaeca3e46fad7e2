"""Customer API (`/api/v1/customers`, staff only): search, create without duplicates, the whole card, edit,
near-match review and merging duplicates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, patch, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from core.access.permissions import Permission, requires
from core.context import AppContext
from core.customers.card import Card, CardChanges, Figures, clean_tags, figures, load_card, update_card
from core.customers.consent import ConsentState, consents, record_consent
from core.customers.duplicates import Review, dismiss_review, open_reviews, open_reviews_of
from core.customers.merge import MAX_MERGED, merge_customers
from core.customers.search import search
from core.customers.service import create_card, new_customer
from core.errors import NotFound
from core.feedback.service import Feedback, feedback_of
from core.notifications.log import MessageOut, list_messages
from core.scheduling.catalogue import money
from core.web.auth import context_of, principal_of
from core.web.params import BodyId, PathId

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern="^[^\x00]*$")]
Phone = Annotated[str, msgspec.Meta(max_length=40, pattern="^[^\x00]*$")]
Email = Annotated[str, msgspec.Meta(max_length=254, pattern="^[^\x00]*$")]
Notes = Annotated[str, msgspec.Meta(max_length=4000, pattern="^[^\x00]*$")]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern="^[^\x00]*$")]
Tags = Annotated[list[Tag], msgspec.Meta(max_length=30)]
Channel = Literal["sms", "whatsapp", "email", "call"]


class NewCustomerIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    phone: Phone | None = None
    email: Email | None = None
    notes: Notes | None = None
    language: Literal["tr", "en"] | None = None
    tags: Tags = msgspec.field(default_factory=list)


class CustomerPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Only the fields sent change; "" clears phone, e-mail, notes or the preferred channel."""

    name: Name | None = None
    phone: Phone | None = None
    email: Email | None = None
    notes: Notes | None = None
    language: Literal["tr", "en"] | None = None
    preferred_channel: Channel | Literal[""] | None = None
    tags: Tags | None = None


class MergeIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The cards to merge into the one in the path."""

    merge: Annotated[list[BodyId], msgspec.Meta(min_length=1, max_length=MAX_MERGED)]


class CustomerOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    phone: str | None
    email: str | None
    notes: str | None
    language: str
    preferred_channel: str | None
    tags: list[str]
    source: str
    merged_into: int | None
    created_at: datetime
    updated_at: datetime
    # POST only: an existing card had this phone or e-mail, and is returned instead of a new one.
    matched: bool | None = None


class CardBookingOut(msgspec.Struct, kw_only=True):
    id: int
    service: int
    staff: int | None
    status: str
    start: datetime
    end: datetime
    price: str
    currency: str
    cancel_reason: str | None


class AuditEntryOut(msgspec.Struct, kw_only=True):
    seq: int
    at: datetime
    actor: str
    action: str
    changes: dict[str, Any]


class CardOut(msgspec.Struct, kw_only=True):
    customer: CustomerOut
    figures: Figures
    bookings: list[CardBookingOut]
    audit: list[AuditEntryOut]
    # Open near-match flags on this card: the suspected duplicate and why.
    reviews: list[Review]
    # Marketing consent per channel, current state (channels never asked are absent: no consent).
    consent: dict[str, ConsentState]
    # The newest messages to this customer (kind, channel, when, status); the full log: /api/v1/messages.
    messages: list[MessageOut] = msgspec.field(default_factory=list)
    # What the customer said about their visits (the thank-you message's feedback link).
    feedback: list[Feedback] = msgspec.field(default_factory=list)


class ConsentIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    granted: bool
    # Where the customer said so: at the desk, on the booking page, in an imported list, an integration.
    source: Literal["staff", "web", "import", "api"] = "staff"


def customer_out(card: Card, matched: bool | None = None) -> CustomerOut:
    return CustomerOut(
        id=card.id, name=card.name, phone=card.phone, email=card.email, notes=card.notes,
        language=card.language, preferred_channel=card.preferred_channel, tags=list(card.tags),
        source=card.source, merged_into=card.merged_into, created_at=card.created_at,
        updated_at=card.updated_at, matched=matched,
    )  # fmt: skip


async def history(
    ctx: AppContext, customer_id: int, staff: int | None = None
) -> tuple[list[CardBookingOut], list[AuditEntryOut]]:
    """The card's bookings (newest first) and its audit trail (personal values already redacted).
    With `staff` (a staff account's view): that staff member's bookings only, and no audit trail,
    which records other staff's work."""
    by_staff = " AND staff = ?" if staff is not None else ""
    rows = await ctx.db.fetch(
        "SELECT id, service, staff, status, start_at, end_at, price, currency, cancel_reason"
        f" FROM booking WHERE customer = ?{by_staff} ORDER BY start_at DESC, id DESC LIMIT 500",
        customer_id,
        *([staff] if staff is not None else []),
    )
    bookings = [
        CardBookingOut(
            id=int(r["id"]),
            service=int(r["service"]),
            staff=int(r["staff"]) if r["staff"] is not None else None,
            status=r["status"],
            start=r["start_at"],
            end=r["end_at"],
            price=money(r["price"]),
            currency=r["currency"],
            cancel_reason=r["cancel_reason"],
        )
        for r in rows
    ]
    audit_rows = (
        await ctx.db.fetch(
            "SELECT seq, at, actor_kind, actor_id, action, changes FROM ajanda_audit"
            " WHERE entity = 'customer' AND entity_id = ? ORDER BY seq",
            str(customer_id),
        )
        if staff is None
        else []
    )
    audit = [
        AuditEntryOut(
            seq=int(r["seq"]),
            at=r["at"],
            actor=f"{r['actor_kind']}:{r['actor_id']}",
            action=r["action"],
            changes=msgspec.json.decode(r["changes"]) if r["changes"] else {},
        )
        for r in audit_rows
    ]
    return bookings, audit


class CustomerController(Controller):
    path = "/api/v1/customers"
    tags = ["customers"]

    @get("/", operation_id="search_customers", opt=requires(Permission.CUSTOMERS_READ))
    async def search_customers(
        self,
        request: Request[Any, Any, Any],
        q: Annotated[
            str | None,
            QueryParameter(
                description="a name (or part of one), a phone number, its last four digits, or an e-mail",
                max_length=254,
            ),
        ] = None,
        tag: Annotated[str | None, QueryParameter(max_length=40)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    ) -> list[CustomerOut]:
        """Find customers; merged cards are left out (their history lives on the card they joined).
        A staff account finds only the customers it has served."""
        ctx = context_of(request)
        served_by = principal_of(request).scoped_staff
        return [customer_out(card) for card in await search(ctx, q, tag, limit, served_by)]

    @post("/", operation_id="create_customer", opt=requires(Permission.CUSTOMERS_WRITE), status_code=201)
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[NewCustomerIn]
    ) -> Response[CustomerOut]:
        """Add a customer; if a card already has this phone or e-mail, that card is returned (200,
        `matched: true`) and nothing is added."""
        ctx = context_of(request)
        person = new_customer(ctx, data.name, data.phone, data.email, "staff", data.language, "")
        customer_id, matched = await create_card(ctx, person, data.notes, clean_tags(data.tags))
        card = await load_card(ctx, customer_id)
        return Response(customer_out(card, matched), status_code=200 if matched else 201)

    @get("/{customer_id:int}", operation_id="get_customer", opt=requires(Permission.CUSTOMERS_READ))
    async def card(self, request: Request[Any, Any, Any], customer_id: PathId) -> CardOut:
        """The whole card: contact details, derived figures, bookings and the audit trail. A staff
        account sees only the cards of customers it has served (others answer 404), with its own
        bookings and figures from them, and no audit trail or review flags."""
        ctx = context_of(request)
        own = principal_of(request).scoped_staff
        if own is not None and not await ctx.db.fetchval(
            "SELECT 1 FROM booking WHERE customer = ? AND staff = ? LIMIT 1", customer_id, own
        ):
            raise NotFound("customer", customer_id)
        found = await load_card(ctx, customer_id)
        bookings, audit = await history(ctx, customer_id, own)
        return CardOut(
            customer=customer_out(found),
            figures=await figures(ctx, customer_id, staff=own),
            bookings=bookings,
            audit=audit,
            reviews=await open_reviews_of(ctx, customer_id) if own is None else [],
            consent=await consents(ctx, customer_id),
            messages=await list_messages(ctx, customer=customer_id, limit=50) if own is None else [],
            feedback=await feedback_of(ctx, customer_id) if own is None else [],
        )

    @put(
        "/{customer_id:int}/consent/{channel:str}",
        operation_id="set_customer_consent",
        opt=requires(Permission.CUSTOMERS_WRITE),
    )
    async def set_consent(
        self,
        request: Request[Any, Any, Any],
        customer_id: PathId,
        channel: FromPath[Channel],
        data: JSONBody[ConsentIn],
    ) -> ConsentState:
        """Record that the customer gave or withdrew marketing consent on a channel (sms, whatsapp,
        email, call). Each call adds a row to the consent ledger; the card shows the newest."""
        ctx = context_of(request)
        return await record_consent(ctx, customer_id, channel, data.granted, data.source, datetime.now(UTC))

    @patch("/{customer_id:int}", operation_id="update_customer", opt=requires(Permission.CUSTOMERS_WRITE))
    async def update(
        self, request: Request[Any, Any, Any], customer_id: PathId, data: JSONBody[CustomerPatch]
    ) -> CustomerOut:
        """Change a card. A phone or e-mail that belongs to another card is a 409 naming that card."""
        ctx = context_of(request)
        changes = CardChanges(
            name=data.name, phone=data.phone, email=data.email, notes=data.notes,
            language=data.language, preferred_channel=data.preferred_channel,
            tags=tuple(data.tags) if data.tags is not None else None,
        )  # fmt: skip
        return customer_out(await update_card(ctx, customer_id, changes))

    @get("/reviews", operation_id="list_customer_reviews", opt=requires(Permission.CUSTOMERS_READ))
    async def reviews(
        self,
        request: Request[Any, Any, Any],
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        after: Annotated[int, QueryParameter(ge=0, description="page on: the last review id seen")] = 0,
    ) -> list[Review]:
        """Open near-match pairs, oldest first: cards of the same name whose phone or e-mail look alike
        (reason codes, never the values). Merge them or dismiss the pair. None for staff accounts,
        who neither merge nor see customers they have not served."""
        if principal_of(request).scoped_staff is not None:
            return []
        return await open_reviews(context_of(request), limit, after)

    @post(
        "/reviews/{review_id:int}/dismiss",
        operation_id="dismiss_customer_review",
        opt=requires(Permission.CUSTOMERS_MERGE),
        status_code=200,
    )
    async def dismiss(self, request: Request[Any, Any, Any], review_id: PathId) -> Review:
        """Two different people after all: the pair is closed and not flagged again (409 if already
        merged or dismissed)."""
        return await dismiss_review(context_of(request), review_id)

    @post(
        "/{customer_id:int}/merge",
        operation_id="merge_customers",
        opt=requires(Permission.CUSTOMERS_MERGE),
        status_code=200,
    )
    async def merge(
        self, request: Request[Any, Any, Any], customer_id: PathId, data: JSONBody[MergeIn]
    ) -> CustomerOut:
        """Merge the cards in `merge` into this one: their bookings, waitlist entries and consent move
        here, missing contact details and notes are filled in, tags joined; they point here from now on.
        409 when a card was already merged; 422 (`merge`) for a card merged into itself."""
        ctx = context_of(request)
        return customer_out(await merge_customers(ctx, customer_id, data.merge))
