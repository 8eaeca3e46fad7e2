"""Bookings, their change history, and the occupancy rows that make overlaps impossible.

An active booking (pending with a live hold, or confirmed; completed and no-show keep theirs too) owns
one occupancy row per thing it occupies: its staff member (unit 0) and one unit of each required
resource. The database refuses two overlapping rows for the same owner and unit: an exclusion
constraint on PostgreSQL, a trigger inside the IMMEDIATE write transaction on SQLite. The application
checks availability first for a friendly answer, but the guarantee is the database's.
"""

from decimal import Decimal

from piccolo.columns import ForeignKey, Integer, Numeric, Text, Timestamptz, Varchar
from piccolo.table import Table

from core.customers.tables import Customer
from core.scheduling.tables import Location, Service, Staff


class Booking(Table, tablename="booking"):
    location = ForeignKey(Location)
    service = ForeignKey(Service)
    staff = ForeignKey(Staff, null=True, default=None)
    customer = ForeignKey(Customer, null=True, default=None)
    # Bookings made together: the services of one visit, or the occurrences of one series.
    visit_key = Varchar(length=40, null=True, default=None)
    series_key = Varchar(length=40, null=True, default=None)
    status = Varchar(length=10)  # pending | confirmed | completed | no_show | cancelled
    start_at = Timestamptz()
    end_at = Timestamptz()
    hold_expires_at = Timestamptz(null=True, default=None)
    source = Varchar(length=10, default="api")  # web | staff | api
    price = Numeric(digits=(12, 2), default=Decimal(0))
    currency = Varchar(length=3, default="TRY")
    deposit_due = Numeric(digits=(12, 2), default=Decimal(0))
    notes_enc = Text(null=True, default=None)
    cancel_reason = Text(null=True, default=None)
    cancelled_at = Timestamptz(null=True, default=None)
    cancelled_by = Varchar(length=120, null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class BookingChange(Table, tablename="booking_change"):
    """Every reschedule and status change of a booking, oldest first."""

    booking = ForeignKey(Booking)
    at = Timestamptz()
    actor = Varchar(length=120)
    action = Varchar(length=20)
    old_start = Timestamptz(null=True, default=None)
    old_end = Timestamptz(null=True, default=None)
    old_staff = Integer(null=True, default=None)
    new_start = Timestamptz(null=True, default=None)
    new_end = Timestamptz(null=True, default=None)
    new_staff = Integer(null=True, default=None)


class Occupancy(Table, tablename="occupancy"):
    booking = ForeignKey(Booking)
    owner_kind = Varchar(length=10)  # staff | resource | seat (one seat unit of a group session)
    owner_id = Integer()
    unit = Integer(default=0)
    starts_at = Timestamptz()
    ends_at = Timestamptz()
