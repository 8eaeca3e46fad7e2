"""The permission matrix: every route declares one permission (or `public`), every role holds a set.

Kept as data in one place so `docs/access.md` and the route x role test read the same table that
the guard enforces. Staff additionally see only their own calendar and the customers they served
(row scoping in the handlers, from `Principal.scoped_staff`).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    RECEPTIONIST = "receptionist"
    STAFF = "staff"


class Permission(StrEnum):
    BOOKINGS_READ = "bookings.read"
    BOOKINGS_WRITE = "bookings.write"
    CUSTOMERS_READ = "customers.read"
    CUSTOMERS_WRITE = "customers.write"
    CUSTOMERS_MERGE = "customers.merge"
    CUSTOMERS_IMPORT = "customers.import"
    CUSTOMERS_EXPORT = "customers.export"
    SCHEDULING_READ = "scheduling.read"
    SCHEDULING_MANAGE = "scheduling.manage"
    AUDIT_READ = "audit.read"
    JOBS_MANAGE = "jobs.manage"
    MESSAGES_READ = "messages.read"  # the message log
    MESSAGES_SEND = "messages.send"  # resend
    MESSAGES_TEMPLATES = "messages.templates"  # edit what messages say
    PLUGINS_READ = "plugins.read"
    PLUGINS_MANAGE = "plugins.manage"  # change a plugin's settings in the config file
    USERS_MANAGE = "users.manage"
    ACCOUNT_SELF = "account.self"  # one's own password, second factor, sessions


_EVERYONE = {
    Permission.BOOKINGS_READ,
    Permission.CUSTOMERS_READ,
    Permission.SCHEDULING_READ,
    Permission.ACCOUNT_SELF,
}
_FRONT_DESK = _EVERYONE | {
    Permission.BOOKINGS_WRITE,
    Permission.CUSTOMERS_WRITE,
    Permission.MESSAGES_READ,
    Permission.MESSAGES_SEND,
}
_MANAGER = _FRONT_DESK | {
    Permission.CUSTOMERS_MERGE,
    Permission.CUSTOMERS_IMPORT,
    Permission.SCHEDULING_MANAGE,
    Permission.AUDIT_READ,
    Permission.JOBS_MANAGE,
    Permission.PLUGINS_READ,
    Permission.MESSAGES_TEMPLATES,
}

MATRIX: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.MANAGER: frozenset(_MANAGER),
    Role.RECEPTIONIST: frozenset(_FRONT_DESK),
    Role.STAFF: frozenset(_EVERYONE),
}


def allows(role: Role, permission: Permission) -> bool:
    return permission in MATRIX[role]


def requires(permission: Permission) -> dict[str, Permission]:
    """A handler's `opt`: `@get("/", opt=requires(Permission.CUSTOMERS_READ))`."""
    return {"permission": permission}


PUBLIC: dict[str, bool] = {"public": True}
