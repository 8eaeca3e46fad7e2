"""What plugins are told about a customer: decrypted contact data, for trusted enabled plugins only."""

from __future__ import annotations

import msgspec


class CustomerSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    phone: str | None = None  # E.164
    email: str | None = None
    language: str = "tr"
    preferred_channel: str | None = None
    tags: tuple[str, ...] = ()
