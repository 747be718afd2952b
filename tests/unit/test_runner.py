"""The background runner: live snapshots, commands, and a failing cycle that does not stop it."""

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from engine.assembly import EngineParts, build_engine
from engine.commands import LiftOverride, Pause, Resume, SetOverride, SetSpeed
from engine.coordinator import CoordinatorRunner
from engine.model import SignalBatch
from engine.snapshot import EngineStatus
from tests.support import eventually, simulated_config


@pytest.fixture
def parts(tmp_path: Path) -> EngineParts:
    return build_engine(simulated_config(), f"sqlite:///{tmp_path / 'events.db'}")


@pytest.fixture
def runner(parts: EngineParts) -> Iterator[CoordinatorRunner]:
    runner = CoordinatorRunner(parts.coordinator, parts.feed, speed_days_per_second=100)
    runner.start()
    yield runner
    runner.stop()
    assert not runner.is_alive()


def test_snapshots_advance_while_running(runner: CoordinatorRunner) -> None:
    assert runner.wait_for_cycles(5, timeout_s=20)
    snapshot = runner.snapshot()
    assert snapshot.status is EngineStatus.RUNNING
    assert snapshot.cycles_completed >= 5
    assert {p.portfolio_id for p in snapshot.portfolios} == {"alpha", "beta"}
    assert snapshot.recent_cycles[-1].stage_ms.keys() >= {"signals", "orders", "events"}


def test_pause_stops_cycles_and_resume_restarts_them(
    runner: CoordinatorRunner, parts: EngineParts
) -> None:
    assert runner.wait_for_cycles(2, timeout_s=20)
    runner.submit(Pause("alice", "checking a fill"))
    assert eventually(lambda: runner.snapshot().status is EngineStatus.PAUSED)
    paused_at = runner.snapshot().cycles_completed
    assert not runner.wait_for_cycles(paused_at + 1, timeout_s=0.5)
    runner.submit(Resume("alice", "done"))
    assert runner.wait_for_cycles(paused_at + 3, timeout_s=20)

    audited = [
        (e.actor, e.payload["command"], e.payload["reason"])
        for e in reversed(parts.store.query(event_type="CommandApplied"))
    ]
    assert audited == [("alice", "Pause", "checking a fill"), ("alice", "Resume", "done")]


def test_set_speed_changes_the_pace_and_is_audited(
    runner: CoordinatorRunner, parts: EngineParts
) -> None:
    runner.submit(SetSpeed("bob", "faster", days_per_second=500))
    assert eventually(lambda: runner.snapshot().speed_days_per_second == 500)
    (event,) = parts.store.query(event_type="CommandApplied")
    assert event.payload == {"command": "SetSpeed", "reason": "faster", "days_per_second": 500}


def test_invalid_speed_is_refused_before_it_reaches_the_engine() -> None:
    with pytest.raises(ValueError, match=r"days_per_second: 0 must be in \(0, 1000\]"):
        SetSpeed("bob", "stop", days_per_second=0)


class _FailsOnce:
    """A momentum source that raises on one market day: a bug in a model must not stop trading."""

    def __init__(self, inner, fail_on_call: int) -> None:
        self._inner = inner
        self._calls = 0
        self._fail_on_call = fail_on_call
        self.name = inner.name
        self.required_days = inner.required_days
        self.horizons = inner.horizons

    def generate(self, prices: np.ndarray, timestamp: date) -> tuple[SignalBatch, ...]:
        self._calls += 1
        if self._calls == self._fail_on_call:
            raise FloatingPointError("model blew up")
        return self._inner.generate(prices, timestamp)


def test_a_failing_cycle_is_recorded_and_the_engine_goes_on(parts: EngineParts) -> None:
    coordinator = parts.coordinator
    coordinator.sources["momentum"] = _FailsOnce(coordinator.sources["momentum"], fail_on_call=3)
    runner = CoordinatorRunner(coordinator, parts.feed, speed_days_per_second=500)
    runner.start()
    try:
        assert runner.wait_for_cycles(10, timeout_s=20)
    finally:
        runner.stop()
    snapshot = runner.snapshot()
    assert snapshot.cycle_errors == 1
    assert "FloatingPointError: model blew up" in snapshot.last_error
    (failed,) = parts.store.query(event_type="CycleFailed")
    assert failed.payload["cycle"] == 3
    assert "model blew up" in failed.payload["error"]
    assert snapshot.cycles_completed >= 10


def test_runner_finishes_at_the_end_of_the_feed(tmp_path: Path) -> None:
    parts = build_engine(simulated_config(days=15), f"sqlite:///{tmp_path / 'e.db'}")
    runner = CoordinatorRunner(parts.coordinator, parts.feed, speed_days_per_second=1000)
    runner.start()
    try:
        assert eventually(lambda: runner.snapshot().status is EngineStatus.FINISHED)
    finally:
        runner.stop()
    assert runner.snapshot().cycles_completed == 15
    assert len(parts.store.query(event_type="EngineFinished")) == 1


def test_when_an_override_is_answered_the_published_snapshot_already_shows_it(
    runner: CoordinatorRunner,
) -> None:
    assert runner.wait_for_cycles(2, timeout_s=20)
    runner.submit(Pause("alice", "reviewing"))
    command = SetOverride("alice", "earnings tomorrow", kind="veto", symbol="SIM00003")
    runner.submit(command)
    override = command.reply.result(timeout=10)
    assert runner.snapshot().overrides == (override,)
    lift = LiftOverride("alice", "reported", override_id=override.override_id)
    runner.submit(lift)
    assert lift.reply.result(timeout=10) == override
    assert runner.snapshot().overrides == ()
    refused = LiftOverride("alice", "again", override_id=override.override_id)
    runner.submit(refused)
    with pytest.raises(ValueError, match="is not active"):
        refused.reply.result(timeout=10)


def test_a_reply_names_the_sequence_of_its_event_and_the_snapshot_already_carries_it(
    runner: CoordinatorRunner, parts: EngineParts
) -> None:
    assert runner.wait_for_cycles(2, timeout_s=20)
    runner.submit(Pause("alice", "reviewing"))
    assert eventually(lambda: runner.snapshot().status is EngineStatus.PAUSED)
    version = runner.snapshot().version
    command = SetOverride("alice", "earnings tomorrow", kind="veto", symbol="SIM00003")
    runner.submit(command)
    override = command.reply.result(timeout=10)

    assert command.reply.seq == parts.store.last_seq()
    (applied,) = parts.store.query(event_type="OverrideSet")
    assert applied.seq == command.reply.seq
    assert applied.payload["override_id"] == override.override_id
    snapshot = runner.snapshot()
    assert snapshot.event_seq >= command.reply.seq
    assert snapshot.version > version


def test_a_command_without_an_actor_or_with_one_the_store_cannot_hold_is_refused() -> None:
    with pytest.raises(ValueError, match=r"Pause\.actor: say who"):
        Pause(" ", "no one")
    with pytest.raises(ValueError, match=r"SetOverride\.actor: longer than 128"):
        SetOverride("x" * 129, "why", kind="veto", symbol="SIM00001")
