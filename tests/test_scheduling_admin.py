"""The scheduling admin API as a business owner uses it: set the business up, then customers see the slots."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from core.context import AppContext
from tests.conftest import ENGINE, admin_headers, api_client

API = "/api/v1/admin"
MONDAY = "2031-01-06"
TUESDAY = "2031-01-07"
WEDNESDAY = "2031-01-08"
# Monday 09:00-12:00 with a 10:00-10:30 break; Tuesday 13:00-15:00 (Istanbul is UTC+3 all year).
WEEK = [
    {"weekday": 1, "start": "13:00", "end": "15:00"},
    {"weekday": 0, "start": "09:00", "end": "12:00", "breaks": [["10:00", "10:30"]]},
]
MONDAY_STARTS = ["09:00", "09:30", "10:30", "11:00", "11:30"]
TUESDAY_STARTS = ["13:00", "13:30", "14:00", "14:30"]


@dataclass
class Admin:
    """An HTTP client holding the admin token, plus anonymous access to the public availability."""

    client: Any
    headers: dict[str, str]
    ctx: AppContext

    async def send(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        response = await self.client.request(method, API + path, json=body, headers=self.headers)
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    async def starts(self, service: int, first: str, last: str | None = None, **query: Any) -> list[str]:
        """Free slot starts as local "YYYY-MM-DDTHH:MM" (public endpoint, no token)."""
        params = {"service": service, "from": first, "to": last or first, **query}
        response = await self.client.get("/api/v1/availability", params=params)
        assert response.status_code == 200, response.text
        return [slot["start"][:16] for slot in response.json()["slots"]]

    async def audit(self) -> list[dict[str, Any]]:
        return list(reversed(await self.send("GET", "/audit?limit=500")))


@pytest.fixture
async def admin(make_settings: Any, start_context: Any) -> AsyncIterator[Admin]:
    ctx: AppContext = await start_context(make_settings(server={"rate_limit_per_minute": 0}))
    async with api_client(ctx) as client:
        yield Admin(client, admin_headers(ctx.settings), ctx)


@dataclass
class Salon:
    location: int
    staff: int
    service: int


async def salon(admin: Admin, **service: Any) -> Salon:
    """One location, one barber with the week above, one 30-minute haircut: all through the API."""
    location = await admin.send(
        "POST", "/locations", {"name": "Kadıköy", "timezone": "Europe/Istanbul"}, status=201
    )
    staff = await admin.send(
        "POST",
        "/staff",
        {"name": "Ayşe", "skills": ["haircut"], "colour": "#db2777", "locations": [location["id"]]},
        status=201,
    )
    await admin.send("PUT", f"/staff/{staff['id']}/hours", WEEK)
    fields = {
        "name": "Saç Kesimi", "duration_min": 30, "slot_step_min": 30, "min_notice_min": 0,
        "max_days_ahead": 3650, "required_skill": "haircut", "price": "450.00",
        "locations": [location["id"]], **service,
    }  # fmt: skip
    created = await admin.send("POST", "/services", fields, status=201)
    return Salon(location["id"], staff["id"], created["id"])


def on(day: str, times: list[str]) -> list[str]:
    return [f"{day}T{t}" for t in times]


async def test_a_business_set_up_through_the_api_offers_exactly_the_hours_it_was_given(admin: Admin) -> None:
    shop = await salon(admin)
    assert await admin.starts(shop.service, MONDAY, WEDNESDAY) == on(MONDAY, MONDAY_STARTS) + on(
        TUESDAY, TUESDAY_STARTS
    )
    response = await admin.client.get(
        "/api/v1/availability", params={"service": shop.service, "from": MONDAY, "to": MONDAY}
    )
    body = response.json()
    assert body["timezone"] == "Europe/Istanbul"
    assert body["slots"][0] == {
        "start": "2031-01-06T09:00:00+03:00", "end": "2031-01-06T09:30:00+03:00", "staff": [shop.staff]
    }  # fmt: skip
    # The hours read back in the shape they were put, in week order.
    assert await admin.send("GET", f"/staff/{shop.staff}/hours") == [
        {"weekday": 0, "start": "09:00", "end": "12:00", "breaks": [["10:00", "10:30"]]},
        {"weekday": 1, "start": "13:00", "end": "15:00", "breaks": []},
    ]
    public = (await admin.client.get("/api/v1/services")).json()
    assert public == [
        {"id": shop.service, "name": "Saç Kesimi", "category": "", "duration": 30, "price": "450.00",
         "currency": "TRY", "deposit": "0.00", "locations": [shop.location]}
    ]  # fmt: skip


async def test_replacing_the_hours_moves_the_slots(admin: Admin) -> None:
    shop = await salon(admin)
    await admin.send("PUT", f"/staff/{shop.staff}/hours", [{"weekday": 2, "start": "17:00", "end": "18:00"}])
    assert await admin.starts(shop.service, MONDAY, WEDNESDAY) == on(WEDNESDAY, ["17:00", "17:30"])
    await admin.send("PUT", f"/staff/{shop.staff}/hours", [])
    assert await admin.starts(shop.service, MONDAY, WEDNESDAY) == []


async def test_patch_changes_only_what_was_sent(admin: Admin) -> None:
    shop = await salon(admin, category="Saç", buffer_after_min=10, deposit_kind="percent", deposit_value="20")
    before = await admin.send("GET", f"/services/{shop.service}")
    after = await admin.send("PATCH", f"/services/{shop.service}", {"price": "500"})
    assert after == {**before, "price": "500.00"}
    # An explicit null clears a nullable field; absent fields stay.
    cleared = await admin.send("PATCH", f"/services/{shop.service}", {"required_skill": None})
    assert cleared == {**after, "required_skill": None}

    staff = await admin.send("GET", f"/staff/{shop.staff}")
    patched = await admin.send("PATCH", f"/staff/{shop.staff}", {"colour": "#ABCDEF"})
    assert patched == {**staff, "colour": "#abcdef"}

    location = await admin.send("GET", f"/locations/{shop.location}")
    moved = await admin.send("PATCH", f"/locations/{shop.location}", {"address": "Moda Cd. 1"})
    assert moved == {**location, "address": "Moda Cd. 1"}
    assert moved["timezone"] == "Europe/Istanbul"
    # The slots still follow the unchanged hours.
    assert await admin.starts(shop.service, MONDAY) == on(MONDAY, MONDAY_STARTS)


async def test_deactivated_staff_are_no_longer_offered(admin: Admin) -> None:
    shop = await salon(admin)
    second = await admin.send(
        "POST", "/staff", {"name": "Mehmet", "skills": ["haircut"], "locations": [shop.location]}, status=201
    )
    await admin.send(
        "PUT", f"/staff/{second['id']}/hours", [{"weekday": 0, "start": "12:00", "end": "13:00"}]
    )
    assert await admin.starts(shop.service, MONDAY) == on(MONDAY, [*MONDAY_STARTS, "12:00", "12:30"])

    off = await admin.send("POST", f"/staff/{second['id']}/deactivate")
    assert off["active"] is False
    assert await admin.starts(shop.service, MONDAY) == on(MONDAY, MONDAY_STARTS)
    assert [s["id"] for s in await admin.send("GET", "/staff?active=true")] == [shop.staff]

    await admin.send("POST", f"/staff/{shop.staff}/deactivate")
    assert await admin.starts(shop.service, MONDAY) == []
    await admin.send("POST", f"/staff/{second['id']}/activate")
    assert await admin.starts(shop.service, MONDAY) == on(MONDAY, ["12:00", "12:30"])


async def test_a_deactivated_service_cannot_be_booked(admin: Admin) -> None:
    shop = await salon(admin)
    await admin.send("POST", f"/services/{shop.service}/deactivate")
    response = await admin.client.get(
        "/api/v1/availability", params={"service": shop.service, "from": MONDAY, "to": MONDAY}
    )
    assert response.status_code == 404
    assert (await admin.client.get("/api/v1/services")).json() == []
    # The admin still sees it, and can bring it back.
    assert (await admin.send("GET", f"/services/{shop.service}"))["active"] is False
    await admin.send("POST", f"/services/{shop.service}/activate")
    assert await admin.starts(shop.service, MONDAY) == on(MONDAY, MONDAY_STARTS)


async def test_a_skill_the_staff_lacks_means_no_slots(admin: Admin) -> None:
    shop = await salon(admin, required_skill="colour")
    assert await admin.starts(shop.service, MONDAY) == []
    await admin.send("PATCH", f"/staff/{shop.staff}", {"skills": ["haircut", "colour"]})
    assert await admin.starts(shop.service, MONDAY) == on(MONDAY, MONDAY_STARTS)


BAD_INPUT = [
    ("POST", "/locations", {"name": "X", "timezone": "Mars/Olympus"}, "timezone"),
    ("POST", "/locations", {"name": "X", "timezone": "localtime"}, "timezone"),
    ("POST", "/locations", {"name": "", "timezone": "UTC"}, "name"),
    ("PATCH", "/locations/{location}", {"timezone": "Istanbul"}, "timezone"),
    ("PATCH", "/locations/{location}", {"name": None}, "name"),
    ("POST", "/staff", {"name": "X", "colour": "red"}, "colour"),
    ("POST", "/staff", {"name": "X", "locations": ["{location}", 999]}, "locations[1]"),
    ("PATCH", "/staff/{staff}", {"skills": ["haircut", ""]}, "skills[1]"),
    ("POST", "/resources", {"location": "{location}", "name": "Oda", "kind": "closet"}, "kind"),
    ("POST", "/resources", {"location": "{location}", "name": "Oda", "capacity": 0}, "capacity"),
    ("POST", "/resources", {"location": 999, "name": "Oda"}, "location"),
    ("POST", "/services", {"name": "X", "duration_min": 0}, "duration_min"),
    ("POST", "/services", {"name": "X", "duration_min": 30, "slot_step_min": 3}, "slot_step_min"),
    ("POST", "/services", {"name": "X", "duration_min": 30, "slot_step_min": 300}, "slot_step_min"),
    ("POST", "/services", {"name": "X", "duration_min": 30, "buffer_after_min": -5}, "buffer_after_min"),
    ("POST", "/services", {"name": "X", "duration_min": 30, "price": "-5"}, "price"),
    ("POST", "/services", {"name": "X", "duration_min": 30, "price": "12.345"}, "price"),
    ("POST", "/services", {"name": "X", "duration_min": 30, "price": 12}, "price"),
    ("POST", "/services", {"name": "X", "duration_min": 30, "currency": "tl"}, "currency"),
    ("POST", "/services", {"name": "X", "duration_min": 30, "seats": 0}, "seats"),
    ("POST", "/services", {"name": "X", "duration_min": 30, "deposit_kind": "percent",
                           "deposit_value": "150"}, "deposit_value"),
    ("POST", "/services", {"name": "X", "duration_min": 30, "price": "100", "deposit_kind": "fixed",
                           "deposit_value": "150"}, "deposit_value"),
    ("POST", "/services", {"name": "X", "duration_min": 30, "deposit_kind": "later"}, "deposit_kind"),
    ("POST", "/services", {"name": "X", "duration_min": 30, "locations": [999]}, "locations[0]"),
    ("PATCH", "/services/{service}", {"deposit_kind": "percent", "deposit_value": "100.01"}, "deposit_value"),
    ("PATCH", "/services/{service}", {"resources": ["{elsewhere_room}"]}, "resources[0]"),
    ("PATCH", "/services/{service}", {"resources": [999]}, "resources[0]"),
    ("PATCH", "/services/{service}", {"recall_days": 0}, "recall_days"),
    ("PUT", "/staff/{staff}/hours", [{"weekday": 7, "start": "09:00", "end": "17:00"}], "hours[0].weekday"),
    ("PUT", "/staff/{staff}/hours", [{"weekday": 0, "start": "9:00", "end": "17:00"}], "hours[0].start"),
    ("PUT", "/staff/{staff}/hours", [{"weekday": 0, "start": "09:00", "end": "24:00"}], "hours[0].end"),
    ("PUT", "/staff/{staff}/hours", [{"weekday": 0, "start": "17:00", "end": "09:00"}], "hours[0].end"),
    ("PUT", "/staff/{staff}/hours",
     [{"weekday": 0, "start": "09:00", "end": "12:00"}, {"weekday": 0, "start": "11:00", "end": "15:00"}],
     "hours[1]"),
    ("PUT", "/staff/{staff}/hours",
     [{"weekday": 1, "start": "09:00", "end": "12:00"},
      {"weekday": 2, "start": "09:00", "end": "12:00", "breaks": [["08:30", "09:30"]]}],
     "hours[1].breaks[0]"),
    ("PUT", "/staff/{staff}/hours",
     [{"weekday": 0, "start": "09:00", "end": "18:00", "breaks": [["12:00", "13:00"], ["12:30", "12:45"]]}],
     "hours[0].breaks[1]"),
    ("PUT", "/staff/{staff}/hours",
     [{"weekday": 0, "start": "09:00", "end": "18:00", "breaks": [["13:00", "12:00"]]}],
     "hours[0].breaks[0]"),
    ("PUT", "/staff/{staff}/hours?location={elsewhere}", [], "location"),
    ("POST", "/staff/{staff}/exceptions",
     {"kind": "off", "starts_at": "2031-01-06T09:00:00", "ends_at": "2031-01-06T12:00:00+03:00"},
     "starts_at"),
    ("POST", "/staff/{staff}/exceptions",
     {"kind": "off", "starts_at": "2031-01-06T12:00:00+03:00", "ends_at": "2031-01-06T09:00:00+03:00"},
     "ends_at"),
    ("POST", "/staff/{staff}/exceptions",
     {"kind": "holiday", "starts_at": "2031-01-06T09:00:00Z", "ends_at": "2031-01-06T12:00:00Z"}, "kind"),
    ("POST", "/staff/{staff}/exceptions",
     {"kind": "off", "starts_at": "2031-01-06T09:00:00Z", "ends_at": "2031-01-06T12:00:00Z", "location": 999},
     "location"),
    ("POST", "/closures", [{"day": "2031-01-01", "name": "Yılbaşı"}, {"day": "2031-02-30", "name": "X"}],
     "closures[1].day"),
    ("POST", "/closures", [{"day": "1.1.2031", "name": "Yılbaşı"}], "closures[0].day"),
    ("POST", "/closures", [{"day": "2031-01-01", "name": " "}], "closures[0].name"),
    ("POST", "/closures", [{"day": "2031-01-01", "name": "Yılbaşı", "location": 999}],
     "closures[0].location"),
    ("GET", "/closures?from=2031-02-01&to=2031-01-01", None, "to"),
]  # fmt: skip


def _fill(value: Any, ids: dict[str, int]) -> Any:
    """Put real ids where the table above has "{location}" and the like."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


async def _counts(ctx: AppContext) -> dict[str, int]:
    tables = (
        "location", "staff", "staff_location", "resource", "service", "service_location", "service_resource",
        "working_hours", "staff_exception", "closure", "ajanda_audit",
    )  # fmt: skip
    return {t: int(await ctx.db.fetchval(f"SELECT COUNT(*) FROM {t}")) for t in tables}


@pytest.mark.parametrize(("method", "path", "body", "field"), BAD_INPUT)
async def test_invalid_input_is_a_422_naming_the_field_and_changes_nothing(
    admin: Admin, method: str, path: str, body: Any, field: str
) -> None:
    shop = await salon(admin)
    elsewhere = await admin.send("POST", "/locations", {"name": "Beşiktaş", "timezone": "UTC"}, status=201)
    room = await admin.send("POST", "/resources", {"location": elsewhere["id"], "name": "Oda"}, status=201)
    ids = {
        "location": shop.location, "staff": shop.staff, "service": shop.service,
        "elsewhere": elsewhere["id"], "elsewhere_room": room["id"],
    }  # fmt: skip
    url = path.format(**ids)
    before = await _counts(admin.ctx)
    response = await admin.client.request(method, API + url, json=_fill(body, ids), headers=admin.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["errors"][0]["field"] == field, problem
    assert await _counts(admin.ctx) == before
    assert await admin.starts(shop.service, MONDAY) == on(MONDAY, MONDAY_STARTS)


async def test_unknown_fields_are_refused(admin: Admin) -> None:
    shop = await salon(admin)
    response = await admin.client.patch(
        f"{API}/staff/{shop.staff}", json={"nmae": "typo"}, headers=admin.headers
    )
    assert response.status_code == 422
    assert "nmae" in response.json()["detail"]


UNKNOWN = [
    ("GET", "/locations/999", None),
    ("PATCH", "/locations/999", {"name": "X"}),
    ("POST", "/locations/999/deactivate", None),
    ("GET", "/staff/999", None),
    ("PATCH", "/staff/999", {"name": "X"}),
    ("POST", "/staff/999/activate", None),
    ("GET", "/staff/999/hours", None),
    ("PUT", "/staff/999/hours", []),
    ("PUT", "/staff/{staff}/hours?location=999", []),
    ("GET", "/staff/999/exceptions", None),
    ("POST", "/staff/999/exceptions",
     {"kind": "off", "starts_at": "2031-01-06T09:00:00Z", "ends_at": "2031-01-06T12:00:00Z"}),
    ("DELETE", "/staff/{staff}/exceptions/999", None),
    ("GET", "/resources/999", None),
    ("PATCH", "/resources/999", {"capacity": 2}),
    ("GET", "/services/999", None),
    ("PATCH", "/services/999", {"price": "1.00"}),
    ("POST", "/services/999/deactivate", None),
    ("DELETE", "/closures/999", None),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body"), UNKNOWN)
async def test_unknown_ids_are_404_problems(admin: Admin, method: str, path: str, body: Any) -> None:
    shop = await salon(admin)
    before = await _counts(admin.ctx)
    url = API + path.format(staff=shop.staff)
    response = await admin.client.request(method, url, json=body, headers=admin.headers)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "999" in response.json()["detail"]
    assert await _counts(admin.ctx) == before


async def test_bulk_closures_skip_duplicates_and_closed_days_have_no_slots(admin: Admin) -> None:
    shop = await salon(admin)
    holidays = [
        {"day": MONDAY, "name": "Bayram 1"},
        {"day": MONDAY, "name": "Bayram 1 (again)", "location": None},
        {"day": TUESDAY, "name": "Bayram 2", "location": shop.location},
    ]
    first = await admin.send("POST", "/closures", holidays, status=201)
    assert (first["created"], first["skipped"]) == (2, 1)
    assert [(c["day"], c["name"], c["location"]) for c in first["closures"]] == [
        (MONDAY, "Bayram 1", None), (TUESDAY, "Bayram 2", shop.location)
    ]  # fmt: skip
    again = await admin.send("POST", "/closures", holidays, status=201)
    assert (again["created"], again["skipped"]) == (0, 3)
    assert await admin.ctx.db.fetchval("SELECT COUNT(*) FROM closure") == 2

    assert await admin.starts(shop.service, MONDAY, WEDNESDAY) == []
    listed = await admin.send("GET", f"/closures?from={TUESDAY}&to={WEDNESDAY}")
    assert [c["name"] for c in listed] == ["Bayram 2"]
    await admin.send("DELETE", f"/closures/{listed[0]['id']}", status=204)
    assert await admin.starts(shop.service, MONDAY, WEDNESDAY) == on(TUESDAY, TUESDAY_STARTS)


async def test_a_closure_of_another_location_leaves_this_one_open(admin: Admin) -> None:
    shop = await salon(admin)
    other = await admin.send(
        "POST", "/locations", {"name": "Moda", "timezone": "Europe/Istanbul"}, status=201
    )
    await admin.send(
        "POST", "/closures", [{"day": MONDAY, "name": "Tadilat", "location": other["id"]}], status=201
    )
    assert await admin.starts(shop.service, MONDAY) == on(MONDAY, MONDAY_STARTS)
    assert await admin.send("GET", f"/closures?location={shop.location}") == []


async def test_time_off_and_extra_hours_are_stored_in_utc_and_shape_the_slots(admin: Admin) -> None:
    shop = await salon(admin)
    off = await admin.send(
        "POST",
        f"/staff/{shop.staff}/exceptions",
        {"kind": "off", "starts_at": "2031-01-06T10:30:00.250+03:00", "ends_at": "2031-01-06T11:30:00+03:00",
         "note": "doctor"},
        status=201,
    )  # fmt: skip
    assert off["starts_at"] == "2031-01-06T07:30:00Z" and off["ends_at"] == "2031-01-06T08:30:00Z"
    extra = await admin.send(
        "POST",
        f"/staff/{shop.staff}/exceptions",
        {"kind": "extra", "starts_at": "2031-01-08T06:00:00Z", "ends_at": "2031-01-08T07:00:00Z"},
        status=201,
    )
    assert await admin.starts(shop.service, MONDAY, WEDNESDAY) == (
        on(MONDAY, ["09:00", "09:30", "11:30"])
        + on(TUESDAY, TUESDAY_STARTS)
        + on(WEDNESDAY, ["09:00", "09:30"])
    )
    if ENGINE == "sqlite":
        # SQLite compares instants as text: they must all have the one UTC form, in whole seconds.
        raw = await admin.ctx.db.fetch("SELECT starts_at || '' AS t FROM staff_exception ORDER BY id")
        assert [r["t"] for r in raw] == ["2031-01-06 07:30:00+00:00", "2031-01-08 06:00:00+00:00"]
    listed = await admin.send("GET", f"/staff/{shop.staff}/exceptions?from=2031-01-07T00:00:00Z")
    assert [e["id"] for e in listed] == [extra["id"]]
    await admin.send("DELETE", f"/staff/{shop.staff}/exceptions/{off['id']}", status=204)
    assert await admin.starts(shop.service, MONDAY) == on(MONDAY, MONDAY_STARTS)
    assert [e["id"] for e in await admin.send("GET", f"/staff/{shop.staff}/exceptions")] == [extra["id"]]


async def test_a_service_only_uses_resources_at_its_own_locations(admin: Admin) -> None:
    shop = await salon(admin)
    room = await admin.send("POST", "/resources", {"location": shop.location, "name": "Oda 1"}, status=201)
    other = await admin.send(
        "POST", "/locations", {"name": "Moda", "timezone": "Europe/Istanbul"}, status=201
    )
    service = await admin.send("PATCH", f"/services/{shop.service}", {"resources": [room["id"], room["id"]]})
    assert service["resources"] == [room["id"]]

    moved = await admin.client.patch(f"{API}/resources/{room['id']}", json={"location": other["id"]},
                                     headers=admin.headers)  # fmt: skip
    assert moved.status_code == 422 and moved.json()["errors"][0]["field"] == "location"
    narrowed = await admin.client.patch(
        f"{API}/services/{shop.service}", json={"locations": [other["id"]]}, headers=admin.headers
    )
    assert narrowed.status_code == 422 and narrowed.json()["errors"][0]["field"] == "locations"
    # Offered at both, it may keep the room; the room is at the first one only.
    both = await admin.send("PATCH", f"/services/{shop.service}", {"locations": [shop.location, other["id"]]})
    assert both["locations"] == sorted([shop.location, other["id"]])
    assert await admin.starts(shop.service, MONDAY, location=shop.location) == on(MONDAY, MONDAY_STARTS)


async def test_hours_need_a_location_when_the_staff_member_works_at_several(admin: Admin) -> None:
    shop = await salon(admin)
    other = await admin.send(
        "POST", "/locations", {"name": "Moda", "timezone": "Europe/Istanbul"}, status=201
    )
    await admin.send("PATCH", f"/staff/{shop.staff}", {"locations": [shop.location, other["id"]]})
    response = await admin.client.get(f"{API}/staff/{shop.staff}/hours", headers=admin.headers)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "location"
    await admin.send("PUT", f"/staff/{shop.staff}/hours?location={other['id']}", WEEK[:1])
    assert await admin.send("GET", f"/staff/{shop.staff}/hours?location={other['id']}") == [
        {**WEEK[0], "breaks": []}
    ]
    # The first location's hours are untouched.
    assert len(await admin.send("GET", f"/staff/{shop.staff}/hours?location={shop.location}")) == 2


async def test_every_change_leaves_one_audit_row_with_what_changed(admin: Admin) -> None:
    shop = await salon(admin)
    seen = len(await admin.audit())
    room = await admin.send("POST", "/resources", {"location": shop.location, "name": "Oda 1"}, status=201)
    await admin.send("PATCH", f"/locations/{shop.location}", {"name": "Kadıköy Şube"})
    await admin.send("PATCH", f"/locations/{shop.location}", {"name": "Kadıköy Şube"})  # no change, no row
    await admin.send("PATCH", f"/services/{shop.service}", {"price": "475", "locations": [shop.location]})
    await admin.send("PATCH", f"/staff/{shop.staff}", {"skills": ["haircut", "beard"]})
    await admin.send("PUT", f"/staff/{shop.staff}/hours", WEEK[:1])
    await admin.send("POST", f"/resources/{room['id']}/deactivate")
    off = await admin.send(
        "POST",
        f"/staff/{shop.staff}/exceptions",
        {
            "kind": "off",
            "starts_at": "2031-01-06T09:00:00Z",
            "ends_at": "2031-01-06T10:00:00Z",
            "note": "dentist",
        },
        status=201,
    )
    await admin.send("DELETE", f"/staff/{shop.staff}/exceptions/{off['id']}", status=204)
    closures = await admin.send("POST", "/closures", [{"day": MONDAY, "name": "Bayram"}], status=201)
    await admin.send("DELETE", f"/closures/{closures['closures'][0]['id']}", status=204)

    rows = [(r["entity"], r["entity_id"], r["action"], r["changes"]) for r in (await admin.audit())[seen:]]
    sid, loc = str(shop.staff), str(shop.location)
    assert rows == [
        ("resource", str(room["id"]), "created",
         {"active": [None, True], "capacity": [None, 1], "kind": [None, "room"],
          "location": [None, shop.location], "name": [None, "Oda 1"]}),
        ("location", loc, "updated", {"name": ["Kadıköy", "Kadıköy Şube"]}),
        ("service", str(shop.service), "updated", {"price": ["450.00", "475.00"]}),
        ("staff", sid, "updated", {"skills": [["haircut"], ["haircut", "beard"]]}),
        ("staff", sid, "hours_set",
         {"location": shop.location,
          "hours": [[{"weekday": 0, "start": "09:00", "end": "12:00", "breaks": [["10:00", "10:30"]]},
                     {"weekday": 1, "start": "13:00", "end": "15:00", "breaks": []}],
                    [{"weekday": 1, "start": "13:00", "end": "15:00", "breaks": []}]]}),
        ("resource", str(room["id"]), "deactivated", {"active": [True, False]}),
        ("staff_exception", str(off["id"]), "created",
         {"staff": [None, shop.staff], "kind": [None, "off"], "starts_at": [None, "2031-01-06T09:00:00Z"],
          "ends_at": [None, "2031-01-06T10:00:00Z"], "note": ["[redacted]", "[redacted]"]}),
        ("staff_exception", str(off["id"]), "deleted",
         {"staff": [shop.staff, None], "kind": ["off", None], "starts_at": ["2031-01-06T09:00:00Z", None],
          "ends_at": ["2031-01-06T10:00:00Z", None], "note": ["[redacted]", "[redacted]"]}),
        ("closure", str(closures["closures"][0]["id"]), "created",
         {"day": [None, MONDAY], "name": [None, "Bayram"]}),
        ("closure", str(closures["closures"][0]["id"]), "deleted",
         {"day": [MONDAY, None], "name": ["Bayram", None]}),
    ]  # fmt: skip
    assert all(r["actor"] == "token:bootstrap-admin" for r in (await admin.audit())[seen:])
    assert (await admin.send("GET", "/audit/verify"))["ok"] is True


async def test_the_setup_itself_is_audited_per_record(admin: Admin) -> None:
    shop = await salon(admin)
    rows = [(r["entity"], r["entity_id"], r["action"]) for r in await admin.audit()]
    assert rows == [
        ("location", str(shop.location), "created"),
        ("staff", str(shop.staff), "created"),
        ("staff", str(shop.staff), "hours_set"),
        ("service", str(shop.service), "created"),
    ]


ANONYMOUS = [
    ("GET", "/locations", None),
    ("POST", "/locations", {"name": "X", "timezone": "UTC"}),
    ("PATCH", "/staff/1", {"name": "X"}),
    ("POST", "/staff/1/deactivate", None),
    ("PUT", "/staff/1/hours", []),
    ("GET", "/staff/1/exceptions", None),
    ("POST", "/services", {"name": "X", "duration_min": 30}),
    ("POST", "/closures", [{"day": MONDAY, "name": "X"}]),
    ("DELETE", "/closures/1", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ANONYMOUS)
@pytest.mark.parametrize("token", [None, "not-the-token"])
async def test_anonymous_and_wrong_token_requests_are_401(
    admin: Admin, method: str, path: str, body: Any, token: str | None
) -> None:
    await salon(admin)
    before = await _counts(admin.ctx)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await admin.client.request(method, API + path, json=body, headers=headers)
    assert response.status_code == 401, response.text
    assert await _counts(admin.ctx) == before


async def test_lists_filter_by_active(admin: Admin) -> None:
    shop = await salon(admin)
    other = await admin.send(
        "POST", "/locations", {"name": "Moda", "timezone": "Europe/Istanbul"}, status=201
    )
    await admin.send("POST", f"/locations/{other['id']}/deactivate")
    assert [x["id"] for x in await admin.send("GET", "/locations")] == [shop.location, other["id"]]
    assert [x["id"] for x in await admin.send("GET", "/locations?active=false")] == [other["id"]]
    assert [x["id"] for x in await admin.send("GET", "/services?active=true")] == [shop.service]


async def test_concurrent_changes_of_one_record_all_succeed_and_leave_one_consistent_state(
    admin: Admin,
) -> None:
    shop = await salon(admin)
    other = await admin.send(
        "POST", "/locations", {"name": "Moda", "timezone": "Europe/Istanbul"}, status=201
    )
    both = [shop.location, other["id"]]

    async def relink(i: int) -> int:
        body = {"locations": both if i % 2 else both[::-1]}
        return (
            await admin.client.patch(f"{API}/staff/{shop.staff}", json=body, headers=admin.headers)
        ).status_code

    async def rehours(i: int) -> int:
        url = f"{API}/staff/{shop.staff}/hours?location={shop.location}"
        return (await admin.client.put(url, json=WEEK, headers=admin.headers)).status_code

    codes = await asyncio.gather(*(relink(i) for i in range(20)), *(rehours(i) for i in range(20)))
    assert set(codes) == {200}
    assert (await admin.send("GET", f"/staff/{shop.staff}"))["locations"] == sorted(both)
    assert len(await admin.send("GET", f"/staff/{shop.staff}/hours?location={shop.location}")) == 2
    assert await admin.starts(shop.service, MONDAY, location=shop.location) == on(MONDAY, MONDAY_STARTS)
