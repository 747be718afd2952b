"""Coordination latency: the whole cycle of the real engine, per stage, at a given scale.

``instruments`` simulated stocks (correlated prices, log-normal volumes) and ``portfolios``
portfolios over the whole universe, each rebalancing every day with a constrained mean-variance
allocation (per-name cap, sector caps, a turnover limit; a 10-factor PCA risk model), half on
momentum and half on mean reversion, every other pair long/short. A binding set of risk limits
(trade_bench.BENCH_LIMITS) is checked by the gate and monitored each close. Each cycle runs every
stage: market, execution (fills, ledger), risk, signals, quality, coordination, allocation,
orders, gate, trades (netting, crossing, scheduling), events (appended to the SQLite store in one
transaction), and snapshot (the immutable view the dashboard reads, built as in live mode).

Reported: p50 / p95 / p99 / max latency of the cycle and of each stage, cycles per second and the
process's peak resident memory. The first ``warmup`` cycles (problem compilation, caches) are
left out.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.assembly import build_engine
from engine.bench.trade_bench import bench_config as trade_bench_config
from engine.config import parse_config
from engine.coordinator import STAGES
from engine.performance.latency import (
    LARGE_UNIVERSE_INSTRUMENTS,
    SEED_GATE_P95_MS,
    TARGET_INSTRUMENTS,
    TARGET_P95_LARGE_UNIVERSE_MS,
    TARGET_P95_MS,
    TARGET_P99_MS,
    TARGET_PORTFOLIOS,
    low_latency_gc,
)
from engine.performance.metrics import latency_percentiles
from engine.snapshot import EngineStatus

# Our targets by universe size (the engine at 10 portfolios), from the quality gates.
P95_TARGET_BY_SIZE = {
    TARGET_INSTRUMENTS: TARGET_P95_MS,
    LARGE_UNIVERSE_INSTRUMENTS: TARGET_P95_LARGE_UNIVERSE_MS,
}
P99_TARGET_BY_SIZE = {TARGET_INSTRUMENTS: TARGET_P99_MS}


def peak_rss_mb() -> float:
    """The process's peak resident set size so far (MB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@dataclass(frozen=True, slots=True)
class CycleBenchResult:
    instruments: int
    portfolios: int
    cycles: int
    seconds: float
    cycle: dict[str, float]
    stages: dict[str, dict[str, float]]
    peak_rss_mb: float
    orders: int
    fills: int
    events: int
    errors: list[str] = field(default_factory=list)
    # Events stored by the measured cycles alone (``events`` counts the whole run's).
    measured_events: int = 0
    workers: int = 1  # [allocation] workers: solver processes (1: in the engine's process)

    @property
    def cycles_per_second(self) -> float:
        return self.cycles / self.seconds if self.seconds else 0.0

    @property
    def slowest_stage(self) -> str:
        return max(self.stages, key=lambda name: self.stages[name]["p95_ms"])

    def as_dict(self) -> dict[str, object]:
        """Flat keys: ``cycle.p95_ms``, ``stages.allocation.p95_ms``, ``peak_rss_mb``, ..."""
        out: dict[str, object] = {
            "instruments": self.instruments,
            "portfolios": self.portfolios,
            "cycles": self.cycles,
            "cycles_per_second": round(self.cycles_per_second, 3),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "orders": self.orders,
            "fills": self.fills,
            "events": self.events,
            "measured_events": self.measured_events,
            "slowest_stage": self.slowest_stage,
            "allocation_workers": self.workers,
        }
        out.update({f"cycle.{k}": round(v, 3) for k, v in self.cycle.items()})
        for name, figures in self.stages.items():
            out.update({f"stages.{name}.{k}": round(v, 3) for k, v in figures.items()})
        return out

    def format(self) -> str:
        lines = [
            f"coordination cycle, {self.instruments} instruments x {self.portfolios} portfolios, "
            f"{self.cycles} cycles (real engine, SQLite event store, snapshot built each cycle)"
            + (f", {self.workers} solver workers" if self.workers > 1 else ""),
            f"  cycle  p50 {self.cycle['p50_ms']:8.1f} ms  p95 {self.cycle['p95_ms']:8.1f} ms  "
            f"p99 {self.cycle['p99_ms']:8.1f} ms  max {self.cycle['max_ms']:8.1f} ms  "
            f"{self.cycles_per_second:.2f} cycles/s",
        ]
        for name, figures in self.stages.items():
            lines.append(
                f"  {name:<13}p50 {figures['p50_ms']:8.1f}   p95 {figures['p95_ms']:8.1f}   "
                f"p99 {figures['p99_ms']:8.1f}   max {figures['max_ms']:8.1f}"
            )
        lines.append(
            f"  peak memory {self.peak_rss_mb:.0f} MB; {self.orders:,} orders, {self.fills:,} "
            f"fills, {self.events:,} events; slowest stage (p95): {self.slowest_stage}"
        )
        target = P95_TARGET_BY_SIZE.get(self.instruments)
        verdict = f"  seed gate p95 <= {SEED_GATE_P95_MS:.0f} ms: " + (
            "met" if self.cycle["p95_ms"] <= SEED_GATE_P95_MS else "NOT met"
        )
        if target is not None and self.portfolios == TARGET_PORTFOLIOS:
            verdict += f"; our target p95 <= {target:.0f} ms: " + (
                "met" if self.cycle["p95_ms"] <= target else "NOT met"
            )
        lines.append(verdict)
        return "\n".join(lines)


# Every portfolio: constrained mean-variance on a factor risk model.
MEAN_VARIANCE = (
    'model = "mean_variance"\nrisk_model = "pca"\npca_factors = 10\nlookback_days = 60\n'
    "risk_aversion = 5.0\nmax_turnover = 0.5\n"
    'sector_caps = { "Information Technology" = 0.15, "Financials" = 0.15 }\n'
)


def bench_config(instruments: int, portfolios: int, days: int) -> str:
    return trade_bench_config(instruments, portfolios, days, MEAN_VARIANCE)


def default_workers(portfolios: int) -> int:
    """One solver process per core, at most one per portfolio. The benchmark's books are large
    (hundreds of names, a solve of several ms), where a second core halves the solves; the
    product's default config keeps 1 (20 names: a solve costs less than the hop to a worker)."""
    return max(1, min(os.cpu_count() or 1, portfolios))


def run_cycle_bench(
    instruments: int = 500,
    portfolios: int = 10,
    cycles: int = 50,
    warmup: int = 5,
    on_cycle: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> CycleBenchResult:
    """``workers``: the allocation's solver processes (``[allocation] workers``); by default
    ``default_workers(portfolios)``."""
    workers = default_workers(portfolios) if workers is None else workers
    config = parse_config(bench_config(instruments, portfolios, cycles + warmup + 2), "bench")
    config = config.model_copy(
        update={"allocation": config.allocation.model_copy(update={"workers": workers})}
    )
    with tempfile.TemporaryDirectory(prefix="pcoord-bench-") as scratch:
        parts = build_engine(config, f"sqlite:///{scratch}/bench.db")
        coordinator = parts.coordinator
        coordinator.start({"mode": "bench"})
        # As `pcoord serve` and `pcoord replay` run the engine.
        with low_latency_gc():
            totals: list[float] = []
            stages: dict[str, list[float]] = {name: [] for name in STAGES}
            orders = fills = 0
            errors: list[str] = []
            started = None
            seq_at_start = 0
            for k, tick in enumerate(coordinator.resume(parts.feed)):
                if k == warmup:
                    started = time.perf_counter()
                    seq_at_start = parts.store.last_seq()
                report = coordinator.run_cycle(tick)
                t0 = time.perf_counter()
                coordinator.build_snapshot(EngineStatus.RUNNING, 0.0)
                coordinator.views.record_snapshot_time((time.perf_counter() - t0) * 1000.0)
                report = coordinator.views.recent_cycles[-1]
                if report.error:
                    errors.append(f"cycle {report.cycle}: {report.error}")
                if k >= warmup:
                    totals.append(report.total_ms)
                    orders += report.orders
                    fills += report.fills
                    for name in STAGES:
                        stages[name].append(report.stage_ms.get(name, 0.0))
                if on_cycle is not None:
                    on_cycle(k + 1)
                if len(totals) >= cycles:
                    break
        seconds = time.perf_counter() - started if started is not None else 0.0
        events = parts.store.last_seq()
        coordinator.close()
        parts.store.close()
    if errors:
        raise RuntimeError("bench: cycles failed: " + "; ".join(errors[:3]))
    return CycleBenchResult(
        instruments,
        portfolios,
        len(totals),
        seconds,
        latency_percentiles(totals),
        {name: latency_percentiles(values) for name, values in stages.items()},
        peak_rss_mb(),
        orders,
        fills,
        events,
        measured_events=events - seq_at_start,
        workers=workers,
    )
