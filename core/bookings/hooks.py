"""The core's own hook implementations for bookings, registered like any plugin's (essential tier)."""

from __future__ import annotations

from core.bookings import waitlist
from core.hookspecs import JobHandler, hookimpl


@hookimpl
def register_job_handlers() -> dict[str, JobHandler]:
    return {waitlist.OFFER_JOB: waitlist.run_offer_job}
