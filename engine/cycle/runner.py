"""``CoordinatorRunner``: the background thread that runs the coordinator's cycles, paced by the
replay clock (engine/cycle/pacing.py).

- Running: one cycle per ``1 / speed`` seconds of wall time.
- Jumping (``JumpTo``): cycles at full speed until the market date reaches the target, then
  paused; every day in between is a real cycle, so the state is the replay's.
- Paused: no cycle, except one per ``Step``.
- ``RestartFrom``: the coordinator records ``ReplayRestarted``; the runner then builds a fresh
  coordinator (new stages, the state recovered from the store, which the restart reset) and
  the ticks from the restart day, through the ``rebuild`` it was given. A crash between the two
  loses nothing: start-up recovers the same restarted state and feed.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from engine.commands import Command, CommandRefused, Pause, RestartFrom
from engine.cycle.context import ENGINE_ACTOR
from engine.cycle.pacing import ReplayCalendar
from engine.model import MarketTick
from engine.snapshot import EngineStatus, StateSnapshot

if TYPE_CHECKING:
    from engine.coordinator import Coordinator

log = logging.getLogger(__name__)

# A fresh coordinator on the same store and the ticks it still has to run.
Rebuild = Callable[[], "tuple[Coordinator, Iterable[MarketTick]]"]


class CoordinatorRunner:
    """Runs the coordinator's cycles in one background thread, paced at a replay speed.

    Readers call ``snapshot()`` (the latest immutable picture, no lock) and ``submit()`` commands;
    the engine thread applies commands between cycles. A failing cycle is recorded by the
    coordinator and the runner goes on; nothing here can block the web server.
    """

    def __init__(
        self,
        coordinator: Coordinator,
        ticks: Iterable[MarketTick],
        speed_days_per_second: float,
        start_paused: bool = False,
        rebuild: Rebuild | None = None,
    ) -> None:
        self.coordinator = coordinator
        self._ticks = iter(ticks)
        self._rebuild = rebuild
        self.pacing = coordinator.pacing
        self.pacing.speed_days_per_second = speed_days_per_second
        self.pacing.status = EngineStatus.PAUSED if start_paused else EngineStatus.STARTING
        self._commands: queue.Queue[Command] = queue.Queue()
        self._stop = threading.Event()
        self._published = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="coordinator", daemon=True)
        self._next_due = 0.0
        self._version = 0
        self._snapshot = coordinator.build_snapshot(
            self.pacing.status, self.pacing.speed_days_per_second
        )

    @property
    def status(self) -> EngineStatus:
        return self.pacing.status

    @property
    def calendar(self) -> ReplayCalendar | None:
        """The days the replay can restart from or jump to (None: not known ahead)."""
        return self.pacing.calendar

    @property
    def can_restart(self) -> bool:
        """Whether ``RestartFrom`` is possible (a rebuild was given and the feed has dates)."""
        return self._rebuild is not None and self.pacing.calendar is not None

    def snapshot(self) -> StateSnapshot:
        return self._snapshot

    def submit(self, command: Command) -> None:
        self._commands.put(command)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._commands.put(Pause(ENGINE_ACTOR, "stopping"))  # wakes the thread if it waits
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        if not self._thread.is_alive():  # a cycle still running keeps its solver workers
            self.coordinator.close()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def wait_for_cycles(self, n: int, timeout_s: float) -> bool:
        """Block until at least ``n`` cycles have completed; False on timeout."""
        return self.wait_for(lambda s: s.cycles_completed >= n, timeout_s)

    def wait_for(self, condition: Callable[[StateSnapshot], bool], timeout_s: float) -> bool:
        """Block until a published snapshot meets ``condition``; False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._published:
            while not condition(self._snapshot):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._published.wait(remaining)
        return True

    def _apply(self, command: Command) -> None:
        if self._stop.is_set():
            if hasattr(command, "reply"):
                command.reply.set_exception(CommandRefused("the engine is stopping"))
            return
        if isinstance(command, RestartFrom) and self._rebuild is None:
            command.reply.set_exception(
                CommandRefused("this engine cannot restart its replay (no market feed to rebuild)")
            )
            return
        answer = self.coordinator.handle(command)
        try:
            if self.coordinator.restart_requested is not None:
                self._restart()
            self._publish()
        finally:
            if answer is not None:
                answer()

    def _restart(self) -> None:
        """The restart is recorded: carry on with a fresh coordinator from the restart day."""
        assert self._rebuild is not None
        old = self.pacing
        coordinator, ticks = self._rebuild()
        self.coordinator.close()
        coordinator.pacing.speed_days_per_second = old.speed_days_per_second
        # A finished replay runs again; a paused one stays paused on the restart day.
        coordinator.pacing.status = (
            EngineStatus.PAUSED if old.status is EngineStatus.PAUSED else EngineStatus.RUNNING
        )
        self.coordinator = coordinator
        self.pacing = coordinator.pacing
        self._ticks = iter(ticks)
        self._next_due = time.monotonic()

    def _wait(self, timeout_s: float) -> None:
        """Sleep up to ``timeout_s``, waking at once to apply a command."""
        try:
            self._apply(self._commands.get(timeout=max(timeout_s, 0.0)))
        except queue.Empty:
            return

    def _publish(self) -> None:
        # Only the engine thread publishes, so the counter needs no lock of its own.
        self._version += 1
        snapshot = self.coordinator.build_snapshot(
            self.pacing.status, self.pacing.speed_days_per_second, self._version
        )
        with self._published:
            self._snapshot = snapshot
            self._published.notify_all()

    def _run(self) -> None:
        if self.pacing.status is EngineStatus.STARTING:
            self.pacing.status = EngineStatus.RUNNING
        self._publish()
        self._next_due = time.monotonic()
        while not self._stop.is_set():
            try:
                self._step()
            except Exception as exc:
                # run_cycle records its own failures; this guards the loop itself (a snapshot
                # or a store outage) so that the engine thread never dies.
                self.coordinator.last_error = f"engine loop: {type(exc).__name__}: {exc}"
                log.exception("engine loop step failed; going on")
                self._wait(0.5)
        if self.pacing.status is not EngineStatus.FINISHED:
            self.pacing.status = EngineStatus.STOPPED
        self._publish()

    def _step(self) -> None:
        while not self._commands.empty():
            self._apply(self._commands.get_nowait())
        if self.coordinator.restart_requested is not None:
            # Recorded, but the rebuild failed last time (the loop logged why): try again
            # before any cycle runs on stages that still hold the old replay.
            self._restart()
            self._publish()
        pacing = self.pacing
        stepping = pacing.status is EngineStatus.PAUSED and pacing.steps_due > 0
        if pacing.status is not EngineStatus.RUNNING and not stepping:
            self._wait(0.5)
            return
        # A jump and a step run at once; a plain run keeps to the replay speed.
        if pacing.run_until is None and not stepping:
            now = time.monotonic()
            if now < self._next_due:
                self._wait(self._next_due - now)
                return
        tick = next(self._ticks, None)
        if tick is None:
            pacing.status = EngineStatus.FINISHED
            pacing.run_until, pacing.steps_due = None, 0
            self.coordinator.record_finish()
            self._publish()
            return
        self.coordinator.run_cycle(tick)
        pacing.after_cycle(tick.timestamp)
        t0 = time.perf_counter()
        self._publish()
        self.coordinator.views.record_snapshot_time((time.perf_counter() - t0) * 1000.0)
        self._next_due = max(
            self._next_due + 1.0 / pacing.speed_days_per_second, time.monotonic() - 1.0
        )
