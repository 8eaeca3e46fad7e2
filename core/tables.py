"""Every Piccolo table the core owns, bound to the app's engine at start-up."""

from core.audit.tables import AuditEntry
from core.outbox.tables import Job, WorkerHeartbeat

CORE_TABLES: tuple[type, ...] = (AuditEntry, Job, WorkerHeartbeat)
