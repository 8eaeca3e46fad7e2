"""Parameter types shared by the API's handlers.

Ids are bounded to what both databases store (signed 64-bit), so an absurd id in a URL or body is a
clean 404/422, not an overflow deep in the database driver.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.params import PathParameter, QueryParameter

MAX_ID = 2**63 - 1

PathId = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)]
BodyId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
