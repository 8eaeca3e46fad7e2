"""Personal data never sits in the database, the logs or error messages as plain text.

The database test greps what an attacker with a copy would read: on SQLite the raw bytes of the
database file and its WAL (before and after a checkpoint, and after close), on PostgreSQL a `pg_dump`.
It runs on whichever engine the suite runs on (AJANDA_TEST_DB), and checks that the same values are
readable through the API, so it cannot pass by storing nothing.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import subprocess
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import phonenumbers
import pytest

from core import CustomerSnapshot, PluginMeta, Vetoed, hookimpl
from core.config import Settings
from core.context import AppContext
from tests.business import add_service, build
from tests.conftest import ENGINE, admin_headers, api_client

START = "2031-01-06T09:00:00+03:00"
# Distinctive values: none of them can turn up in a database or a log by coincidence.
CARD = {"name": "Nilay Karataş", "phone": "0532 764 19 58", "email": "Nilay.Karatas.7419@example.org",
        "notes": "keloid behind the left ear, case 7419"}  # fmt: skip
EDITED = {"phone": "+90 (542) 381-9027", "email": "nilay.k.2290@Example.NET", "notes": "moved to 2290 plan"}
BOOKER = {"name": "Ozan Erdem", "phone": "+90 533 618 27 49", "email": "ozan.erdem.5521@example.com"}
BOOKING_NOTES = "wheelchair access please, ref 5521"
OTHER = {"name": "Cem Aksoy", "phone": "0535 402 71 36", "email": "cem.aksoy.8830@example.com"}


def phone_forms(raw: str) -> list[str]:
    """Every way a phone number could be spelled in storage: as typed, E.164, national, international,
    and the digits alone (the national significant number is inside all of them)."""
    number = phonenumbers.parse(raw, "TR")
    fmt = phonenumbers.PhoneNumberFormat
    e164 = phonenumbers.format_number(number, fmt.E164)
    return [
        raw,
        e164,
        phonenumbers.format_number(number, fmt.NATIONAL),
        phonenumbers.format_number(number, fmt.INTERNATIONAL),
        e164.lstrip("+"),
        phonenumbers.national_significant_number(number),
    ]


def needles(*people: dict[str, str]) -> list[str]:
    found: list[str] = []
    for person in people:
        if "phone" in person:
            found += phone_forms(person["phone"])
        if "email" in person:
            found += [person["email"], person["email"].lower()]
        if "notes" in person:
            found.append(person["notes"])
    return list(dict.fromkeys(found))


def leaks(haystack: bytes | str, values: list[str]) -> list[str]:
    data = haystack.encode() if isinstance(haystack, str) else haystack
    return [v for v in values if v.encode() in data]


# ==================================================================================================
# The database


def sqlite_files(settings: Settings) -> list[Path]:
    path = settings.sqlite_path()
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def pg_dump_binary(server_major: int) -> str:
    """A pg_dump at least as new as the server (an older one refuses to dump)."""
    candidates = [shutil.which("pg_dump"), f"/usr/lib/postgresql/{server_major}/bin/pg_dump"]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            version = subprocess.run([candidate, "--version"], capture_output=True, text=True, check=True)
            major = re.search(r"\(PostgreSQL\)\s+(\d+)", version.stdout)
            if major and int(major.group(1)) >= server_major:
                return candidate
    pytest.fail(f"no pg_dump of version {server_major} or newer (tried {candidates})")


async def database_text(ctx: AppContext) -> list[tuple[str, bytes]]:
    """What a copy of the database shows: (where, bytes) pairs."""
    if ENGINE == "sqlite":
        seen = [(f"{p.name} before checkpoint", p.read_bytes()) for p in sqlite_files(ctx.settings)]
        await ctx.db.engine.checkpoint()  # type: ignore[union-attr]
        seen += [(f"{p.name} after checkpoint", p.read_bytes()) for p in sqlite_files(ctx.settings)]
        return seen
    server_major = int(await ctx.db.fetchval("SHOW server_version_num")) // 10000
    dump = await asyncio.create_subprocess_exec(
        pg_dump_binary(server_major),
        "--no-owner",
        f"--dbname={ctx.settings.database.url.reveal()}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(dump.communicate(), 120)
    assert dump.returncode == 0, err.decode()
    assert b"COPY public.customer" in out  # the dump holds the data, not just the schema
    return [("pg_dump", out)]


async def test_the_database_never_holds_phones_emails_or_notes_in_plaintext(open_context: AppContext) -> None:
    ctx = open_context
    headers = admin_headers(ctx.settings)
    business = await build(staff=1)
    service = await add_service(business, "cut")
    async with api_client(ctx) as client:
        created = await client.post("/api/v1/customers", json=CARD, headers=headers)
        assert created.status_code == 201, created.text
        card_id = created.json()["id"]
        booked = await client.post(
            "/api/v1/bookings",
            json={"service": service, "start": START, "customer": BOOKER, "notes": BOOKING_NOTES},
        )
        assert booked.status_code == 201, booked.text
        booker_id = booked.json()["customer"]
        # Written, then replaced: neither the first values nor the new ones may be readable.
        edited = await client.patch(f"/api/v1/customers/{card_id}", json=EDITED, headers=headers)
        assert edited.status_code == 200, edited.text

        # The values are stored (readable through the API), so the grep below means something.
        found = await client.get("/api/v1/customers", params={"q": EDITED["phone"]}, headers=headers)
        assert [c["id"] for c in found.json()] == [card_id]
        found = await client.get("/api/v1/customers", params={"q": EDITED["email"]}, headers=headers)
        assert [c["id"] for c in found.json()] == [card_id]
        found = await client.get("/api/v1/customers", params={"q": "2749"}, headers=headers)
        assert [c["id"] for c in found.json()] == [booker_id]
        card = (await client.get(f"/api/v1/customers/{card_id}", headers=headers)).json()["customer"]
        assert (card["phone"], card["email"], card["notes"]) == (
            "+905423819027", "nilay.k.2290@example.net", EDITED["notes"]
        )  # fmt: skip
        booker = (await client.get(f"/api/v1/customers/{booker_id}", headers=headers)).json()["customer"]
        assert (booker["phone"], booker["email"]) == ("+905336182749", BOOKER["email"])
    notes_enc = await ctx.db.fetchval("SELECT notes_enc FROM booking WHERE customer = ?", booker_id)
    assert ctx.cipher.decrypt(notes_enc, "booking.notes") == BOOKING_NOTES

    secret = needles(CARD, EDITED, BOOKER, {"notes": BOOKING_NOTES})
    copies = await database_text(ctx)
    assert copies and sum(len(data) for _where, data in copies) > 0
    # The names are not encrypted (staff search them by substring): a control that the grep works.
    assert any(CARD["name"].encode() in data for _where, data in copies)
    for where, data in copies:
        assert not leaks(data, secret), f"plaintext personal data in {where}"
    if ENGINE == "sqlite":
        await ctx.stop()  # closing merges the WAL into the file
        for path in sqlite_files(ctx.settings):
            assert not leaks(path.read_bytes(), secret), f"plaintext personal data in {path.name}"


# ==================================================================================================
# Logs and error messages


def leaky_plugin() -> types.ModuleType:
    """A plugin that does what careless plugins do: put personal data into its exception messages."""
    module = types.ModuleType("leaky")
    module.PLUGIN = PluginMeta(name="leaky", version="1")  # type: ignore[attr-defined]

    def customer_validate(customer: CustomerSnapshot, action: str) -> None:
        if customer.name == "Blocked Person":
            raise Vetoed("this customer cannot be added", field="name")
        if customer.name == "Crashing Person":
            raise RuntimeError(f"validator crashed on {customer.phone} / {customer.email}")

    def customer_created(customer: CustomerSnapshot) -> None:
        raise RuntimeError(f"CRM sync failed for {customer.phone} <{customer.email}>")

    def customer_updated(customer: CustomerSnapshot, changed: tuple[str, ...]) -> None:
        raise ValueError(f"could not push {customer.email} ({customer.phone})")

    for name, fn in [("customer_validate", customer_validate), ("customer_created", customer_created),
                     ("customer_updated", customer_updated)]:  # fmt: skip
        setattr(module, name, hookimpl(fn))  # type: ignore[arg-type]
    return module


@pytest.fixture
def every_logger_at_debug(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], None]]:
    """caplog at DEBUG on the root; the fixture's value lowers every logger that exists when it is
    called to DEBUG and attaches caplog's handler to those that do not propagate (call it again once
    the app has created its loggers). Everything is put back afterwards."""
    caplog.set_level(logging.DEBUG)
    changed: dict[str, tuple[logging.Logger, int, bool]] = {}

    def cover() -> None:
        for name in list(logging.root.manager.loggerDict):
            if name in changed:
                continue
            logger = logging.getLogger(name)
            attach = not logger.propagate
            changed[name] = (logger, logger.level, attach)
            logger.setLevel(logging.DEBUG)
            if attach:
                logger.addHandler(caplog.handler)

    cover()
    try:
        yield cover
    finally:
        for logger, level, attached in changed.values():
            logger.setLevel(level)
            if attached:
                logger.removeHandler(caplog.handler)


# The test's own HTTP client logs the URLs it requests (search queries included); that is not Ajanda.
CLIENT_LOGGERS = ("httpx", "httpcore")


def rendered(record: logging.LogRecord) -> str:
    """A record as any handler could write it: message with its arguments, traceback, stack."""
    return logging.Formatter("%(name)s %(levelname)s %(message)s").format(record) + repr(record.__dict__)


async def test_logs_and_error_messages_never_contain_personal_data(
    make_settings: Callable[..., Settings],
    start_context: Any,
    caplog: pytest.LogCaptureFixture,
    every_logger_at_debug: Callable[[], None],
) -> None:
    settings = make_settings(plugins={"enabled": ["leaky"]}, server={"rate_limit_per_minute": 0})
    assert settings.logging.access_log
    ctx: AppContext = await start_context(settings, {"leaky": leaky_plugin()})
    headers = admin_headers(settings)
    business = await build(staff=1)
    service = await add_service(business, "cut")
    bodies: list[str] = []
    invalid_phone, invalid_email = "0532 764 19", "nilay.karatas.7419@invalid"

    async def send(method: str, url: str, expect: int, **kwargs: Any) -> Any:
        response = await client.request(method, url, headers=headers, **kwargs)
        assert response.status_code == expect, (method, url, response.text)
        if response.status_code >= 400:
            bodies.append(response.text)
        return response

    async with api_client(ctx) as client:
        every_logger_at_debug()  # and the loggers the app has created since
        card = (await send("POST", "/api/v1/customers", 201, json=CARD)).json()
        await send("POST", "/api/v1/customers", 201, json=OTHER)
        await send("PATCH", f"/api/v1/customers/{card['id']}", 200, json=EDITED)
        booking = {"service": service, "start": START, "customer": BOOKER, "notes": BOOKING_NOTES}
        await send("POST", "/api/v1/bookings", 201, json=booking)
        await send("GET", "/api/v1/customers", 200, params={"q": EDITED["phone"]})
        await send("GET", "/api/v1/customers", 200, params={"q": BOOKER["email"]})
        # Error paths: invalid values (422), in the staff API and on the booking page.
        await send("POST", "/api/v1/customers", 422, json={"name": "Nilay", "phone": invalid_phone})
        await send("POST", "/api/v1/customers", 422, json={"name": "Nilay", "email": invalid_email})
        await send("POST", "/api/v1/customers", 422, json={"name": "Nilay", "phone": 5327641958})
        await send("POST", "/api/v1/customers", 422, json={"name": "Nilay", "phone": f"{invalid_phone}\x00"})
        await send("POST", "/api/v1/customers", 422, json={"name": "Nilay", "phone": "5" * 41})
        await send("GET", "/api/v1/customers", 422, params={"q": invalid_phone})
        await send(
            "POST", "/api/v1/bookings", 422, json={**booking, "customer": {**BOOKER, "phone": invalid_phone}}
        )
        # 409: another card already has this phone or e-mail.
        other_id = (await send("GET", "/api/v1/customers", 200, params={"q": OTHER["email"]})).json()[0]["id"]
        await send("PATCH", f"/api/v1/customers/{other_id}", 409, json={"phone": EDITED["phone"]})
        await send("PATCH", f"/api/v1/customers/{other_id}", 409, json={"email": BOOKER["email"]})
        # A veto, and a validation hook that crashes (500) with personal data in its exception.
        blocked = {"name": "Blocked Person", "phone": "0536 917 33 08", "email": "blocked.3308@example.com"}
        crashing = {"name": "Crashing Person", "phone": "0537 120 64 85", "email": "crash.6485@example.com"}
        await send("POST", "/api/v1/customers", 422, json=blocked)
        await send("POST", "/api/v1/customers", 500, json=crashing)

    secret = needles(CARD, EDITED, BOOKER, OTHER, blocked, crashing, {"notes": BOOKING_NOTES})
    secret += [invalid_phone, invalid_email]
    records = [r for r in caplog.records if not r.name.startswith(CLIENT_LOGGERS)]
    # The paths above were logged: the access log, and each failing hook by name.
    messages = [r.getMessage() for r in records]
    assert any(r.name == "ajanda.access" and "/api/v1/customers" in r.getMessage() for r in records)
    assert any("hook customer_created failed in plugin leaky" in m for m in messages)
    assert any("hook customer_updated failed in plugin leaky" in m for m in messages)
    assert any(m.startswith("unhandled RuntimeError on POST /api/v1/customers") for m in messages)
    logged = [
        f"{record.name} {record.levelname} {record.getMessage()!r}: {found}"
        for record in records
        if (found := leaks(rendered(record), secret))
    ]
    assert not logged, "personal data in the logs:\n" + "\n".join(logged)
    for body in bodies:
        assert not leaks(body, secret), f"an error body echoes personal data: {body}"
    # Nor does the audit trail keep the exception messages of the failing hooks.
    changes = [r["changes"] for r in await ctx.db.fetch("SELECT changes FROM ajanda_audit")]
    assert not leaks("\n".join(changes), secret)
