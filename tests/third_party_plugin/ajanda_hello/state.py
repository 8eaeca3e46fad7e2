"""Per-instance run-time state, kept in `context.plugin_state["hello"]` (no module globals)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core import AuditRecord
    from core.context import AppContext


@dataclass
class HelloState:
    audit_events: int = 0
    last_audit: AuditRecord | None = None


def state_of(context: AppContext) -> HelloState:
    """The instance's state; created on first use too, because audit events can precede `startup`."""
    state: HelloState = context.plugin_state.setdefault("hello", HelloState())
    return state
