"""The demo business: a beauty salon in Istanbul, loaded into an empty database.

It exercises what the scheduling model can express: staff with different skills, services with
buffers, preparation and deposits, rooms that services need, weekly hours with breaks, public
holidays, and customers with encrypted contact data.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from core.audit.records import Actor
from core.customers.service import create_card, new_customer
from core.scheduling.availability import from_minutes
from core.scheduling.tables import (
    Closure,
    Location,
    Resource,
    Service,
    ServiceLocation,
    ServiceResource,
    Staff,
    StaffLocation,
    WorkingHours,
)

if TYPE_CHECKING:
    from piccolo.table import Table

    from core.context import AppContext


async def _insert(row: Table) -> int:
    await row.save()
    return int(row.id)  # type: ignore[attr-defined]


STAFF = [
    ("Ayşe Demir", ["haircut", "colour"], "#db2777"),
    ("Mehmet Kaya", ["haircut", "beard"], "#2563eb"),
    ("Zeynep Arslan", ["skincare", "laser"], "#059669"),
    ("Elif Şahin", ["nails", "skincare"], "#d97706"),
]

ROOMS = [("Lazer Odası", "room", 1), ("Cilt Bakım Odası", "room", 1)]

# name, category, minutes, buffer before/after, prep, cleanup, price, deposit, skill, room, recall days
SERVICES: list[dict[str, Any]] = [
    dict(name="Kadın Saç Kesimi", category="Saç", duration_min=45, buffer_after_min=10,
         price="650", required_skill="haircut"),
    dict(name="Erkek Saç Kesimi", category="Saç", duration_min=30, buffer_after_min=5,
         price="400", required_skill="haircut"),
    dict(name="Saç Boyama", category="Saç", duration_min=90, prep_min=10, cleanup_min=15,
         price="1800", deposit_kind="percent", deposit_value="20", required_skill="colour"),
    dict(name="Sakal Tıraşı", category="Saç", duration_min=20, price="250", required_skill="beard"),
    dict(name="Cilt Bakımı", category="Cilt", duration_min=60, buffer_before_min=5, cleanup_min=10,
         price="1200", required_skill="skincare", room="Cilt Bakım Odası", recall_days=30),
    dict(name="Lazer Epilasyon", category="Cilt", duration_min=45, prep_min=5, cleanup_min=10,
         price="1500", deposit_kind="fixed", deposit_value="300", required_skill="laser",
         room="Lazer Odası", recall_days=42),
    dict(name="Manikür", category="Tırnak", duration_min=40, buffer_after_min=5, price="450",
         required_skill="nails"),
]  # fmt: skip

# Mon-Fri 09:00-19:00 with a lunch break, Saturday 10:00-17:00, Sunday closed.
WEEK = {wd: ("09:00", "19:00", [["13:00", "14:00"]]) for wd in range(5)} | {5: ("10:00", "17:00", [])}

# Turkey's fixed-date public holidays (month, day, name).
HOLIDAYS = [
    (1, 1, "Yılbaşı"),
    (4, 23, "Ulusal Egemenlik ve Çocuk Bayramı"),
    (5, 1, "Emek ve Dayanışma Günü"),
    (5, 19, "Atatürk'ü Anma, Gençlik ve Spor Bayramı"),
    (7, 15, "Demokrasi ve Milli Birlik Günü"),
    (8, 30, "Zafer Bayramı"),
    (10, 29, "Cumhuriyet Bayramı"),
]

CUSTOMERS = [
    ("Selin Yıldız", "+905321110001", "selin.yildiz@example.com", "tr", ["vip"]),
    ("Can Öztürk", "+905321110002", "can.ozturk@example.com", "tr", []),
    ("Deniz Aydın", "+905321110003", None, "tr", ["laser-package"]),
    ("Ece Koç", "+905321110004", "ece.koc@example.com", "tr", []),
    ("Burak Çelik", "+905321110005", "burak.celik@example.com", "tr", ["beard-club"]),
    ("Merve Kılıç", "+905321110006", "merve.kilic@example.com", "tr", []),
    # A visitor from abroad who left only an e-mail address (a card needs a phone or an e-mail).
    ("Emily Clarke", None, "emily.clarke@example.com", "en", []),
    ("Hakan Yılmaz", "+905321110008", None, "tr", ["win-back"]),
]


def upcoming_holidays(today: date) -> list[tuple[date, str]]:
    """Each fixed-date holiday's next occurrence on or after today."""
    out = []
    for month, day, name in HOLIDAYS:
        when = date(today.year, month, day)
        if when < today:
            when = date(today.year + 1, month, day)
        out.append((when, name))
    return sorted(out)


async def load_demo(context: AppContext) -> str:
    """Load the demo business; refuse when the database already holds a business."""
    db = context.db
    audit = context.audit
    now = datetime.now(UTC)
    async with db.transaction():
        if await Location.count() > 0:
            return "demo not loaded: the database already has locations"
        location = await _insert(
            Location(
                name="Ajanda Güzellik Salonu - Kadıköy",
                address="Caferağa Mah. Moda Cad. No: 1, Kadıköy, İstanbul",
                timezone="Europe/Istanbul",
            )
        )
        await audit.record("location", location, "created", {"name": "Kadıköy (demo)"})

        rooms: dict[str, int] = {}
        for name, kind, capacity in ROOMS:
            rid = await _insert(Resource(location=location, name=name, kind=kind, capacity=capacity))
            rooms[name] = rid
            await audit.record("resource", rid, "created", {"name": name, "capacity": capacity})

        for name, skills, colour in STAFF:
            sid = await _insert(Staff(name=name, skills=json.dumps(skills), colour=colour))
            await _insert(StaffLocation(staff=sid, location=location))
            for weekday, (start, end, breaks) in WEEK.items():
                await WorkingHours.insert(
                    WorkingHours(
                        staff=sid,
                        location=location,
                        weekday=weekday,
                        start_time=start,
                        end_time=end,
                        breaks=json.dumps(breaks),
                    )
                )
            await audit.record("staff", sid, "created", {"name": name, "skills": skills})

        for spec in SERVICES:
            fields = dict(spec)
            room = fields.pop("room", None)
            for money in ("price", "deposit_value"):
                if money in fields:
                    fields[money] = Decimal(fields[money])
            svc = await _insert(Service(currency=context.settings.business.currency, **fields))
            await _insert(ServiceLocation(service=svc, location=location))
            if room:
                await _insert(ServiceResource(service=svc, resource=rooms[room]))
            await audit.record("service", svc, "created", {"name": fields["name"]})

        for day, name in upcoming_holidays(now.date()):
            await _insert(Closure(location=None, day=day, name=name))
        await audit.record("closure", "all", "created", {"holidays": len(HOLIDAYS)})

        for name, phone, email, language, tags in CUSTOMERS:
            # The same path as every other way in: normalised, blind-indexed, audited.
            person = new_customer(context, name, phone, email, "demo", language)
            await create_card(context, person, tags=tuple(tags))
    counts = await _schedule(context, now)
    return (
        f"demo business loaded: 1 location, {len(STAFF)} staff, {len(SERVICES)} services, "
        f"{len(ROOMS)} rooms, {len(HOLIDAYS)} public holidays, {len(CUSTOMERS)} customers, "
        + ", ".join(f"{n} {status} bookings" for status, n in sorted(counts.items()))
    )


async def demo_owner(context: AppContext) -> str:
    """An owner account for trying the admin pages, with a password made for this database only.

    Only when no owner exists yet (it ends the bootstrap token's rights, as any first owner does)."""
    import secrets

    from core.access.accounts import create_account, owner_exists
    from core.access.permissions import Role

    if await owner_exists(context):
        return "admin pages: sign in at /login with an owner account"
    password = secrets.token_urlsafe(12)
    await create_account(context, "demo", password, Role.OWNER, "Demo")
    return f"admin pages: sign in at /login as demo / {password} (a demo account: remove it for real use)"


async def _schedule(
    context: AppContext, now: datetime, weeks_back: int = 4, weeks_ahead: int = 2
) -> dict[str, int]:
    """A realistic calendar: past weeks of visits (most completed, some cancelled or no-shows) and
    upcoming bookings, all placed through the booking service so they respect every rule."""
    from core.bookings.service import BookingService, NewBooking, SlotTaken
    from core.scheduling.loader import load_service, location_zone

    bookings = BookingService(context)
    rng = random.Random(6698)  # KVKK's law number: the same demo every time
    location = int(await context.db.fetchval("SELECT MIN(id) FROM location"))
    zone = await location_zone(context.db, location)
    services = [
        await load_service(context.db, int(r["id"])) for r in await context.db.fetch("SELECT id FROM service")
    ]
    customers = [int(r["id"]) for r in await context.db.fetch("SELECT id FROM customer ORDER BY id")]
    counts: dict[str, int] = {}
    today = now.astimezone(zone).date()
    for offset in range(-7 * weeks_back, 7 * weeks_ahead + 1):
        day = today + timedelta(days=offset)
        past = offset < 0
        as_of = (
            datetime.combine(day - timedelta(days=3), time(9), tzinfo=zone).astimezone(UTC) if past else now
        )
        for _ in range(rng.randint(4, 8)):
            service = rng.choice(services)
            _, slots = await bookings.slots(service, location, day, day, now=as_of)
            if not slots:
                continue
            slot = rng.choice(slots)
            try:
                booking = await bookings.create(
                    NewBooking(
                        service_id=service.id,
                        start=from_minutes(slot.start),
                        customer_id=rng.choice(customers),
                        source=rng.choice(["web", "web", "staff"]),
                        as_of=as_of,
                    )
                )
            except SlotTaken:
                continue
            status = "confirmed"
            if past:
                roll = rng.random()
                if roll < 0.12:
                    await bookings.cancel(
                        booking.id, "müşteri iptal etti", Actor("customer_link", str(booking.id))
                    )
                    status = "cancelled"
                elif roll < 0.22:
                    await bookings.no_show(booking.id)
                    status = "no_show"
                else:
                    await bookings.complete(booking.id)
                    status = "completed"
            elif rng.random() < 0.05:
                await bookings.cancel(booking.id, "customer called")
                status = "cancelled"
            counts[status] = counts.get(status, 0) + 1
    return counts
