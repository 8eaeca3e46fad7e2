"""Message API (staff): the message log with filters, one message with its attempts, resend, and the
business's own wording of each message (templates)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from core.access.permissions import Permission, requires
from core.errors import NotFound
from core.notifications.kinds import KINDS, LANGUAGES, PARTS
from core.notifications.log import MessageOut, get_message, list_messages, resend
from core.notifications.templates import check_names, check_template, shipped_environment, template_name
from core.web.auth import context_of, principal_of
from core.web.params import PathId, QueryId

Status = Literal["queued", "sending", "sent", "retrying", "failed", "suppressed"]
Kind = Literal[
    "confirmation", "reminder", "rescheduled", "cancelled", "waitlist_offer", "thanks", "recall",
    "winback", "staff_notice", "deposit_request",
]  # fmt: skip
Part = Literal["subject", "text", "short", "html"]
Language = Literal["tr", "en"]


class TemplateOut(msgspec.Struct, kw_only=True):
    kind: str
    part: str
    language: str
    # "business" (edited here) or "theme" (shipped); an absent html part is "none".
    source: Literal["business", "theme", "none"]
    body: str | None = None


class TemplateIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=20_000, pattern="^[^\x00]*$")]


class MessageController(Controller):
    path = "/api/v1/messages"
    tags = ["messages"]

    @get("/", operation_id="list_messages", opt=requires(Permission.MESSAGES_READ))
    async def list_(
        self,
        request: Request[Any, Any, Any],
        status: Annotated[Status | None, QueryParameter()] = None,
        kind: Annotated[Kind | None, QueryParameter()] = None,
        customer: QueryId = None,
        booking: QueryId = None,
        channel: Annotated[str | None, QueryParameter(max_length=60)] = None,
        since: Annotated[datetime | None, QueryParameter(description="created at or after")] = None,
        until: Annotated[datetime | None, QueryParameter(description="created before")] = None,
        before_id: QueryId = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[MessageOut]:
        """The message log, newest first (page with `before_id`)."""
        return await list_messages(
            context_of(request), status=status, kind=kind, customer=customer, booking=booking,
            channel=channel, since=since, until=until, before_id=before_id, limit=limit,
        )  # fmt: skip

    @get("/{message_id:int}", operation_id="get_message", opt=requires(Permission.MESSAGES_READ))
    async def get_(self, request: Request[Any, Any, Any], message_id: PathId) -> MessageOut:
        """One message with every attempt and what the provider answered."""
        return await get_message(context_of(request), message_id)

    @post(
        "/{message_id:int}/resend",
        operation_id="resend_message",
        opt=requires(Permission.MESSAGES_SEND),
        status_code=202,
    )
    async def resend_(self, request: Request[Any, Any, Any], message_id: PathId) -> MessageOut:
        """Send again now (e.g. after the provider was down); 409 while it is still on its way."""
        principal_of(request)
        return await resend(context_of(request), message_id)


class MessageTemplateController(Controller):
    path = "/api/v1/message-templates"
    tags = ["messages"]

    @get("/", operation_id="list_message_templates", opt=requires(Permission.MESSAGES_TEMPLATES))
    async def list_(self, request: Request[Any, Any, Any]) -> list[TemplateOut]:
        """Every kind x part x language, and whether the business rewrote it."""
        ctx = context_of(request)
        edited = {
            (r["kind"], r["part"], r["language"])
            for r in await ctx.db.fetch("SELECT kind, part, language FROM message_template")
        }
        env = shipped_environment(ctx)
        shipped = set(env.loader.list_templates()) if env.loader else set()
        out = []
        for kind in KINDS:
            for part in PARTS:
                for language in LANGUAGES:
                    source: Literal["business", "theme", "none"] = "none"
                    if (kind, part, language) in edited:
                        source = "business"
                    elif template_name(kind, part, language) in shipped:
                        source = "theme"
                    out.append(TemplateOut(kind=kind, part=part, language=language, source=source))
        return out

    @get(
        "/{kind:str}/{part:str}/{language:str}",
        operation_id="get_message_template",
        opt=requires(Permission.MESSAGES_TEMPLATES),
    )
    async def get_(
        self,
        request: Request[Any, Any, Any],
        kind: FromPath[str],
        part: FromPath[str],
        language: FromPath[str],
    ) -> TemplateOut:
        ctx = context_of(request)
        check_names(kind, part, language)
        body = await ctx.db.fetchval(
            "SELECT body FROM message_template WHERE kind = ? AND part = ? AND language = ?",
            kind,
            part,
            language,
        )
        if body is not None:
            return TemplateOut(kind=kind, part=part, language=language, source="business", body=body)
        env = shipped_environment(ctx)
        name = template_name(kind, part, language)
        if env.loader is None or name not in env.loader.list_templates():
            raise NotFound("template", f"{kind}/{part}/{language}")
        source, _, _ = env.loader.get_source(env, name)
        return TemplateOut(kind=kind, part=part, language=language, source="theme", body=source)

    @put(
        "/{kind:str}/{part:str}/{language:str}",
        operation_id="set_message_template",
        opt=requires(Permission.MESSAGES_TEMPLATES),
    )
    async def put_(
        self,
        request: Request[Any, Any, Any],
        kind: FromPath[str],
        part: FromPath[str],
        language: FromPath[str],
        data: JSONBody[TemplateIn],
    ) -> TemplateOut:
        """Rewrite one part; it is checked (syntax, and a render with a sample message) before it is kept."""
        ctx = context_of(request)
        check_template(kind, part, language, data.body)
        actor = str(principal_of(request).actor())[:120]  # "kind:id", as the booking history names actors
        now = ctx.clock.now()
        async with ctx.db.transaction():
            await ctx.db.execute(
                "INSERT INTO message_template (kind, part, language, body, updated_at, updated_by)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (kind, part, language)"
                " DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at,"
                " updated_by = excluded.updated_by",
                kind, part, language, data.body, now, actor,
            )  # fmt: skip
            await ctx.audit.record("message_template", 0, "edited", {"template": f"{kind}/{part}/{language}"})
        return TemplateOut(kind=kind, part=part, language=language, source="business", body=data.body)

    @delete(
        "/{kind:str}/{part:str}/{language:str}",
        operation_id="reset_message_template",
        opt=requires(Permission.MESSAGES_TEMPLATES),
    )
    async def delete_(
        self,
        request: Request[Any, Any, Any],
        kind: FromPath[str],
        part: FromPath[str],
        language: FromPath[str],
    ) -> None:
        """Back to the theme's wording."""
        ctx = context_of(request)
        check_names(kind, part, language)
        async with ctx.db.transaction():
            rows = await ctx.db.fetch(
                "DELETE FROM message_template WHERE kind = ? AND part = ? AND language = ? RETURNING id",
                kind, part, language,
            )  # fmt: skip
            if rows:
                await ctx.audit.record(
                    "message_template", 0, "reset", {"template": f"{kind}/{part}/{language}"}
                )
