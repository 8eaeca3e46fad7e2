"""Builds small businesses for scheduling tests, through the tables (the admin API comes later)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal

from core.scheduling.tables import (
    Location,
    Resource,
    Service,
    ServiceLocation,
    ServiceResource,
    Staff,
    StaffLocation,
    WorkingHours,
)


async def _id(row: object) -> int:
    await row.save()  # type: ignore[attr-defined]
    return int(row.id)  # type: ignore[attr-defined]


@dataclass
class Business:
    location: int
    staff: list[int] = field(default_factory=list)
    services: dict[str, int] = field(default_factory=dict)
    resources: dict[str, int] = field(default_factory=dict)


async def build(
    zone: str = "Europe/Istanbul",
    staff: int = 2,
    hours: tuple[str, str] = ("09:00", "18:00"),
    breaks: list[list[str]] | None = None,
    skills: list[str] | None = None,
) -> Business:
    business = Business(await _id(Location(name="Test", timezone=zone)))
    for i in range(staff):
        sid = await _id(Staff(name=f"Staff {i + 1}", skills=json.dumps(skills or ["cut"])))
        await _id(StaffLocation(staff=sid, location=business.location))
        for weekday in range(7):
            await _id(
                WorkingHours(
                    staff=sid, location=business.location, weekday=weekday, start_time=hours[0],
                    end_time=hours[1], breaks=json.dumps(breaks or []),
                )
            )  # fmt: skip
        business.staff.append(sid)
    return business


async def add_service(
    business: Business, name: str, resources: tuple[int, ...] = (), **fields: object
) -> int:
    values: dict[str, object] = {
        "duration_min": 60, "slot_step_min": 30, "min_notice_min": 0, "max_days_ahead": 3650,
        "required_skill": "cut", "price": Decimal("500"),
    }  # fmt: skip
    values.update(fields)
    sid = await _id(Service(name=name, **values))
    await _id(ServiceLocation(service=sid, location=business.location))
    for resource in resources:
        await _id(ServiceResource(service=sid, resource=resource))
    business.services[name] = sid
    return sid


async def add_resource(business: Business, name: str, capacity: int = 1) -> int:
    rid = await _id(Resource(location=business.location, name=name, capacity=capacity))
    business.resources[name] = rid
    return rid
