"""Commands: the only way a person (through the dashboard, API or CLI) changes what the engine does.

Commands are put on the runner's thread-safe queue and applied by the engine thread at the start of
its next cycle; each applied command becomes an audited ``CommandApplied`` event naming the actor
and the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


class CommandRefused(RuntimeError):
    """The engine behind this view cannot take commands (for example a read-only follower)."""


@dataclass(frozen=True, slots=True)
class Command:
    actor: str
    reason: str

    @property
    def name(self) -> str:
        return type(self).__name__

    def details(self) -> dict[str, object]:
        return {}


@dataclass(frozen=True, slots=True)
class Pause(Command):
    pass


@dataclass(frozen=True, slots=True)
class Resume(Command):
    pass


MAX_SPEED_DAYS_PER_SECOND = 1000.0


@dataclass(frozen=True, slots=True)
class SetSpeed(Command):
    """Replay speed in trading days per second of wall time."""

    days_per_second: float = 1.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.days_per_second) or not (
            0 < self.days_per_second <= MAX_SPEED_DAYS_PER_SECOND
        ):
            raise ValueError(
                f"SetSpeed.days_per_second: {self.days_per_second} must be in "
                f"(0, {MAX_SPEED_DAYS_PER_SECOND:g}] trading days per second"
            )

    def details(self) -> dict[str, object]:
        return {"days_per_second": self.days_per_second}
