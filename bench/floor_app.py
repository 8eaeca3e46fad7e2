"""The smallest server that answers like `POST /api/v1/bookings`, for `bench.floor`.

Same stack as `ajanda serve` (Litestar, msgspec bodies, uvicorn with uvloop and httptools, no access
log), with handlers that do no booking work: one answers at once, one first makes `n` PostgreSQL round
trips inside one transaction on a pooled asyncpg connection (the shape of a booking's statements).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar, post


class Person(msgspec.Struct):
    name: str
    phone: str
    email: str


class BodyIn(msgspec.Struct):
    service: int
    start: str
    staff: int | None
    customer: Person


class BodyOut(msgspec.Struct):
    id: int
    status: str
    start: str
    staff: int | None


POOL: dict[str, Any] = {}


@post("/empty", status_code=201)
async def empty(data: BodyIn) -> BodyOut:
    return BodyOut(id=1, status="confirmed", start=data.start, staff=data.staff)


@post("/pg", status_code=201)
async def round_trips(data: BodyIn, n: int) -> BodyOut:
    async with POOL["pool"].acquire() as conn, conn.transaction():
        for i in range(n):
            await conn.fetchval("SELECT $1::int", i)
    return BodyOut(id=1, status="confirmed", start=data.start, staff=data.staff)


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    dsn = os.environ.get("FLOOR_PG_DSN")
    if dsn:
        POOL["pool"] = await asyncpg.create_pool(dsn, min_size=10, max_size=10)
    try:
        yield
    finally:
        if "pool" in POOL:
            await POOL.pop("pool").close()


app = Litestar([empty, round_trips], lifespan=[lifespan], debug=False, logging_config=None)
