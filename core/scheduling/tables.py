"""What can be booked: locations, staff, resources, services, working hours, exceptions, closures.

Working hours are wall-clock times in the location's IANA zone (they follow DST); exceptions are UTC
instants; closures are whole local days.
"""

from decimal import Decimal

from piccolo.columns import Boolean, Date, ForeignKey, Integer, Numeric, Text, Timestamptz, Varchar
from piccolo.table import Table


class Location(Table, tablename="location"):
    name = Varchar(length=200)
    address = Text(default="")
    timezone = Varchar(length=64)
    active = Boolean(default=True)


class Staff(Table, tablename="staff"):
    name = Varchar(length=200)
    # JSON list of skill names, e.g. ["haircut", "colour"].
    skills = Text(default="[]")
    colour = Varchar(length=7, default="#4f46e5")
    active = Boolean(default=True)


class StaffLocation(Table, tablename="staff_location"):
    staff = ForeignKey(Staff)
    location = ForeignKey(Location)


class Resource(Table, tablename="resource"):
    location = ForeignKey(Location)
    name = Varchar(length=200)
    kind = Varchar(length=20, default="room")  # room | equipment
    capacity = Integer(default=1)
    active = Boolean(default=True)


class Service(Table, tablename="service"):
    name = Varchar(length=200)
    category = Varchar(length=100, default="")
    description = Text(default="")
    duration_min = Integer()
    buffer_before_min = Integer(default=0)
    buffer_after_min = Integer(default=0)
    prep_min = Integer(default=0)
    cleanup_min = Integer(default=0)
    price = Numeric(digits=(12, 2), default=Decimal(0))
    currency = Varchar(length=3, default="TRY")
    deposit_kind = Varchar(length=10, default="none")  # none | fixed | percent
    deposit_value = Numeric(digits=(12, 2), default=Decimal(0))
    required_skill = Varchar(length=100, null=True, default=None)
    min_notice_min = Integer(default=60)
    max_days_ahead = Integer(default=60)
    slot_step_min = Integer(default=15)
    seats = Integer(default=1)
    recall_days = Integer(null=True, default=None)
    reminder_hours = Text(null=True, default=None)  # JSON list of hours before the start; null: default
    active = Boolean(default=True)


class ServiceLocation(Table, tablename="service_location"):
    service = ForeignKey(Service)
    location = ForeignKey(Location)


class ServiceResource(Table, tablename="service_resource"):
    """The service needs one unit of this resource for its whole duration."""

    service = ForeignKey(Service)
    resource = ForeignKey(Resource)


class WorkingHours(Table, tablename="working_hours"):
    staff = ForeignKey(Staff)
    location = ForeignKey(Location)
    weekday = Integer()  # 0 = Monday
    start_time = Varchar(length=5)  # "09:00", local wall-clock time
    end_time = Varchar(length=5)
    # JSON list of [start, end] local times, e.g. [["12:30", "13:30"]].
    breaks = Text(default="[]")


class StaffException(Table, tablename="staff_exception"):
    """Time off (kind "off") or extra hours (kind "extra") for one staff member, in UTC."""

    staff = ForeignKey(Staff)
    location = ForeignKey(Location, null=True, default=None)
    kind = Varchar(length=10)
    starts_at = Timestamptz()
    ends_at = Timestamptz()
    note = Text(default="")


class Closure(Table, tablename="closure"):
    """A whole local day closed: a public holiday or closure, for one location or (NULL) all."""

    location = ForeignKey(Location, null=True, default=None)
    day = Date()
    name = Varchar(length=200)
