"""Reading values back the same way on both engines."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, overload


@overload
def as_utc(value: None) -> None: ...
@overload
def as_utc(value: datetime | str) -> datetime: ...
def as_utc(value: Any) -> datetime | None:
    """A stored moment as an aware UTC datetime. SQLite hands back text where a column's type is not
    declared (MIN/MAX over a CASE) and naive values are UTC by our storage rule."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
