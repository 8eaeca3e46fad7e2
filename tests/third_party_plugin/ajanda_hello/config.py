"""The `[plugin.hello]` section, validated by the core's loader before the plugin is registered."""

from __future__ import annotations

from typing import Annotated

import msgspec


class HelloConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # What /p/hello/greet and `ajanda hello greet` say.
    greeting: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] = "Merhaba"
    # How many times they say it; zero would be a silent no-op, so it is refused at start-up.
    times: Annotated[int, msgspec.Meta(ge=1, le=10)] = 1

    def text(self) -> str:
        return " ".join([self.greeting] * self.times)
