"""Sending one message when its job is due: decide whether it may go, then try its channels in order.

The decision is made at sending time, on what is true then: a reminder for a booking that was moved or
cancelled is not sent; a commercial message goes only with consent on that channel; a capped kind
respects the per-customer frequency cap; an SMS in quiet hours waits for the morning (the job is
deferred, not dropped). Every attempt is written before the provider is called and closed after it,
so the message log shows what happened even when the worker dies in between; the message's dedupe key
makes a replayed job find the message already sent and stop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import msgspec

from core.customers.card import Card, load_card
from core.customers.consent import consents
from core.db.values import as_utc
from core.errors import NotFound, PluginError
from core.notifications.channels import EMAIL, PHONE_MEDIA, Attachment, Channel, ChannelError, Outgoing
from core.notifications.content import BookingFacts, booking_facts, invite_for, variables
from core.notifications.kinds import KINDS, MessageKind
from core.notifications.snapshot import MessageSnapshot
from core.notifications.templates import Rendered, Templates
from core.outbox.running import Deferred, current_job

if TYPE_CHECKING:
    from core.context import AppContext

log = logging.getLogger("ajanda.messages")

ERROR_FIELD = "message.error"
MESSAGE_COLUMNS = (
    "id, dedupe_key, kind, category, recipient, customer, booking, staff, status, channel, medium,"
    " language, detail, attempts, due_at, sent_at"
)
# A booking in one of these states still expects this kind of message.
EXPECTED_STATUS = {
    "confirmation": {"confirmed"},
    "reminder": {"confirmed"},
    "rescheduled": {"pending", "confirmed"},
    "waitlist_offer": {"pending"},
    "deposit_request": {"pending"},
    "cancelled": {"cancelled"},
    "thanks": {"completed"},
}


class Suppressed(Exception):
    """This message must not go out; the reason is a short code shown in the message log."""


def message_snapshot(row: Any) -> MessageSnapshot:
    return MessageSnapshot(
        id=int(row["id"]), key=row["dedupe_key"], kind=row["kind"], category=row["category"],
        recipient=row["recipient"], customer_id=row["customer"], booking_id=row["booking"],
        staff_id=row["staff"], medium=row["medium"], channel=row["channel"], language=row["language"],
        status=row["status"], due_at=as_utc(row["due_at"]) or row["due_at"], sent_at=as_utc(row["sent_at"]),
    )  # fmt: skip


@dataclass
class Recipient:
    language: str
    name: str
    card: Card | None  # None for staff
    consented: frozenset[str]

    def address(self, medium: str) -> str | None:
        if self.card is None:
            return None
        if medium in PHONE_MEDIA:
            return self.card.phone
        if medium == EMAIL:
            return self.card.email
        return None


class Notifications:
    """The instance's message machinery: channels from plugins, templates, and the send job."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.config = ctx.settings.messages
        self.templates = Templates(ctx)
        self._channels: list[Channel] | None = None

    # ---------------------------------------------------------------------------------------------
    def channels(self) -> list[Channel]:
        """Every plugin's channels, collected once (at start-up: a bad one stops the start)."""
        if self._channels is None:
            found: list[Channel] = []
            for plugin, provided in self.ctx.hooks.per_plugin_sync("register_notification_channels"):
                for channel in provided:
                    if not isinstance(channel, Channel):
                        raise PluginError(plugin, f"{channel!r} is not a notification channel")
                    if any(c.name == channel.name for c in found):
                        raise PluginError(plugin, f"channel name {channel.name!r} is already taken")
                    found.append(channel)
            self._channels = found
        return self._channels

    # ---------------------------------------------------------------------------------------------
    async def _message(self, payload: dict[str, Any], kind: MessageKind) -> Any:
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction():
            await self.ctx.db.execute(
                "INSERT INTO message (dedupe_key, kind, category, recipient, customer, booking, staff,"
                " status, language, detail, attempts, payload, due_at, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, '', 0, ?, ?, ?, ?)"
                " ON CONFLICT (dedupe_key) DO NOTHING",
                payload["key"], kind.name, kind.category, kind.recipient, payload.get("customer"),
                payload.get("booking"), payload.get("staff"), self.ctx.settings.business.default_language,
                msgspec.json.encode({k: v for k, v in payload.items() if k != "resend"}).decode(),
                datetime.fromisoformat(payload["due"]), now, now,
            )  # fmt: skip
            rows = await self.ctx.db.fetch(
                f"SELECT {MESSAGE_COLUMNS} FROM message WHERE dedupe_key = ?", payload["key"]
            )
        return rows[0]

    async def _set(self, message_id: int, **fields: Any) -> None:
        fields["updated_at"] = self.ctx.clock.now()
        sets = ", ".join(f"{name} = ?" for name in fields)
        async with self.ctx.db.transaction():
            await self.ctx.db.execute(f"UPDATE message SET {sets} WHERE id = ?", *fields.values(), message_id)

    # ---------------------------------------------------------------------------------------------
    async def run_job(self, payload: dict[str, Any]) -> None:
        kind = KINDS[payload["kind"]]
        row = await self._message(payload, kind)
        if row["status"] in ("sent", "suppressed", "failed") and not payload.get("resend"):
            return  # a replayed job: already settled
        if row["status"] == "sending":
            await self._interrupted(int(row["id"]))
        try:
            await self._send(payload, kind, row)
        except Suppressed as why:
            await self._set(int(row["id"]), status="suppressed", detail=str(why)[:200])
            log.info("message %s (%s) suppressed: %s", row["id"], kind.name, why)
        except (Deferred, ChannelError):
            raise
        except Exception as err:
            # Not the provider: a broken template, a plugin's bug. The log says so; the job retries.
            await self._set(
                int(row["id"]),
                status="failed" if _final() else "retrying",
                detail=f"error: {type(err).__name__}",
            )
            raise

    async def _interrupted(self, message_id: int) -> None:
        """A worker died between calling the provider and recording the answer: the attempt's outcome
        is unknown. It is closed as such and the message is tried again (at least once beats never)."""
        async with self.ctx.db.transaction():
            await self.ctx.db.execute(
                "UPDATE message_attempt SET status = 'failed', error_enc = ?, finished_at = ?"
                " WHERE message = ? AND status = 'sending'",
                self.ctx.cipher.encrypt("interrupted: the worker stopped during this attempt", ERROR_FIELD),
                self.ctx.clock.now(),
                message_id,
            )

    async def _send(self, payload: dict[str, Any], kind: MessageKind, row: Any) -> None:
        now = self.ctx.clock.now()
        message_id = int(row["id"])
        if kind.name in self.config.disabled_kinds:
            raise Suppressed("kind disabled")
        facts = await self._facts(payload, kind, now)
        recipient = await self._recipient(payload, kind)
        candidates = self._candidates(kind, recipient)
        await self._capped(kind, recipient)
        snapshot = message_snapshot({**dict(row), "language": recipient.language})
        for reason in await self.ctx.hooks.call("notification_before_send", message=snapshot) or []:
            if reason:
                raise Suppressed(f"plugin: {reason}")
        zone = facts.zone if facts else ZoneInfo(self.ctx.settings.business.timezone)
        candidates = self._quiet(candidates, kind, facts, zone, now)
        extra = dict(payload.get("extra") or {})
        values = variables(self.ctx, recipient.language, recipient.name, facts, extra)
        rendered: dict[str, Rendered] = {}
        errors = []
        for channel in candidates:
            form = EMAIL if channel.medium == EMAIL else "short"
            if form not in rendered:
                rendered[form] = await self.templates.render(
                    kind.name, channel.medium, recipient.language, values
                )
            outgoing = self._outgoing(payload, kind, channel, recipient, rendered[form], facts)
            if await self._attempt(message_id, channel, outgoing, recipient.language):
                return
            errors.append(channel.name)
        job = current_job.get()
        final = job is None or job.last_attempt
        await self._set(
            message_id,
            status="failed" if final else "retrying",
            detail=f"failed on {', '.join(errors)}"[:200],
        )
        raise ChannelError(f"every channel failed: {', '.join(errors)}")

    # ---------------------------------------------------------------------------------------------
    async def _facts(self, payload: dict[str, Any], kind: MessageKind, now: datetime) -> BookingFacts | None:
        if payload.get("booking") is None:
            return None
        facts = await booking_facts(self.ctx, int(payload["booking"]))
        if facts is None:
            raise Suppressed("booking deleted")
        booking = facts.booking
        expected = EXPECTED_STATUS.get(kind.name)
        if expected and booking.status not in expected:
            raise Suppressed(f"booking is {booking.status}")
        if kind.name in ("reminder", "rescheduled") and not payload["key"].endswith(
            str(int(booking.start.timestamp()))
        ):
            raise Suppressed("booking moved")
        if kind.before_start and booking.start <= now:
            raise Suppressed("too late: the booking has started")
        return facts

    async def _recipient(self, payload: dict[str, Any], kind: MessageKind) -> Recipient:
        default = self.ctx.settings.business.default_language
        if kind.recipient == "staff":
            name = await self.ctx.db.fetchval("SELECT name FROM staff WHERE id = ?", payload.get("staff"))
            return Recipient(default, name or "", None, frozenset())
        if payload.get("customer") is None:
            raise Suppressed("no customer")
        try:
            card = await load_card(self.ctx, int(payload["customer"]))
            while card.merged_into is not None:  # the duplicate was merged: its history lives on
                card = await load_card(self.ctx, card.merged_into)
        except NotFound:
            raise Suppressed("customer deleted") from None
        granted = frozenset(ch for ch, state in (await consents(self.ctx, card.id)).items() if state.granted)
        return Recipient(card.language or default, card.name, card, granted)

    def _candidates(self, kind: MessageKind, recipient: Recipient) -> list[Channel]:
        """Channels that carry this kind to this recipient and can reach them, best first: the
        customer's preferred medium, then `[messages] fallback`, then the rest as registered."""
        serving = [c for c in self.channels() if c.serves(kind.name, kind.recipient)]
        if not serving:
            raise Suppressed("no channel for this kind")
        reachable = [c for c in serving if not c.needs_address() or recipient.address(c.medium)]
        if not reachable:
            raise Suppressed("no address")
        if kind.category == "commercial":
            reachable = [c for c in reachable if c.medium in recipient.consented]
            if not reachable:
                raise Suppressed("no marketing consent")
        preferred = recipient.card.preferred_channel if recipient.card else None
        order = [m for m in (preferred, *self.config.fallback) if m]

        def rank(channel: Channel) -> int:
            return order.index(channel.medium) if channel.medium in order else len(order)

        return sorted(reachable, key=rank)  # stable: registration order within a rank

    async def _capped(self, kind: MessageKind, recipient: Recipient) -> None:
        if not kind.capped or recipient.card is None:
            return
        capped = [k.name for k in KINDS.values() if k.capped]
        since = self.ctx.clock.now() - timedelta(days=self.config.cap_days)
        marks = ", ".join("?" * len(capped))
        sent = await self.ctx.db.fetchval(
            f"SELECT COUNT(*) FROM message WHERE customer = ? AND status = 'sent' AND kind IN ({marks})"
            " AND sent_at >= ?",
            recipient.card.id, *capped, since,
        )  # fmt: skip
        if int(sent or 0) >= self.config.cap_messages:
            raise Suppressed("frequency cap")

    def _quiet(
        self,
        candidates: list[Channel],
        kind: MessageKind,
        facts: BookingFacts | None,
        zone: ZoneInfo,
        now: datetime,
    ) -> list[Channel]:
        """Quiet hours: a message whose best channel is quiet now waits until they end; one that cannot
        wait (its booking starts before then) goes on the best channel that is not quiet."""
        first = candidates[0]
        if first.medium not in self.config.quiet_media:
            return candidates
        ends = quiet_until(now, zone, self.config.quiet_start, self.config.quiet_end)
        if ends is None:
            return candidates
        if kind.before_start and facts is not None and ends >= facts.booking.start:
            loud = [c for c in candidates if c.medium not in self.config.quiet_media]
            if not loud:
                raise Suppressed("quiet hours last until the booking starts")
            return loud
        raise Deferred(ends, "quiet hours")

    def _outgoing(
        self,
        payload: dict[str, Any],
        kind: MessageKind,
        channel: Channel,
        recipient: Recipient,
        rendered: Rendered,
        facts: BookingFacts | None,
    ) -> Outgoing:
        attachments: tuple[Attachment, ...] = ()
        if channel.medium == EMAIL and kind.name in ("confirmation", "rescheduled") and facts is not None:
            attachments = (invite_for(self.ctx, facts, rendered.text),)
        # The provider's idempotency key: the same for retries, new for a deliberate resend.
        key = payload["key"] + (f":resend:{payload['due']}" if payload.get("resend") else "")
        return Outgoing(
            key=key, kind=kind.name, category=kind.category, recipient=kind.recipient,
            medium=channel.medium, to=recipient.address(channel.medium), language=recipient.language,
            subject=rendered.subject, text=rendered.text, html=rendered.html, attachments=attachments,
        )  # fmt: skip

    async def _attempt(self, message_id: int, channel: Channel, outgoing: Outgoing, language: str) -> bool:
        """One try on one channel, recorded before and after; True when the provider took it."""
        started = self.ctx.clock.now()
        async with self.ctx.db.transaction():
            rows = await self.ctx.db.fetch(
                "INSERT INTO message_attempt (message, channel, medium, status, started_at)"
                " VALUES (?, ?, ?, 'sending', ?) RETURNING id",
                message_id, channel.name, channel.medium, started,
            )  # fmt: skip
            await self.ctx.db.execute(
                "UPDATE message SET status = 'sending', channel = ?, medium = ?, language = ?,"
                " attempts = attempts + 1, updated_at = ? WHERE id = ?",
                channel.name, channel.medium, language, started, message_id,
            )  # fmt: skip
        attempt_id = int(rows[0]["id"])
        try:
            await channel.send(outgoing)
        except Exception as err:
            detail = f"{type(err).__name__}: {err}"[:2000] if not isinstance(err, ChannelError) else str(err)
            log.warning("message %s: channel %s failed (%s)", message_id, channel.name, type(err).__name__)
            async with self.ctx.db.transaction():
                await self.ctx.db.execute(
                    "UPDATE message_attempt SET status = 'failed', error_enc = ?, finished_at = ?"
                    " WHERE id = ?",
                    self.ctx.cipher.encrypt(detail[:2000], ERROR_FIELD), self.ctx.clock.now(), attempt_id,
                )  # fmt: skip
            return False
        done = self.ctx.clock.now()
        async with self.ctx.db.transaction():
            await self.ctx.db.execute(
                "UPDATE message_attempt SET status = 'sent', finished_at = ? WHERE id = ?", done, attempt_id
            )
            rows = await self.ctx.db.fetch(
                "UPDATE message SET status = 'sent', sent_at = ?, detail = '', updated_at = ? WHERE id = ?"
                f" RETURNING {MESSAGE_COLUMNS}",
                done, done, message_id,
            )  # fmt: skip
            await self.ctx.hooks.call("notification_sent", message=message_snapshot(rows[0]))
        return True


def _final() -> bool:
    """Whether the running job has no attempt left after this one."""
    job = current_job.get()
    return job is None or job.last_attempt


def quiet_until(now: datetime, zone: ZoneInfo, start: str, end: str) -> datetime | None:
    """When the quiet hours around `now` end (UTC), or None when it is not quiet. Windows may span
    midnight (21:00-09:00); the end is a wall-clock time, so it follows DST."""
    local = now.astimezone(zone)
    s, e = time.fromisoformat(start), time.fromisoformat(end)
    t = local.timetz().replace(tzinfo=None)
    if s == e:
        return None
    if s < e:
        quiet = s <= t < e
        end_day = local.date()
    else:
        quiet = t >= s or t < e
        end_day = local.date() + timedelta(days=1) if t >= s else local.date()
    if not quiet:
        return None
    ends = datetime.combine(end_day, e, tzinfo=zone)
    return ends.astimezone(now.tzinfo)


async def run_send_job(payload: dict[str, Any], ctx: AppContext) -> None:
    await ctx.notifications.run_job(payload)
