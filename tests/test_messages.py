"""Messages delivered for real: e-mail to a local SMTP server, SMS-like channels to a local HTTP
listener through apprise `json://`, driven by the worker and a controllable clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest

from core.bookings.service import BookingService, NewBooking
from core.context import AppContext
from core.customers.consent import record_consent
from core.customers.service import find_or_create, new_customer
from core.outbox.worker import Worker
from tests import business as biz
from tests.conftest import admin_headers, api_client
from tests.messaging import Listener, SmtpServer, listener, smtp_server

__all__ = ["listener", "smtp_server"]  # fixtures


def channel(name: str, medium: str, url: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "medium": medium, "url": url, **extra}


async def messaging(
    make_settings: Callable[..., Any], start_context: Any, channels: list[dict[str, Any]], **messages: Any
) -> AppContext:
    settings = make_settings(
        plugins={"enabled": ["notify_apprise"]},
        plugin={"notify_apprise": {"channels": channels, "timeout": 10}},
        messages=messages,
        worker={"backoff_base": 60, "backoff_max": 600, "max_attempts": 3},
    )
    ctx: AppContext = await start_context(settings)
    return ctx


async def drain(ctx: AppContext) -> None:
    """Run the worker until nothing is due at the context's current time."""
    worker = Worker(ctx, "test")
    for _ in range(50):
        if not await worker.run_once():
            return
    raise AssertionError("the queue never drained")


async def customer(
    ctx: AppContext,
    name: str,
    phone: str | None = None,
    email: str | None = None,
    language: str = "tr",
    preferred: str | None = None,
) -> int:
    cid = await find_or_create(ctx, new_customer(ctx, name, phone, email, "staff", language))
    if preferred:
        await ctx.db.execute("UPDATE customer SET preferred_channel = ? WHERE id = ?", preferred, cid)
    return cid


async def messages_of(ctx: AppContext, **where: Any) -> list[Any]:
    clause = " AND ".join(f"{k} = ?" for k in where) or "1 = 1"
    return await ctx.db.fetch(f"SELECT * FROM message WHERE {clause} ORDER BY id", *where.values())


async def job_times(ctx: AppContext, prefix: str) -> list[datetime]:
    rows = await ctx.db.fetch("SELECT dedupe_key, run_at, status FROM ajanda_job WHERE kind = 'core.message'")
    return sorted(
        r["run_at"].astimezone(UTC) if r["run_at"].tzinfo else r["run_at"].replace(tzinfo=UTC)
        for r in rows
        if r["dedupe_key"].startswith(prefix) and r["status"] == "pending"
    )


def day_at(days: int, hour: int, zone: str = "Europe/Istanbul") -> datetime:
    from zoneinfo import ZoneInfo

    local = datetime.now(ZoneInfo(zone)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return (local + timedelta(days=days)).astimezone(UTC)


# -------------------------------------------------------------------------------------------------


async def test_confirmation_email_in_the_customers_language_with_an_invite_then_reminders_on_time(
    make_settings: Callable[..., Any], start_context: Any, smtp_server: SmtpServer
) -> None:
    ctx = await messaging(make_settings, start_context, [channel("mail", "email", smtp_server.url())])
    shop = await biz.build()
    cut = await biz.add_service(shop, "Haircut")
    who = await customer(ctx, "Jane Doe", email="jane@example.com", language="en")
    start = day_at(5, 11)
    booking = await BookingService(ctx).create(NewBooking(service_id=cut, start=start, customer_id=who))

    # Reminders are queued with the booking, at 48 h and 6 h before it.
    assert await job_times(ctx, f"msg:reminder:{booking.id}:") == [
        start - timedelta(hours=48),
        start - timedelta(hours=6),
    ]
    await drain(ctx)
    [mail] = smtp_server.mailbox.to("jane@example.com")
    assert "confirmed" in mail["Subject"].lower()
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Jane" in text and "Haircut" in text and "11:00" in text
    assert mail.get_body(("html",)) is not None
    [invite] = [p for p in mail.iter_attachments() if p.get_filename() == "randevu.ics"]
    event = icalendar.Calendar.from_ical(invite.get_payload(decode=True)).walk("VEVENT")[0]
    assert event.decoded("dtstart") == start and event.decoded("dtend") == start + timedelta(hours=1)
    assert str(event["uid"]).startswith(f"booking-{booking.id}@")

    # Nothing more until the first reminder is due, then exactly that one.
    ctx.clock.set(start - timedelta(hours=48, minutes=1))
    await drain(ctx)
    assert len(smtp_server.mailbox.to("jane@example.com")) == 1
    ctx.clock.set(start - timedelta(hours=48))
    await drain(ctx)
    reminders = smtp_server.mailbox.to("jane@example.com")[1:]
    assert len(reminders) == 1 and "reminder" in reminders[0]["Subject"].lower()
    ctx.clock.set(start - timedelta(hours=6))
    await drain(ctx)
    assert len(smtp_server.mailbox.to("jane@example.com")) == 3

    log = await messages_of(ctx, customer=who)
    assert [(m["kind"], m["status"], m["channel"]) for m in log] == [
        ("confirmation", "sent", "mail"),
        ("reminder", "sent", "mail"),
        ("reminder", "sent", "mail"),
    ]


@pytest.mark.parametrize(
    ("start", "label"),
    [
        # The 48 h reminder of a Monday 10:00 visit falls before the clocks change that Sunday.
        (datetime(2027, 3, 29, 8, 0, tzinfo=UTC), "spring forward"),  # 10:00 CEST
        (datetime(2027, 11, 1, 9, 0, tzinfo=UTC), "fall back"),  # 10:00 CET
    ],
)
async def test_reminders_across_a_dst_change_come_48_real_hours_early_and_say_the_local_time(
    make_settings: Callable[..., Any],
    start_context: Any,
    smtp_server: SmtpServer,
    start: datetime,
    label: str,
) -> None:
    ctx = await messaging(make_settings, start_context, [channel("mail", "email", smtp_server.url())])
    shop = await biz.build(zone="Europe/Berlin")
    cut = await biz.add_service(shop, "Haircut")
    who = await customer(ctx, "Jane Doe", email="jane@example.com", language="en")
    booking = await BookingService(ctx).create(NewBooking(service_id=cut, start=start, customer_id=who))
    due = await job_times(ctx, f"msg:reminder:{booking.id}:")
    assert due == [start - timedelta(hours=48), start - timedelta(hours=6)], label
    await drain(ctx)  # the confirmation
    ctx.clock.set(due[0] - timedelta(seconds=1))
    await drain(ctx)
    assert len(smtp_server.mailbox.to("jane@example.com")) == 1
    ctx.clock.set(due[0])
    await drain(ctx)
    reminder = smtp_server.mailbox.to("jane@example.com")[-1]
    text = reminder.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "10:00" in text and "Monday" in text, text


async def test_sms_to_the_preferred_channel_in_turkish_and_fallback_when_it_fails(
    make_settings: Callable[..., Any], start_context: Any, smtp_server: SmtpServer, listener: Listener
) -> None:
    ctx = await messaging(
        make_settings,
        start_context,
        [channel("mail", "email", smtp_server.url()), channel("sms", "sms", listener.url())],
    )
    shop = await biz.build()
    cut = await biz.add_service(shop, "Saç kesimi")
    who = await customer(
        ctx, "Ayşe Yılmaz", phone="0532 123 45 67", email="ayse@example.com", preferred="sms"
    )
    ctx.clock.set(day_at(0, 12))
    service = BookingService(ctx)
    booking = await service.create(NewBooking(service_id=cut, start=day_at(4, 14), customer_id=who))
    await drain(ctx)
    [sms] = listener.posts
    assert sms["to"] == "905321234567" and sms["category"] == "transactional"
    assert "Saç kesimi" in sms["message"] and "14:00" in sms["message"]
    assert smtp_server.mailbox.to("ayse@example.com") == []

    listener.status = 500  # the SMS provider is down: the same attempt goes on by e-mail
    await service.reschedule(booking.id, day_at(4, 15))
    await drain(ctx)
    [mail] = smtp_server.mailbox.to("ayse@example.com")
    assert "15:00" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    [moved] = await messages_of(ctx, customer=who, kind="rescheduled")
    assert (moved["status"], moved["channel"]) == ("sent", "mail")
    async with api_client(ctx) as client:
        detail = (
            await client.get(f"/api/v1/messages/{moved['id']}", headers=admin_headers(ctx.settings))
        ).json()
    assert [(t["channel"], t["status"]) for t in detail["tries"]] == [("sms", "failed"), ("mail", "sent")]
    assert "500" in detail["tries"][0]["error"] or "Internal" in detail["tries"][0]["error"]


async def test_reschedule_moves_pending_reminders_and_cancel_removes_them(
    make_settings: Callable[..., Any], start_context: Any, smtp_server: SmtpServer
) -> None:
    ctx = await messaging(make_settings, start_context, [channel("mail", "email", smtp_server.url())])
    shop = await biz.build()
    cut = await biz.add_service(shop, "Haircut", reminder_hours="[24]")  # the service's own offset
    who = await customer(ctx, "Jane Doe", email="jane@example.com", language="en")
    service = BookingService(ctx)
    first = day_at(5, 10)
    booking = await service.create(NewBooking(service_id=cut, start=first, customer_id=who))
    assert await job_times(ctx, f"msg:reminder:{booking.id}:") == [first - timedelta(hours=24)]
    second = day_at(6, 16)
    await service.reschedule(booking.id, second)
    assert await job_times(ctx, f"msg:reminder:{booking.id}:") == [second - timedelta(hours=24)]
    await service.cancel(booking.id, reason="customer is ill")
    assert await job_times(ctx, f"msg:reminder:{booking.id}:") == []
    await drain(ctx)
    ctx.clock.set(second - timedelta(hours=24))
    await drain(ctx)
    # All of it happened before the worker ran: only the cancellation is still true, so only it goes.
    subjects = [m["Subject"].lower() for m in smtp_server.mailbox.to("jane@example.com")]
    assert len(subjects) == 1 and "cancel" in subjects[0], subjects
    log = {m["kind"]: (m["status"], m["detail"]) for m in await messages_of(ctx, customer=who)}
    assert log == {
        "confirmation": ("suppressed", "booking is cancelled"),
        "rescheduled": ("suppressed", "booking is cancelled"),
        "cancelled": ("sent", ""),
    }
    cancelled = smtp_server.mailbox.to("jane@example.com")[-1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "customer is ill" in cancelled


async def test_quiet_hours_shift_an_sms_to_the_morning_but_not_an_email(
    make_settings: Callable[..., Any], start_context: Any, smtp_server: SmtpServer, listener: Listener
) -> None:
    ctx = await messaging(
        make_settings,
        start_context,
        [channel("mail", "email", smtp_server.url()), channel("sms", "sms", listener.url())],
    )
    shop = await biz.build()
    cut = await biz.add_service(shop, "Haircut")
    texter = await customer(ctx, "Ali Veli", phone="05321234567", preferred="sms")
    mailer = await customer(ctx, "Jane Doe", email="jane@example.com", language="en")
    night = day_at(1, 23) + timedelta(minutes=30)  # 23:30 in Istanbul
    ctx.clock.set(night)
    service = BookingService(ctx)
    await service.create(NewBooking(service_id=cut, start=day_at(4, 10), customer_id=texter))
    await service.create(NewBooking(service_id=cut, start=day_at(4, 11), customer_id=mailer))
    await drain(ctx)
    assert listener.posts == [] and len(smtp_server.mailbox.to("jane@example.com")) == 1
    [waiting] = await messages_of(ctx, customer=texter, kind="confirmation")
    assert waiting["status"] == "queued"
    morning = day_at(2, 9)
    assert await job_times(ctx, "msg:confirmation:") == [morning]
    ctx.clock.set(morning - timedelta(minutes=1))
    await drain(ctx)
    assert listener.posts == []
    ctx.clock.set(morning)
    await drain(ctx)
    assert len(listener.posts) == 1


async def test_frequency_cap_and_commercial_messages_only_with_consent(
    make_settings: Callable[..., Any], start_context: Any, smtp_server: SmtpServer
) -> None:
    ctx = await messaging(
        make_settings, start_context, [channel("mail", "email", smtp_server.url())], cap_messages=1
    )
    shop = await biz.build()
    cut = await biz.add_service(shop, "Haircut")
    facial = await biz.add_service(shop, "Facial", recall_days=30)
    service = BookingService(ctx)

    async def visit(who: int, service_id: int, days_ago: int) -> None:
        start = day_at(-days_ago, 10)
        made = await service.create(
            NewBooking(service_id=service_id, start=start, customer_id=who, as_of=start - timedelta(days=1))
        )
        await service.complete(made.id)

    # Win-back: two customers last seen 95 days ago; only the one who consented to e-mail hears from us.
    yes = await customer(ctx, "Yes Person", email="yes@example.com", language="en")
    no = await customer(ctx, "No Person", email="no@example.com", language="en")
    await record_consent(ctx, yes, "email", True, "staff", day_at(-100, 9))
    await visit(yes, cut, 95)
    await visit(no, cut, 95)
    # Recall: a facial 35 days ago is due again, unless something is booked already.
    due = await customer(ctx, "Due Person", email="due@example.com", language="en")
    booked = await customer(ctx, "Booked Person", email="booked@example.com", language="en")
    for who in (due, booked):
        await record_consent(ctx, who, "email", True, "staff", day_at(-100, 9))
        await visit(who, facial, 35)
    await service.create(NewBooking(service_id=cut, start=day_at(3, 12), customer_id=booked))
    await drain(ctx)  # completion thank-yous are not due yet; the booked one's confirmation goes

    from core.notifications.campaigns import scan_campaigns

    await scan_campaigns(ctx)
    await drain(ctx)
    assert [m["status"] for m in await messages_of(ctx, customer=yes, kind="winback")] == ["sent"]
    [refused] = await messages_of(ctx, customer=no, kind="winback")
    assert (refused["status"], refused["detail"]) == ("suppressed", "no marketing consent")
    assert smtp_server.mailbox.to("no@example.com") == []
    assert [m["status"] for m in await messages_of(ctx, customer=due, kind="recall")] == ["sent"]
    assert await messages_of(ctx, customer=booked, kind="recall") == []
    await scan_campaigns(ctx)  # scanning again recalls nobody twice
    await drain(ctx)
    assert len(await messages_of(ctx, kind="recall")) == 1
    # Nor once the finished jobs are deleted (`[worker] keep_done_days`): the message log decides.
    async with ctx.db.transaction():
        await ctx.db.execute("DELETE FROM ajanda_job WHERE status = 'done'")
    await scan_campaigns(ctx)
    assert await ctx.db.fetchval("SELECT COUNT(*) FROM ajanda_job WHERE dedupe_key LIKE 'msg:recall:%'") == 0
    assert await ctx.db.fetchval("SELECT COUNT(*) FROM ajanda_job WHERE dedupe_key LIKE 'msg:winback:%'") == 0

    # The cap (1 capped message per 7 days): the thank-you after Yes Person's next visit waits out.
    ctx.clock.set(ctx.clock.now() + timedelta(hours=3))
    await drain(ctx)
    thanks = {m["customer"]: m for m in await messages_of(ctx, kind="thanks")}
    assert (thanks[yes]["status"], thanks[yes]["detail"]) == ("suppressed", "frequency cap")
    assert thanks[no]["status"] == "sent"  # the thank-you is transactional: no consent needed


async def test_provider_down_retries_then_failed_visibly_then_resend_delivers(
    make_settings: Callable[..., Any], start_context: Any, listener: Listener
) -> None:
    ctx = await messaging(make_settings, start_context, [channel("sms", "sms", listener.url())])
    shop = await biz.build()
    cut = await biz.add_service(shop, "Haircut")
    who = await customer(ctx, "Ali Veli", phone="05321234567")
    ctx.clock.set(day_at(0, 12))
    await BookingService(ctx).create(NewBooking(service_id=cut, start=day_at(4, 14), customer_id=who))
    listener.status = 500
    headers = admin_headers(ctx.settings)
    async with api_client(ctx) as client:
        for attempt in range(1, 4):  # [worker] max_attempts = 3, backoff at most 600 s
            await drain(ctx)
            [message] = await messages_of(ctx, kind="confirmation")
            assert message["attempts"] == attempt
            assert message["status"] == ("failed" if attempt == 3 else "retrying")
            ctx.clock.advance(timedelta(seconds=700))
        assert listener.posts == []
        health = (await client.get("/healthz")).json()
        assert health["messages"]["failed"] == 1
        ctx.clock.advance(timedelta(days=8))  # a failure a week old no longer counts
        assert (await client.get("/healthz")).json()["messages"]["failed"] == 0
        ctx.clock.advance(timedelta(days=-8))
        failed = (await client.get("/api/v1/messages", params={"status": "failed"}, headers=headers)).json()
        assert [m["id"] for m in failed] == [message["id"]]
        assert failed[0]["detail"] == "failed on sms"
        detail = (await client.get(f"/api/v1/messages/{message['id']}", headers=headers)).json()
        assert [t["status"] for t in detail["tries"]] == ["failed"] * 3
        assert all("500" in t["error"] or "Internal" in t["error"] for t in detail["tries"])

        listener.status = 200  # the provider is back
        resent = await client.post(f"/api/v1/messages/{message['id']}/resend", headers=headers)
        assert resent.status_code == 202 and resent.json()["status"] == "queued"
        again = await client.post(f"/api/v1/messages/{message['id']}/resend", headers=headers)
        assert again.status_code == 409  # already on its way
        await drain(ctx)
        assert len(listener.posts) == 1
        card = (await client.get(f"/api/v1/customers/{who}", headers=headers)).json()
        shown = [(m["kind"], m["channel"], m["status"], m["attempts"]) for m in card["messages"]]
        assert shown == [("confirmation", "sms", "sent", 4)]
        assert (await client.get("/healthz")).json()["messages"]["failed"] == 0
        assert (await client.post("/api/v1/messages/999999/resend", headers=headers)).status_code == 404


async def test_overdue_messages_show_on_healthz(
    make_settings: Callable[..., Any], start_context: Any, listener: Listener
) -> None:
    ctx = await messaging(make_settings, start_context, [channel("sms", "sms", listener.url())])
    shop = await biz.build()
    cut = await biz.add_service(shop, "Haircut")
    who = await customer(ctx, "Ali Veli", phone="05321234567")
    ctx.clock.set(day_at(0, 12))
    await BookingService(ctx).create(NewBooking(service_id=cut, start=day_at(4, 14), customer_id=who))
    async with api_client(ctx) as client:
        assert (await client.get("/healthz")).json()["messages"]["overdue"] == 0
        ctx.clock.advance(timedelta(minutes=11))  # no worker ran: the confirmation is 11 minutes late
        health = (await client.get("/healthz")).json()
        # (No staff notice was queued: no channel here carries messages to staff.)
        assert health["messages"]["overdue"] == 1 and health["status"] == "degraded"
        await drain(ctx)
        assert (await client.get("/healthz")).json()["messages"]["overdue"] == 0


async def test_hooks_suppress_and_observe_messages_and_plugin_channels_carry_them(
    make_settings: Callable[..., Any], start_context: Any
) -> None:
    from tests.test_hooks import make_plugin

    carried: list[Any] = []

    class Pigeon:
        name, medium = "pigeon", "pigeon"

        def serves(self, kind: str, recipient: str) -> bool:
            return recipient == "staff" or kind == "confirmation"

        def needs_address(self) -> bool:
            return False

        async def send(self, message: Any) -> str | None:
            carried.append(message)
            return "ref-1"

    def register_notification_channels(context: AppContext) -> list[Any]:
        return [Pigeon()]

    def notification_before_send(message: Any) -> str | None:
        return (
            "customer asked for silence"
            if message.kind == "confirmation" and message.customer_id == quiet
            else None
        )

    sent: list[Any] = []

    def notification_sent(message: Any) -> None:
        sent.append((message.kind, message.channel, message.status))

    plugin = make_plugin(
        "pigeons",
        register_notification_channels=register_notification_channels,
        notification_before_send=notification_before_send,
        notification_sent=notification_sent,
    )
    ctx: AppContext = await start_context(
        make_settings(plugins={"enabled": ["pigeons"]}), {"pigeons": plugin}
    )
    shop = await biz.build()
    cut = await biz.add_service(shop, "Haircut")
    quiet = await customer(ctx, "Quiet One", email="quiet@example.com")
    loud = await customer(ctx, "Loud One", email="loud@example.com")
    service = BookingService(ctx)
    await service.create(NewBooking(service_id=cut, start=day_at(4, 10), customer_id=quiet))
    await service.create(NewBooking(service_id=cut, start=day_at(4, 12), customer_id=loud))
    await drain(ctx)
    kinds = sorted((m.kind, m.recipient) for m in carried)
    assert kinds == [("confirmation", "customer"), ("staff_notice", "staff"), ("staff_notice", "staff")]
    assert sorted(sent) == [("confirmation", "pigeon", "sent"), ("staff_notice", "pigeon", "sent"),
                            ("staff_notice", "pigeon", "sent")]  # fmt: skip
    [silenced] = await messages_of(ctx, customer=quiet, kind="confirmation")
    assert (silenced["status"], silenced["detail"]) == ("suppressed", "plugin: customer asked for silence")
    notice = next(m for m in carried if m.kind == "staff_notice")
    assert "Haircut" in notice.text and notice.to is None


async def test_the_business_rewrites_a_template_and_a_broken_one_is_refused(
    make_settings: Callable[..., Any], start_context: Any, listener: Listener
) -> None:
    ctx = await messaging(make_settings, start_context, [channel("sms", "sms", listener.url())])
    headers = admin_headers(ctx.settings)
    async with api_client(ctx) as client:
        listing = (await client.get("/api/v1/message-templates", headers=headers)).json()
        assert {
            "kind": "confirmation",
            "part": "short",
            "language": "tr",
            "source": "theme",
            "body": None,
        } in listing
        shipped = (
            await client.get("/api/v1/message-templates/confirmation/short/tr", headers=headers)
        ).json()
        assert "{{" in shipped["body"] and shipped["source"] == "theme"
        broken = await client.put(
            "/api/v1/message-templates/confirmation/short/tr", json={"body": "{% if %}"}, headers=headers
        )
        assert broken.status_code == 422 and broken.json()["errors"][0]["field"] == "body"
        unknown = await client.put(
            "/api/v1/message-templates/birthday/short/tr", json={"body": "Hi"}, headers=headers
        )
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "kind"
        sneaky = await client.put(
            "/api/v1/message-templates/confirmation/short/tr",
            json={"body": "{{ ''.__class__.__mro__ }}"},
            headers=headers,
        )
        assert sneaky.status_code == 422  # the sandbox refuses walks into Python internals
        mine = await client.put(
            "/api/v1/message-templates/confirmation/short/tr",
            json={"body": "Merhaba {{ customer.first_name }}, {{ booking.time }} randevunuz onaylandı."},
            headers=headers,
        )
        assert mine.status_code == 200, mine.text
        stored = await ctx.db.fetchval("SELECT updated_by FROM message_template WHERE kind = 'confirmation'")
        assert stored == "token:bootstrap-admin"
        shop = await biz.build()
        cut = await biz.add_service(shop, "Haircut")
        who = await customer(ctx, "Ayşe Yılmaz", phone="05321234567")
        ctx.clock.set(day_at(0, 12))
        await BookingService(ctx).create(NewBooking(service_id=cut, start=day_at(4, 14), customer_id=who))
        await drain(ctx)
        assert listener.posts[0]["message"] == "Merhaba Ayşe, 14:00 randevunuz onaylandı."
        reset = await client.delete("/api/v1/message-templates/confirmation/short/tr", headers=headers)
        assert reset.status_code == 204
        again = (await client.get("/api/v1/message-templates/confirmation/short/tr", headers=headers)).json()
        assert again["source"] == "theme"
        staff_only = await client.get("/api/v1/message-templates", headers={})
        assert staff_only.status_code == 401


def test_every_shipped_template_uses_only_known_variables_in_both_languages() -> None:
    """The edit check (strict: an unknown variable is an error) passes on everything the theme ships,
    and every kind has its subject, text and short parts in Turkish and English."""
    from core.notifications.kinds import KINDS, LANGUAGES
    from core.notifications.templates import check_template, template_name
    from core.themes import THEME_TEMPLATES

    for kind in KINDS:
        for part in ("subject", "text", "short"):
            for language in LANGUAGES:
                path = THEME_TEMPLATES / template_name(kind, part, language)
                assert path.is_file(), f"missing {path}"
                check_template(kind, part, language, path.read_text(encoding="utf-8"))


async def test_deposit_request_and_waitlist_offer_and_a_lapsed_offer_is_not_announced(
    make_settings: Callable[..., Any], start_context: Any, smtp_server: SmtpServer
) -> None:
    from core.bookings import waitlist

    ctx = await messaging(
        make_settings,
        start_context,
        [channel("mail", "email", smtp_server.url(), recipients=["customer", "staff"])],
    )
    shop = await biz.build(staff=1)
    colour = await biz.add_service(shop, "Colour", deposit_kind="fixed", deposit_value=200)
    service = BookingService(ctx)
    payer = await customer(ctx, "Jane Doe", email="jane@example.com", language="en")
    start = day_at(5, 10)
    held = await service.create(
        NewBooking(service_id=colour, start=start, customer_id=payer, hold_minutes=30)
    )
    await drain(ctx)
    [request] = smtp_server.mailbox.to("jane@example.com")
    text = request.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "200.00" in text and "deposit" in text.lower(), text

    waiting = await customer(ctx, "Wait Er", email="wait@example.com", language="en")
    await waitlist.join(ctx, colour, waiting, start.date(), "08:00", "12:00")
    await service.cancel(held.id, reason="no deposit")
    await drain(ctx)  # the offer round, then its message
    [offer] = smtp_server.mailbox.to("wait@example.com")
    assert "09:00" in offer.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    [offered] = await messages_of(ctx, customer=waiting, kind="waitlist_offer")
    assert offered["status"] == "sent"

    # Nobody answers: the offer lapses quietly (no cancellation to the customer, no staff notice).
    notices = len(await messages_of(ctx, kind="staff_notice"))
    ctx.clock.advance(timedelta(hours=2))
    await BookingService(ctx).expire_holds(ctx.clock.now())
    await drain(ctx)
    assert await messages_of(ctx, customer=waiting, kind="cancelled") == []
    assert len(await messages_of(ctx, kind="staff_notice")) == notices


async def test_thank_you_links_to_a_feedback_page_that_lands_on_the_card(
    make_settings: Callable[..., Any], start_context: Any, smtp_server: SmtpServer
) -> None:
    import re

    ctx = await messaging(make_settings, start_context, [channel("mail", "email", smtp_server.url())])
    shop = await biz.build()
    cut = await biz.add_service(shop, "Saç kesimi")
    service = BookingService(ctx)
    who = await customer(ctx, "Ayşe Yılmaz", email="ayse@example.com")
    start = day_at(-1, 10)
    visit = await service.create(
        NewBooking(service_id=cut, start=start, customer_id=who, as_of=start - timedelta(days=1))
    )
    await service.complete(visit.id)
    ctx.clock.advance(timedelta(hours=3))
    await drain(ctx)
    [thanks] = smtp_server.mailbox.to("ayse@example.com")
    text = thanks.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    link = re.search(r"https?://\S+/feedback/\S+", text)
    assert link, text
    path = "/feedback/" + link.group(0).split("/feedback/", 1)[1]
    async with api_client(ctx) as client:
        page = await client.get(path)
        assert page.status_code == 200 and "Ziyaretiniz nasıldı?" in page.text and "Saç kesimi" in page.text
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        assert (await client.post(path, data={"rating": "5"})).status_code == 403  # no CSRF token
        bad = await client.post(path, data={"rating": "6", "comment": "", "_csrf_token": token})
        assert bad.status_code == 422 and "1 ile 5" in bad.text
        good = await client.post(
            path, data={"rating": "5", "comment": "Elif harikaydı", "_csrf_token": token}
        )
        assert good.status_code == 200 and "Teşekkür" in good.text
        assert (await client.get("/feedback/forged.token")).status_code == 404
        card = (await client.get(f"/api/v1/customers/{who}", headers=admin_headers(ctx.settings))).json()
    assert card["feedback"][0]["rating"] == 5 and card["feedback"][0]["comment"] == "Elif harikaydı"
    stored = await ctx.db.fetchval("SELECT comment_enc FROM booking_feedback")
    assert "harika" not in stored
