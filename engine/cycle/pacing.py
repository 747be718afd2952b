"""``Pacing``: the engine's run status and replay speed, which the control commands (``Pause``,
``Resume``, ``SetSpeed``) set and the runner's thread follows."""

from __future__ import annotations

from engine.commands import Pause, Resume, SetSpeed
from engine.snapshot import EngineStatus


class Pacing:
    def __init__(
        self, status: EngineStatus = EngineStatus.STARTING, speed_days_per_second: float = 1.0
    ) -> None:
        self.status = status
        self.speed_days_per_second = speed_days_per_second

    def pause(self, command: Pause) -> None:
        if self.status is not EngineStatus.FINISHED:
            self.status = EngineStatus.PAUSED

    def resume(self, command: Resume) -> None:
        if self.status is EngineStatus.PAUSED:
            self.status = EngineStatus.RUNNING

    def set_speed(self, command: SetSpeed) -> None:
        self.speed_days_per_second = command.days_per_second
