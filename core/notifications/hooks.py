"""The core's own hook implementations for messages, registered like any plugin's (essential tier)."""

from __future__ import annotations

from core.hookspecs import JobHandler, hookimpl
from core.notifications.planner import SEND_JOB
from core.notifications.sender import run_send_job


@hookimpl
def register_job_handlers() -> dict[str, JobHandler]:
    return {SEND_JOB: run_send_job}
