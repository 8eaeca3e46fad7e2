"""The calendar invite (.ics) attached to a confirmation e-mail, built with icalendar.

Attached as a plain `.ics` file (`text/calendar` without `method=REQUEST` in the part's type: apprise
drops a send with that part, see pitfalls.md); mail clients still offer "add to calendar". The UID is
stable per booking, so a later invite for the same booking updates the entry instead of adding one.
"""

from __future__ import annotations

from datetime import datetime

import icalendar

from core.notifications.channels import Attachment


def booking_invite(
    *,
    booking_id: int,
    start: datetime,
    end: datetime,
    summary: str,
    location: str,
    description: str,
    organizer_name: str,
    host: str,
    sequence: int = 0,
    stamp: datetime,
) -> Attachment:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Ajanda//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", f"booking-{booking_id}@{host}")
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", summary)
    if location:
        event.add("location", location)
    if description:
        event.add("description", description)
    event.add("sequence", sequence)
    event.add("status", "CONFIRMED")
    organizer = icalendar.vCalAddress(f"mailto:noreply@{host}")
    organizer.params["cn"] = icalendar.vText(organizer_name)
    event["organizer"] = organizer
    calendar.add_component(event)
    return Attachment("randevu.ics", "text/calendar", calendar.to_ical())
