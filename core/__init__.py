"""Ajanda core: what plugin authors import.

from core import PluginMeta, hookimpl, Vetoed
"""

from core.access.permissions import PUBLIC, Permission, Role, requires
from core.audit.records import Actor, AuditRecord
from core.bookings.snapshot import BookingSnapshot
from core.customers.snapshot import CustomerSnapshot
from core.errors import AjandaError, Conflict, FieldError, NotFound, PluginError, Vetoed
from core.hookspecs import hookimpl
from core.plugins import PluginMeta

__all__ = [
    "PUBLIC",
    "Actor",
    "AjandaError",
    "AuditRecord",
    "BookingSnapshot",
    "Conflict",
    "CustomerSnapshot",
    "FieldError",
    "NotFound",
    "Permission",
    "PluginError",
    "PluginMeta",
    "Role",
    "Vetoed",
    "hookimpl",
    "requires",
]
