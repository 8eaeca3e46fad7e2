"""Every Piccolo table the core owns, bound to the app's engine at start-up."""

from core.access.tables import Account, AccountSession, ApiToken
from core.audit.tables import AuditEntry
from core.bookings.tables import Booking, BookingChange, Occupancy
from core.customers.tables import Customer, CustomerConsent, CustomerReview
from core.feedback.tables import BookingFeedback
from core.notifications.tables import Message, MessageAttempt, MessageTemplate
from core.outbox.tables import Job, WorkerHeartbeat
from core.scheduling.tables import (
    Closure,
    Location,
    Resource,
    Service,
    ServiceLocation,
    ServiceResource,
    Staff,
    StaffException,
    StaffLocation,
    WorkingHours,
)

CORE_TABLES: tuple[type, ...] = (
    AuditEntry,
    Job,
    WorkerHeartbeat,
    Location,
    Staff,
    StaffLocation,
    Resource,
    Service,
    ServiceLocation,
    ServiceResource,
    WorkingHours,
    StaffException,
    Closure,
    Customer,
    CustomerConsent,
    CustomerReview,
    Booking,
    BookingChange,
    Occupancy,
    Account,
    AccountSession,
    ApiToken,
    Message,
    MessageAttempt,
    MessageTemplate,
    BookingFeedback,
)
