"""Parameter types shared by the API's handlers and the pages' forms.

Ids are bounded to what both databases store (signed 64-bit), so an absurd id in a URL or body is a
clean 404/422, not an overflow deep in the database driver.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec
from litestar.params import PathParameter, QueryParameter

from core.errors import FieldError

MAX_ID = 2**63 - 1

PathId = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)]
BodyId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]


# Days outside these years are refused: nobody books there, and a day's bounds in UTC would overflow
# at the ends of the calendar (0001-01-01, 9999-12-31).
FIRST_YEAR, LAST_YEAR = 1900, 2999


def form_day(value: object) -> date | None:
    """A YYYY-MM-DD typed into a page's form or address, or None."""
    try:
        day = date.fromisoformat(str(value).strip())
    except ValueError:
        return None
    return day if FIRST_YEAR <= day.year <= LAST_YEAR else None


def in_calendar(field: str, day: date) -> date:
    """An API's date parameter, refused with a 422 naming `field` outside the bookable years."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise FieldError(field, f"a day in the years {FIRST_YEAR}-{LAST_YEAR}")
    return day
