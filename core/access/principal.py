"""Who is calling, once authenticated: a staff account, an API token, or the bootstrap token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.access.permissions import Permission, Role, allows
from core.audit.records import Actor

PrincipalKind = Literal["user", "token", "bootstrap"]


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    id: int  # account id, token id; 0 for the bootstrap token
    name: str  # username, token name
    role: Role
    staff_id: int | None = None  # a `staff` account sees only this staff member's calendar
    session_id: int | None = None
    display_name: str | None = None  # an account's own name, shown on the pages (`name` is for logs)

    @property
    def shown_name(self) -> str:
        return self.display_name or self.name

    def can(self, permission: Permission) -> bool:
        return allows(self.role, permission)

    @property
    def scoped_staff(self) -> int | None:
        """The staff member whose bookings and customers are all this caller may see (None: all)."""
        if self.role is not Role.STAFF:
            return None
        return self.staff_id or 0  # an unlinked staff account sees nothing (no staff has id 0)

    def actor(self) -> Actor:
        if self.kind == "user":
            return Actor("user", f"{self.id}:{self.name}")
        if self.kind == "token":
            return Actor("token", f"{self.id}:{self.name}")
        return Actor("token", "bootstrap-admin")
