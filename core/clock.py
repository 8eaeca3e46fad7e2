"""The instance's clock: what time it is for time-driven work (due jobs, reminders, quiet hours).

Everything that decides "is it time yet" asks `context.clock.now()` instead of the system clock, so a
test (or a support engineer replaying a day) can set the time and let the worker deliver exactly what
would have gone out then. In production it is the system clock in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """The system clock, optionally shifted or frozen."""

    def __init__(self) -> None:
        self._frozen: datetime | None = None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        if self._frozen is not None:
            return self._frozen
        return datetime.now(UTC) + self._offset

    def set(self, when: datetime) -> None:
        """Stop the clock at `when` (aware); it stays there until moved again."""
        if when.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        self._frozen = when.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        if self._frozen is not None:
            self._frozen += delta
        else:
            self._offset += delta

    def release(self) -> None:
        """Back to the system clock."""
        self._frozen, self._offset = None, timedelta(0)
