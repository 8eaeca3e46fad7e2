"""The admin settings pages against the demo business: services (create, edit, deactivate) as the
public API then shows them, working hours and closed days as availability then shows them, and plugin
settings generated from their config Structs and written into a real config file."""

from __future__ import annotations

import contextlib
import json
import re
import tomllib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from core.access.accounts import create_account
from core.access.permissions import Role
from core.config import Settings, settings_from_dict
from core.context import AppContext
from core.demo.loader import load_demo
from tests.test_access import PASSWORD, app_for, client_for, sign_in

TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')


@contextlib.asynccontextmanager
async def signed_in(ctx: AppContext, username: str) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app_for(ctx)) as client:
        assert (await sign_in(client, username, PASSWORD)).status_code == 303
        yield client


async def post_form(client: httpx.AsyncClient, page_url: str, action: str, data: Any) -> httpx.Response:
    """Load the page (its form's CSRF token), then post `data` (a dict or a list of pairs) to `action`."""
    page = await client.get(page_url)
    assert page.status_code == 200, page.text[:300]
    found = TOKEN.search(page.text)
    assert found
    pairs = list(data.items()) if isinstance(data, dict) else list(data)
    grouped: dict[str, list[str]] = {}
    for key, value in [*pairs, ("_csrf_token", found.group(1))]:
        grouped.setdefault(key, []).append(value)
    return await client.post(action, data=grouped)


@pytest.fixture
async def demo(open_context: AppContext) -> AsyncIterator[AppContext]:
    await load_demo(open_context)
    await create_account(open_context, "patron", PASSWORD, Role.OWNER)
    await create_account(open_context, "mudur", PASSWORD, Role.MANAGER)
    yield open_context


def service_form(location: int, **changes: str) -> list[tuple[str, str]]:
    fields = {
        "name": "Kaş Alımı", "category": "Yüz", "description": "", "active": "1", "duration_min": "20",
        "buffer_before_min": "0", "buffer_after_min": "5", "prep_min": "0", "cleanup_min": "0",
        "price": "300.00", "deposit_kind": "none", "deposit_value": "0.00", "required_skill": "skincare",
        "min_notice_min": "60", "max_days_ahead": "30", "slot_step_min": "15", "seats": "1",
        "recall_days": "",
    }  # fmt: skip
    fields.update(changes)
    return [*fields.items(), ("locations", str(location))]


async def public_services(client: httpx.AsyncClient) -> dict[str, Any]:
    return {s["name"]: s for s in (await client.get("/api/v1/services")).json()}


async def test_a_service_is_created_edited_and_deactivated_through_the_forms(demo: AppContext) -> None:
    ctx = demo
    location = int(await ctx.db.fetchval("SELECT MIN(id) FROM location"))
    count = "SELECT COUNT(*) FROM service"
    before = int(await ctx.db.fetchval(count))
    new = "/admin/settings/services/new"
    async with signed_in(ctx, "mudur") as client:
        bad = await post_form(
            client, new + "?lang=en", new, service_form(location, duration_min="abc", deposit_kind="nope")
        )
        assert bad.status_code == 422
        assert 'id="f-duration_min-error"' in bad.text and "Duration (minutes)" in bad.text
        assert 'id="f-deposit_kind-error"' in bad.text
        assert 'value="abc"' in bad.text
        too_much = await post_form(
            client, new, new, service_form(location, deposit_kind="fixed", deposit_value="500.00")
        )
        assert too_much.status_code == 422 and 'id="f-deposit_value-error"' in too_much.text
        assert int(await ctx.db.fetchval(count)) == before

        created = await post_form(client, new, new, service_form(location))
        assert created.status_code == 303
        listed = await public_services(client)
        assert listed["Kaş Alımı"]["duration"] == 20 and listed["Kaş Alımı"]["locations"] == [location]
        service_id = int(await ctx.db.fetchval("SELECT id FROM service WHERE name = ?", "Kaş Alımı"))

        url = f"/admin/settings/services/{service_id}"
        assert 'value="Kaş Alımı"' in (await client.get(url)).text
        edited = await post_form(client, url, url, service_form(location, price="350.00", duration_min="25"))
        assert edited.status_code == 303
        listed = await public_services(client)
        assert listed["Kaş Alımı"]["price"] == "350.00" and listed["Kaş Alımı"]["duration"] == 25

        off = await post_form(client, "/admin/settings/services", url + "/active", {"active": "0"})
        assert off.status_code == 303
        assert "Kaş Alımı" not in await public_services(client)
        page = await client.get("/admin/settings/services")
        assert "Kaş Alımı" in page.text  # still listed for staff, as inactive


async def test_a_service_takes_its_rooms_and_reminder_hours_from_the_form(demo: AppContext) -> None:
    ctx = demo
    location = int(await ctx.db.fetchval("SELECT MIN(id) FROM location"))
    room = await ctx.db.fetch("SELECT id, name FROM resource WHERE location = ? ORDER BY id", location)
    room_id, room_name = int(room[0]["id"]), room[0]["name"]
    async with ctx.db.transaction():
        elsewhere = int(
            await ctx.db.fetchval(
                "INSERT INTO location (name, timezone, active) VALUES ('Moda', 'Europe/Istanbul', ?)"
                " RETURNING id",
                True,
            )
        )
        far_room = int(await ctx.db.fetchval(
            "INSERT INTO resource (location, name, kind, capacity, active)"
            " VALUES (?, 'Uzak Oda', 'room', 1, ?) RETURNING id", elsewhere, True))  # fmt: skip
    new = "/admin/settings/services/new"
    async with signed_in(ctx, "mudur") as client:
        form = await client.get(new + "?lang=en")
        assert f'value="{room_id}"' in form.text and room_name in form.text
        default = ", ".join(str(h) for h in ctx.settings.messages.reminder_hours)
        assert f"Empty: the business's own ({default})" in form.text
        bad = await post_form(client, new + "?lang=en", new + "?lang=en", [
            *service_form(location, reminder_hours="48, soon"), ("resources", str(room_id))])  # fmt: skip
        assert bad.status_code == 422
        assert 'id="f-reminder_hours-error"' in bad.text and 'value="48, soon"' in bad.text
        assert re.search(rf'value="{room_id}" checked', bad.text)  # what was ticked stays ticked
        far = await post_form(client, new + "?lang=en", new + "?lang=en", [
            *service_form(location, reminder_hours="48"), ("resources", str(far_room))])  # fmt: skip
        assert far.status_code == 422 and 'id="f-resources-error"' in far.text
        assert "A room or device at a location where this service is not offered" in far.text
        assert await ctx.db.fetchval("SELECT COUNT(*) FROM service WHERE name = ?", "Kaş Alımı") == 0

        created = await post_form(client, new, new, [
            *service_form(location, reminder_hours="24; 3"), ("resources", str(room_id))])  # fmt: skip
        assert created.status_code == 303
        service_id = int(await ctx.db.fetchval("SELECT id FROM service WHERE name = ?", "Kaş Alımı"))
        url = f"/admin/settings/services/{service_id}"
        page = await client.get(url)
        assert 'value="24, 3"' in page.text
        assert re.search(rf'value="{room_id}" checked', page.text)
        # Unticking the room and emptying the hours goes back to no room and the business default.
        edited = await post_form(client, url, url, service_form(location, reminder_hours=""))
        assert edited.status_code == 303
    rows = await ctx.db.fetch("SELECT resource FROM service_resource WHERE service = ?", service_id)
    assert rows == []
    assert await ctx.db.fetchval("SELECT reminder_hours FROM service WHERE id = ?", service_id) is None


async def test_a_deactivated_staff_member_keeps_bookings_and_the_list_says_how_many(demo: AppContext) -> None:
    ctx = demo
    rows = await ctx.db.fetch(
        "SELECT staff, COUNT(*) AS n FROM booking WHERE start_at > ? AND status IN ('pending', 'confirmed')"
        " GROUP BY staff ORDER BY staff",
        datetime.now(UTC),
    )
    assert len(rows) > 1  # others with bookings ahead stay active and show nothing
    leaving, ahead = int(rows[0]["staff"]), int(rows[0]["n"])
    member = await ctx.db.fetch("SELECT name, colour, skills FROM staff WHERE id = ?", leaving)
    locations = [str(r["location"]) for r in await ctx.db.fetch(
        "SELECT location FROM staff_location WHERE staff = ?", leaving)]  # fmt: skip
    url = f"/admin/settings/staff/{leaving}"
    async with signed_in(ctx, "mudur") as client:
        assert "upcoming bookings" not in (await client.get("/admin/settings/staff?lang=en")).text
        skills = ", ".join(json.loads(member[0]["skills"]))
        fields = [("name", member[0]["name"]), ("skills", skills), ("colour", member[0]["colour"]),
                  ("active", "0"), *[("locations", loc) for loc in locations]]  # fmt: skip
        assert (await post_form(client, url, url, fields)).status_code == 303
        listed = (await client.get("/admin/settings/staff?lang=en")).text
    assert f"Still has {ahead} upcoming bookings" in listed
    assert listed.count("upcoming bookings") == 1  # only the inactive one
    still = (
        "SELECT COUNT(*) FROM booking WHERE staff = ? AND start_at > ? AND status IN ('pending', 'confirmed')"
    )
    assert await ctx.db.fetchval(still, leaving, datetime.now(UTC)) == ahead  # nothing was cancelled


async def _slots(client: httpx.AsyncClient, service: int, day: date, staff: int | None = None) -> list[Any]:
    query = f"service={service}&from={day}&to={day}" + (f"&staff={staff}" if staff else "")
    answer = await client.get(f"/api/v1/availability?{query}")
    assert answer.status_code == 200, answer.text
    slots: list[Any] = answer.json()["slots"]
    return slots


def _next_open_weekday(ctx_closed: set[date], weekday: int) -> date:
    day = datetime.now(ZoneInfo("Europe/Istanbul")).date() + timedelta(days=2)
    while day.weekday() != weekday or day in ctx_closed:
        day += timedelta(days=1)
    return day


async def test_working_hours_and_closed_days_change_availability(demo: AppContext) -> None:
    ctx = demo
    service = int(await ctx.db.fetchval("SELECT id FROM service WHERE name = ?", "Sakal Tıraşı"))
    staff = int(await ctx.db.fetchval("SELECT id FROM staff WHERE name = ?", "Mehmet Kaya"))
    closed = {date.fromisoformat(str(r["day"])[:10]) for r in await ctx.db.fetch("SELECT day FROM closure")}
    monday = _next_open_weekday(closed, 0)
    hours_url = f"/admin/settings/staff/{staff}/hours"
    async with signed_in(ctx, "patron") as client:
        assert await _slots(client, service, monday, staff)
        page = await client.get(hours_url)
        rows = re.findall(r'name="weekday" value="(\d)"', page.text)
        worked = {str(r["weekday"]) for r in await ctx.db.fetch(
            "SELECT weekday FROM working_hours WHERE staff = ?", staff)}  # fmt: skip
        # each day's shifts, then an empty row for another shift
        assert rows == [d for d in "0123456" for _ in range(2 if d in worked else 1)]
        location = re.search(r'name="location" value="(\d+)"', page.text)
        assert location
        week = [("location", location.group(1))]
        for weekday in range(7):
            start, end, pause = ("10:00", "12:00", "") if weekday == 0 else ("", "", "")
            week += [("weekday", str(weekday)), ("start", start), ("end", end), ("breaks", pause)]
        week += [("weekday", "0"), ("start", "16:00"), ("end", "18:00"), ("breaks", "")]  # a split day
        wrong = [(k, "09:00" if k == "end" and i == 3 else v) for i, (k, v) in enumerate(week)]
        refused = await post_form(client, hours_url + "?lang=en", hours_url, wrong)
        assert refused.status_code == 422 and 'id="f-h0-end-error"' in refused.text
        assert await _slots(client, service, monday, staff)  # nothing changed
        saved = await post_form(client, hours_url, hours_url, week)
        assert saved.status_code == 303
        zone = ZoneInfo("Europe/Istanbul")
        starts = [
            datetime.fromisoformat(s["start"]).astimezone(zone)
            for s in await _slots(client, service, monday, staff)
        ]
        assert starts and all(10 <= s.hour < 12 or 16 <= s.hour < 18 for s in starts)
        assert any(s.hour >= 16 for s in starts) and any(s.hour < 12 for s in starts)
        tuesday = monday + timedelta(days=1)
        assert not await _slots(client, service, tuesday, staff)

        # Close two days for every location in one go: no slots left on them.
        first = _next_open_weekday(closed, 2)
        other = int(await ctx.db.fetchval("SELECT id FROM service WHERE name = ?", "Kadın Saç Kesimi"))
        assert await _slots(client, other, first) and await _slots(client, other, first + timedelta(days=1))
        closures = "/admin/settings/closures"
        bad = await post_form(
            client, closures + "?lang=en", closures,
            {"first_day": str(first), "last_day": str(first - timedelta(days=3)), "name": "Tadilat",
             "location": ""},
        )  # fmt: skip
        assert bad.status_code == 422 and 'id="f-last_day-error"' in bad.text
        done = await post_form(
            client, closures, closures,
            {"first_day": str(first), "last_day": str(first + timedelta(days=1)), "name": "Tadilat",
             "location": ""},
        )  # fmt: skip
        assert done.status_code == 303
        assert not await _slots(client, other, first)
        assert not await _slots(client, other, first + timedelta(days=1))
        assert "Tadilat" in (await client.get(closures)).text


# --------------------------------------------------------------------------------------------------
# Plugin settings

CONFIG = """\
# Ajanda configuration for the settings page test.
[security]
{security}

[database]
url = "{database}"  # the test's own database

[server]
rate_limit_per_minute = 0

[plugins]
enabled = ["notify_apprise", "audit_jsonl"]

# Messages go to a local webhook.
[plugin.notify_apprise]
timeout = 20.0

[[plugin.notify_apprise.channels]]
name = "kanca"
medium = "sms"
url = {{ "$env" = "AJANDA_TEST_HOOK" }}  # kept out of the file
recipients = ["customer"]

# Where the audit copy goes.
[plugin.audit_jsonl]
path = "var/audit.jsonl"
"""


@pytest.fixture
async def configured(
    tmp_path: Path, database_url: str, secrets_: dict[str, str], start_context: Any
) -> tuple[AppContext, Path]:
    path = tmp_path / "config.toml"
    security = "\n".join(f'{k} = "{v}"' for k, v in secrets_.items())
    path.write_text(CONFIG.format(security=security, database=database_url), encoding="utf-8")
    env = {"AJANDA_TEST_HOOK": "json://127.0.0.1:9/hook"}
    settings = settings_from_dict(tomllib.loads(path.read_text()), tmp_path, str(path), env=env)
    ctx: AppContext = await start_context(settings)
    await create_account(ctx, "patron", PASSWORD, Role.OWNER)
    await create_account(ctx, "mudur", PASSWORD, Role.MANAGER)
    return ctx, path


async def test_plugin_forms_are_generated_checked_and_written_into_the_config_file(
    configured: tuple[AppContext, Path],
) -> None:
    ctx, path = configured
    original = path.read_text()
    url = "/admin/settings/plugins/notify_apprise"
    async with signed_in(ctx, "patron") as client:
        listing = await client.get("/admin/settings/plugins")
        for name in ("notify_apprise", "audit_jsonl", "notify_netgsm"):
            assert f'href="/admin/settings/plugins/{name}"' in listing.text
        form = await client.get(url)
        assert 'id="f-timeout"' in form.text and 'id="f-channels"' in form.text
        assert "json://127.0.0.1" not in form.text  # the secret is never shown
        assert "AJANDA_TEST_HOOK" in form.text  # its reference is
        audit = await client.get("/admin/settings/plugins/audit_jsonl")
        assert (
            'id="f-path"' in audit.text and 'id="f-fsync"' in audit.text and 'type="checkbox"' in audit.text
        )
        netgsm = await client.get("/admin/settings/plugins/notify_netgsm?lang=en")
        assert "no settings" in netgsm.text

        channels = re.search(r'<textarea id="f-channels"[^>]*>(.*?)</textarea>', form.text, re.S)
        assert channels
        toml_text = channels.group(1).replace("&#34;", '"').replace("&quot;", '"')
        bad = await post_form(client, url + "?lang=en", url, {"timeout": "0", "channels": toml_text})
        assert bad.status_code == 422 and 'id="f-timeout-error"' in bad.text
        assert path.read_text() == original
        bad_channel = toml_text.replace('medium = "sms"', 'medium = "SMS!"')
        refused = await post_form(client, url, url, {"timeout": "20", "channels": bad_channel})
        assert refused.status_code == 422 and 'id="f-channels-error"' in refused.text
        assert path.read_text() == original

        saved = await post_form(client, url + "?lang=en", url, {"timeout": "12.5", "channels": toml_text})
        assert saved.status_code == 200 and "restart Ajanda" in saved.text
    written = path.read_text()
    assert written != original
    data = tomllib.loads(written)
    assert data["plugin"]["notify_apprise"]["timeout"] == 12.5
    assert data["plugin"]["notify_apprise"]["channels"][0]["url"] == {"$env": "AJANDA_TEST_HOOK"}
    assert data["plugin"]["audit_jsonl"] == {"path": "var/audit.jsonl"}
    before = tomllib.loads(original)
    assert {k: v for k, v in data.items() if k != "plugin"} == {
        k: v for k, v in before.items() if k != "plugin"
    }
    for comment in ("# Ajanda configuration", "# the test's own database", "# Where the audit copy goes."):
        assert comment in written
    assert ctx.plugins.config("notify_apprise").timeout == 20.0  # the running process keeps its config


async def test_only_the_owner_saves_plugin_settings(configured: tuple[AppContext, Path]) -> None:
    ctx, path = configured
    original = path.read_text()
    async with signed_in(ctx, "mudur") as client:
        url = "/admin/settings/plugins/audit_jsonl"
        page = await client.get(url)
        assert page.status_code == 200 and "disabled" in page.text
        refused = await post_form(client, url, url, {"path": "var/other.jsonl", "fsync": "1"})
        assert refused.status_code == 403 and "plugins.manage" in refused.text
    assert path.read_text() == original
    async with signed_in(ctx, "patron") as client:
        saved = await post_form(
            client, url, url, [("path", "var/other.jsonl"), ("fsync", "0"), ("fsync", "1")]
        )
        assert saved.status_code == 200
    assert tomllib.loads(path.read_text())["plugin"]["audit_jsonl"] == {
        "path": "var/other.jsonl",
        "fsync": True,
    }


async def test_without_a_config_file_plugin_settings_are_read_only(
    make_settings: Callable[..., Settings], start_context: Any
) -> None:
    ctx: AppContext = await start_context(
        make_settings(server={"rate_limit_per_minute": 0}, plugins={"enabled": ["audit_jsonl"]})
    )
    assert ctx.settings.source is None
    await create_account(ctx, "patron", PASSWORD, Role.OWNER)
    async with signed_in(ctx, "patron") as client:
        url = "/admin/settings/plugins/audit_jsonl"
        page = await client.get(url)
        assert (
            'id="read-only"' in page.text
            and '<button type="submit">' not in page.text.split("plugin-form")[1]
        )
        refused = await post_form(client, url, url, {"path": "x.jsonl"})
        assert refused.status_code == 409
    assert datetime.now(UTC)  # nothing was written anywhere: there is no file
