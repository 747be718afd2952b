"""``Pacing``: the engine's replay clock. It holds the run status, the replay speed, a jump's
target date and a pending step, which the clock commands (``Pause``, ``Resume``, ``SetSpeed``,
``Step``, ``JumpTo``, ``RestartFrom``) set and the runner's thread follows.

Every handler checks its command against the clock as it is now and raises ``ValueError``
naming the field and the reason when it makes no sense (nothing is recorded then).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from engine.commands import JumpTo, Pause, RestartFrom, Resume, SetSpeed, Step
from engine.snapshot import EngineStatus


@dataclass(frozen=True, slots=True)
class ReplayCalendar:
    """The trading days the market data can replay: ``dates`` from the first day that has a
    full warm-up window before it to the last day of the data (or of the configured end)."""

    dates: tuple[date, ...]

    def __post_init__(self) -> None:
        if not self.dates:
            raise ValueError("ReplayCalendar.dates: no trading day to replay")

    @property
    def first_date(self) -> date:
        return self.dates[0]

    @property
    def last_date(self) -> date:
        return self.dates[-1]

    def first_on_or_after(self, day: date) -> date | None:
        """The first trading day on or after ``day``; None past the last one."""
        k = bisect.bisect_left(self.dates, day)
        return self.dates[k] if k < len(self.dates) else None

    @classmethod
    def of(cls, dates: Sequence[date]) -> ReplayCalendar:
        return cls(tuple(dates))


class Pacing:
    def __init__(
        self,
        status: EngineStatus = EngineStatus.STARTING,
        speed_days_per_second: float = 1.0,
        calendar: ReplayCalendar | None = None,
        market_date: Callable[[], date | None] = lambda: None,
    ) -> None:
        self.status = status
        self.speed_days_per_second = speed_days_per_second
        # None: the feed's days are not known ahead (a simulated market).
        self.calendar = calendar
        self._market_date = market_date
        # A jump in progress: cycles run at full speed until the market date reaches it.
        self.run_until: date | None = None
        # Cycles to run while paused (a Step).
        self.steps_due = 0

    def pause(self, command: Pause) -> dict[str, object]:
        if self.status is not EngineStatus.FINISHED:
            self.status = EngineStatus.PAUSED
        # A pause ends a jump where it is.
        self.run_until = None
        return self.answer()

    def resume(self, command: Resume) -> dict[str, object]:
        if self.status is EngineStatus.PAUSED:
            self.status = EngineStatus.RUNNING
        # A step not yet run is part of running now; it must not run once more after a pause.
        self.steps_due = 0
        return self.answer()

    def set_speed(self, command: SetSpeed) -> dict[str, object]:
        self.speed_days_per_second = command.days_per_second
        return self.answer()

    def step(self, command: Step) -> dict[str, object]:
        if self.status is EngineStatus.FINISHED:
            raise ValueError("Step: the replay has reached the last day of the market data")
        if self.status is not EngineStatus.PAUSED:
            raise ValueError(
                f"Step: the clock is {self.status.value}; pause it first, then step one day"
            )
        if self.steps_due:
            raise ValueError("Step: the previous step has not run yet")
        self.steps_due = 1
        return self.answer()

    def jump(self, command: JumpTo) -> dict[str, object]:
        target = command.market_date
        assert target is not None  # checked by the command
        current = self._market_date()
        if current is not None and target <= current:
            raise ValueError(
                f"JumpTo.market_date: {target} is not after the market date {current}; "
                "to go back, restart from that date"
            )
        calendar = self.calendar
        if calendar is not None and target > calendar.last_date:
            raise ValueError(
                f"JumpTo.market_date: {target} is after the market data ends ({calendar.last_date})"
            )
        if calendar is not None and target < calendar.first_date:
            raise ValueError(
                f"JumpTo.market_date: {target} is before the market data starts "
                f"({calendar.first_date})"
            )
        if self.status is EngineStatus.FINISHED:
            raise ValueError("JumpTo.market_date: the replay has reached the end of the data")
        self.run_until = target
        self.status = EngineStatus.RUNNING
        self.steps_due = 0
        return self.answer()

    def restart_day(self, command: RestartFrom) -> date:
        """The first trading day the replay restarts on; refuses a date outside the data."""
        wanted = command.market_date
        assert wanted is not None  # checked by the command
        calendar = self.calendar
        if calendar is None:
            raise ValueError(
                "RestartFrom.market_date: the simulated market can only be replayed from its "
                "first day (start again with a new database)"
            )
        if wanted < calendar.first_date:
            raise ValueError(
                f"RestartFrom.market_date: {wanted} is before the market data starts "
                f"(the first day with a full price window is {calendar.first_date})"
            )
        first = calendar.first_on_or_after(wanted)
        if first is None:
            raise ValueError(
                f"RestartFrom.market_date: {wanted} is after the market data ends "
                f"({calendar.last_date})"
            )
        return first

    def after_cycle(self, market_date: date) -> None:
        """A cycle ran: a jump that reached its date pauses the clock; a step is used up."""
        if self.run_until is not None and market_date >= self.run_until:
            self.run_until = None
            self.status = EngineStatus.PAUSED
        if self.steps_due and self.status is EngineStatus.PAUSED:
            self.steps_due -= 1

    def answer(self) -> dict[str, object]:
        """What the clock does now: the reply to a clock command."""
        current = self._market_date()
        return {
            "status": self.status.value,
            "speed_days_per_second": self.speed_days_per_second,
            "market_date": current.isoformat() if current else None,
            "run_until": self.run_until.isoformat() if self.run_until else None,
        }
