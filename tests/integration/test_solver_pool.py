"""The allocation's solver pool (``[allocation] workers``): the same event log with 1, 2 or 4
solver processes, and a worker that dies or hangs costs an alert, never a different result."""

from __future__ import annotations

import os
import signal
from datetime import date
from pathlib import Path

import pytest

from engine.assembly import EngineParts, build_engine
from engine.config import AppConfig, load_config
from engine.replay import run_replay
from tests.golden.digest import replay_digest, stable_payload

pytestmark = pytest.mark.slow

# About four months of the bundled history: every portfolio rebalances several times, the
# mean-variance and minimum-variance ones through PIQP.
START, END = date(2008, 6, 2), date(2008, 9, 30)


def _config(workers: int, timeout_s: float = 10.0) -> AppConfig:
    config = load_config()
    allocation = config.allocation.model_copy(
        update={"workers": workers, "worker_timeout_s": timeout_s}
    )
    return config.model_copy(update={"allocation": allocation})


def _engine(tmp_path: Path, workers: int, timeout_s: float = 10.0) -> EngineParts:
    return build_engine(
        _config(workers, timeout_s), f"sqlite:///{tmp_path / 'events.db'}", START, END
    )


def _replay(out_dir: Path, workers: int) -> tuple[dict[str, object], int]:
    """The replay's golden digest, and how many problems the pool's workers answered."""
    parts = _engine(out_dir, workers)
    try:
        run_replay(parts, out_dir)
        pool = parts.coordinator.allocation.solver_pool
        answered = pool.solved_by_workers if pool is not None else 0
    finally:
        parts.coordinator.close()
        parts.bus.close()
        parts.store.close()
    return replay_digest(out_dir), answered


def _recorded(parts: EngineParts, event_type: str) -> list[dict[str, object]]:
    events = reversed(parts.store.query(event_type=event_type, limit=10_000))
    return [stable_payload(event_type, e.payload) for e in events]


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    digest, answered = _replay(tmp_path_factory.mktemp("workers-1"), 1)
    assert answered == 0
    return digest


@pytest.mark.parametrize("workers", [2, 4])
def test_the_event_log_is_byte_identical_whatever_the_number_of_solver_workers(
    tmp_path: Path, in_process: dict[str, object], workers: int
) -> None:
    digest, answered = _replay(tmp_path, workers)
    assert answered > 0, "the workers solved nothing: the pool was not used"
    assert digest == in_process


def _run_with_a_broken_worker(tmp_path: Path, breaking: signal.Signals) -> EngineParts:
    """Two workers with a five-second timeout (a healthy worker answers these 20-name problems in
    milliseconds); worker 0 gets ``breaking`` after ten cycles."""
    parts = _engine(tmp_path, 2, timeout_s=5.0)
    pool = parts.coordinator.allocation.solver_pool
    assert pool is not None
    ticks = iter(parts.feed)
    for tick in [next(ticks) for _ in range(10)]:
        assert parts.coordinator.run_cycle(tick).error is None
    victim = pool.worker_pids[0]
    assert victim is not None
    os.kill(victim, breaking)
    for tick in ticks:
        assert parts.coordinator.run_cycle(tick).error is None
    assert pool.worker_pids[0] is None and pool.worker_pids[1] is not None
    return parts


@pytest.mark.parametrize(
    ("breaking", "reason"),
    [(signal.SIGKILL, "exited"), (signal.SIGSTOP, "gave no answer in time")],
)
def test_a_dead_or_hung_worker_is_recorded_and_the_targets_do_not_change(
    tmp_path: Path, breaking: signal.Signals, reason: str
) -> None:
    reference = _engine(tmp_path / "reference", 1)
    for tick in reference.feed:
        reference.coordinator.run_cycle(tick)
    parts = _run_with_a_broken_worker(tmp_path, breaking)
    try:
        losses = _recorded(parts, "SolverWorkerLost")
        assert len(losses) == 1
        assert losses[0]["worker"] == 0
        assert reason in str(losses[0]["reason"])
        # Worker 0 has the first, third and fifth mandates: 6 portfolios, 2 workers.
        mandates = [m.portfolio_id for m in parts.coordinator.mandates]
        assert losses[0]["portfolios"] == mandates[0::2]
        for kind in ("TargetWeightsSet", "OrderFilled", "CycleCompleted"):
            assert _recorded(parts, kind) == _recorded(reference, kind), kind
    finally:
        for engine in (parts, reference):
            engine.coordinator.close()
            engine.bus.close()
            engine.store.close()
