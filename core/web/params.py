"""Parameter types shared by the API's handlers and the pages' forms.

Ids are bounded to what both databases store (signed 64-bit), so an absurd id in a URL or body is a
clean 404/422, not an overflow deep in the database driver.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec
from litestar.params import PathParameter, QueryParameter

MAX_ID = 2**63 - 1

PathId = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)]
BodyId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]


def form_day(value: object) -> date | None:
    """A YYYY-MM-DD typed into a page's form or address, or None. Years outside 1900-2999 are refused
    too: nobody books there, and the day's bounds in UTC would overflow at the ends of the calendar."""
    try:
        day = date.fromisoformat(str(value).strip())
    except ValueError:
        return None
    return day if 1900 <= day.year <= 2999 else None
