"""The `hello.record` outbox job: inserts one hello_visit row.

Payload: `{"name": str, "sleep": seconds, "sleep_once": path}`. The sleep happens BEFORE the insert,
so a worker killed while sleeping has written nothing. With `sleep_once`, the handler sleeps only if
that file does not exist yet and creates it first: the first attempt hangs (and is killed by the
test), the retry after the lease expires runs straight through.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ajanda_hello.tables import HelloVisit

if TYPE_CHECKING:
    from core.context import AppContext

RECORD_VISIT = "hello.record"


def _first_time(marker: Path) -> bool:
    """Create `marker`; False when it already existed (atomic, so two attempts cannot both win)."""
    try:
        marker.open("x").close()
    except FileExistsError:
        return False
    return True


async def record_visit(payload: dict[str, Any], context: AppContext) -> None:
    delay = float(payload.get("sleep", 0))
    marker = payload.get("sleep_once")
    if marker is not None and not await asyncio.to_thread(_first_time, Path(marker)):
        delay = 0.0
    if delay > 0:
        await asyncio.sleep(delay)
    async with context.db.transaction():
        await HelloVisit.insert(HelloVisit(name=str(payload["name"]), created_at=datetime.now(UTC)))
