"""Who did something (Actor) and the audit row plugins receive (AuditRecord)."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal

import msgspec

ActorKind = Literal["system", "user", "token", "customer_link", "plugin"]


class Actor(msgspec.Struct, frozen=True):
    kind: ActorKind
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


SYSTEM = Actor("system", "core")
# Changes made from the server's shell (`ajanda user add`, `ajanda customers import`...).
CLI = Actor("system", "cli")

_current_actor: contextvars.ContextVar[Actor] = contextvars.ContextVar("ajanda_actor", default=SYSTEM)


def current_actor() -> Actor:
    """Who is acting in this request or job (the system when nobody is)."""
    return _current_actor.get()


@contextmanager
def acting_as(actor: Actor) -> Iterator[None]:
    token = _current_actor.set(actor)
    try:
        yield
    finally:
        _current_actor.reset(token)


def set_actor(actor: Actor) -> None:
    """Set the actor for the rest of the current context (one HTTP request)."""
    _current_actor.set(actor)


class AuditRecord(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    at: datetime
    actor: Actor
    entity: str
    entity_id: str
    action: str
    # Changed fields; personal data values are replaced by "[redacted]".
    changes: dict[str, Any]
    hash: str
