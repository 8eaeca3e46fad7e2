"""What a job handler can know about its own run, and ask of the worker besides success or failure."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RunningJob:
    id: int
    kind: str
    attempt: int  # 1 for the first try
    max_attempts: int

    @property
    def last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts


# Set by the worker while a handler runs (None outside a job).
current_job: ContextVar[RunningJob | None] = ContextVar("ajanda_current_job", default=None)


class Deferred(Exception):
    """Raised by a handler to run the job again at `until` without counting an attempt
    (e.g. an SMS that falls in quiet hours is shifted to the morning, not dropped)."""

    def __init__(self, until: datetime, why: str) -> None:
        super().__init__(why)
        self.until = until
        self.why = why
