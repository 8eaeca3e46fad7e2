"""The admin customer list and card.

Search terms are personal data (a name, a phone number), so the search is a POST form and never
shows up in an address or the access log; the list without a search pages through the newest cards
by number. Edits go through `update_card` and `record_consent`, the same services as the JSON API,
so the rules (one card per phone or e-mail, the consent ledger, the audit trail) are the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from core.access.permissions import Permission, requires
from core.admin.customer_page_data import card_values, card_view, newest_cards, served
from core.admin.settings_forms import Form, one, posted
from core.customers.card import CHANNELS, LANGUAGES, CardChanges, load_card, update_card
from core.customers.consent import record_consent
from core.customers.search import search
from core.errors import Conflict, FieldError
from core.web.auth import context_of, principal_of
from core.web.pages import PAGE, PAGE_FORM, gettext_for, page
from core.web.params import PathId

MAX_NOTES = 4000
MAX_NOTE = 1000
FIELD_LIMITS = {"name": 200, "phone": 40, "email": 254, "tags": 1300, "notes": MAX_NOTES}


def _can_edit(request: Request[Any, Any, Any]) -> bool:
    return principal_of(request).can(Permission.CUSTOMERS_WRITE)


async def _card_page(
    request: Request[Any, Any, Any],
    customer_id: int,
    *,
    status: int = 200,
    form: Form | None = None,
    note: Form | None = None,
    saved: str = "",
) -> Template:
    ctx = context_of(request)
    view = await card_view(ctx, customer_id, principal_of(request).scoped_staff)
    form = form or Form(values=card_values(view.card))
    return page(
        request,
        "admin/customer.html",
        status=status,
        view=view,
        form=form,
        note=note or Form(values={"note": ""}),
        saved=saved,
        can_edit=_can_edit(request),
        channels=CHANNELS,
        languages=LANGUAGES,
        currency=ctx.settings.business.currency,
    )


def _bounded(form: Form, _: Any) -> None:
    for name, limit in FIELD_LIMITS.items():
        if len(form.values.get(name, "")) > limit:
            form.add(name, _("At most %(a)s characters") % {"a": limit})
        if "\x00" in form.values.get(name, ""):
            form.add(name, _("Contains a character that is not allowed"))


class CustomerPages(Controller):
    path = "/admin/customers"
    include_in_schema = False

    @get("/", opt={**requires(Permission.CUSTOMERS_READ), **PAGE_FORM})
    async def customers(
        self,
        request: Request[Any, Any, Any],
        page_number: Annotated[int, QueryParameter(name="page", ge=1, le=100_000)] = 1,
    ) -> Template:
        """The newest cards first, a page at a time."""
        ctx = context_of(request)
        cards, more = await newest_cards(ctx, page_number, principal_of(request).scoped_staff)
        return page(
            request,
            "admin/customers.html",
            cards=cards,
            searched=False,
            form=Form(values={"q": "", "tag": ""}),
            page_number=page_number,
            more=more,
        )

    @post("/", opt={**requires(Permission.CUSTOMERS_READ), **PAGE}, status_code=200)
    async def search(self, request: Request[Any, Any, Any]) -> Template:
        """Find by name, phone, its last four digits, e-mail or tag (the terms stay in the body)."""
        ctx = context_of(request)
        _ = gettext_for(request)
        data = await posted(request)
        form = Form(values={"q": one(data, "q").strip()[:254], "tag": one(data, "tag").strip()[:40]})
        cards = []
        status = 200
        if not form.values["q"] and not form.values["tag"]:
            form.add("q", _("Type a name, a phone number, its last four digits, an e-mail or a tag"))
        else:
            try:
                cards = await search(
                    ctx, form.values["q"] or None, form.values["tag"] or None, 100,
                    principal_of(request).scoped_staff,
                )  # fmt: skip
            except FieldError as err:
                form.field_error(_, err)
        if not form.ok:
            status = 422
        return page(
            request,
            "admin/customers.html",
            status=status,
            cards=cards,
            searched=form.ok,
            form=form,
            page_number=1,
            more=False,
        )

    @get("/{customer_id:int}", opt={**requires(Permission.CUSTOMERS_READ), **PAGE_FORM})
    async def card(
        self,
        request: Request[Any, Any, Any],
        customer_id: PathId,
        saved: Annotated[str, QueryParameter(max_length=20)] = "",
    ) -> Template:
        """The whole card; a staff account sees only customers it has served, with its own bookings."""
        return await _card_page(request, customer_id, saved=saved)

    @post("/{customer_id:int}", opt={**requires(Permission.CUSTOMERS_WRITE), **PAGE}, status_code=303)
    async def edit(self, request: Request[Any, Any, Any], customer_id: PathId) -> Template | Redirect:
        """Save the card; a wrong field re-renders the form with what was typed and why it was refused."""
        ctx = context_of(request)
        _ = gettext_for(request)
        data = await posted(request)
        names = ("name", "phone", "email", "language", "preferred_channel", "tags", "notes")
        form = Form(values={name: one(data, name) for name in names})
        _bounded(form, _)
        if form.ok:
            tags = tuple(t for t in (part.strip() for part in form.values["tags"].split(",")) if t)
            changes = CardChanges(
                name=form.values["name"], phone=form.values["phone"], email=form.values["email"],
                notes=form.values["notes"], language=form.values["language"],
                preferred_channel=form.values["preferred_channel"], tags=tags,
            )  # fmt: skip
            try:
                await update_card(ctx, customer_id, changes)
            except FieldError as err:
                form.field_error(_, err)
            except Conflict as err:
                taken = str(err.extra.get("field", "phone"))
                other = err.extra.get("customer")
                if taken == "email":
                    message = _("Customer %(a)s already has this e-mail address")
                elif "field" in err.extra:
                    message = _("Customer %(a)s already has this phone number")
                else:
                    message = _("This card was merged into customer %(a)s")
                form.add(taken if taken in names else "name", message % {"a": other})
        if not form.ok:
            return await _card_page(request, customer_id, status=422, form=form)
        return Redirect(f"/admin/customers/{customer_id}?saved=card", status_code=303)

    @post("/{customer_id:int}/notes", opt={**requires(Permission.CUSTOMERS_WRITE), **PAGE}, status_code=303)
    async def add_note(self, request: Request[Any, Any, Any], customer_id: PathId) -> Template | Redirect:
        """A dated line added to the card's notes, signed with who wrote it."""
        ctx = context_of(request)
        _ = gettext_for(request)
        text = " ".join(one(await posted(request), "note").split())
        note = Form(values={"note": text})
        if not text:
            note.add("note", _("Write the note first"))
        elif len(text) > MAX_NOTE or "\x00" in text:
            note.add("note", _("At most %(a)s characters") % {"a": MAX_NOTE})
        if note.ok:
            card = await load_card(ctx, customer_id)
            line = f"{datetime.now(UTC).date().isoformat()} {principal_of(request).shown_name}: {text}"
            notes = f"{card.notes}\n{line}" if card.notes else line
            if len(notes) > MAX_NOTES:
                note.add("note", _("The notes are full: shorten them in the card first"))
            else:
                try:
                    await update_card(ctx, customer_id, CardChanges(notes=notes))
                except (FieldError, Conflict) as err:
                    note.add("note", str(err))
        if not note.ok:
            return await _card_page(request, customer_id, status=422, note=note)
        return Redirect(f"/admin/customers/{customer_id}?saved=note#notes", status_code=303)

    @post("/{customer_id:int}/consent", opt={**requires(Permission.CUSTOMERS_WRITE), **PAGE}, status_code=303)
    async def consent(self, request: Request[Any, Any, Any], customer_id: PathId) -> Template | Redirect:
        """The customer gave or withdrew marketing consent on one channel (told to staff): a ledger row."""
        ctx = context_of(request)
        _ = gettext_for(request)
        data = await posted(request)
        channel, granted = one(data, "channel"), one(data, "granted")
        await served(ctx, customer_id, principal_of(request).scoped_staff)
        if channel not in CHANNELS or granted not in ("1", "0"):
            form = Form(values=card_values(await load_card(ctx, customer_id)))
            form.add("consent", _("Choose a channel and whether consent is given"))
            return await _card_page(request, customer_id, status=422, form=form)
        await record_consent(ctx, customer_id, channel, granted == "1", "staff", datetime.now(UTC))
        return Redirect(f"/admin/customers/{customer_id}?saved=consent#consent", status_code=303)
