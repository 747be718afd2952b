"""Signal benchmark: external signals validated and coordinated per second.

A simulated universe of ``instruments`` stocks and ``sources`` external sources, each sending one
signal per instrument per round (a horizon of 1w, 1m or 3m; one in fifty malformed so the reject
path is exercised), to three portfolios subscribed to every source with the three policies
(confidence blend, priority, majority vote). Two measurements:

- ``pipeline``: validation, de-duplication and rate check (``SignalIntake``), the signal book, and
  the three portfolios' coordination, in memory. This is the signal service's own speed.
- ``engine``: the same signals submitted to a real engine (``Coordinator.submit_signals``), which
  also records each as a durable ``SignalReceived`` or ``SignalRejected`` event in the SQL store,
  followed by the engine's next cycle (whose ``coordination`` stage time is reported).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

from engine.commands import SubmitSignals
from engine.config import AppConfig, parse_config
from engine.signals.book import SignalBook
from engine.signals.coordination import (
    ConfidenceBlend,
    MajorityVote,
    PriorityRule,
    SignalCoordinator,
)
from engine.signals.intake import SignalIntake
from engine.signals.validation import ExternalSourceSpec, SignalValidator

HORIZONS = ("1w", "1m", "3m")


@dataclass(frozen=True, slots=True)
class SignalBenchResult:
    instruments: int
    sources: int
    rounds: int
    signals: int
    rejected: int
    pipeline_validate_s: float
    pipeline_coordinate_s: float
    engine_submit_s: float
    engine_coordination_stage_ms_p50: float

    @property
    def pipeline_signals_per_second(self) -> float:
        return self.signals / (self.pipeline_validate_s + self.pipeline_coordinate_s)

    @property
    def engine_signals_per_second(self) -> float:
        return self.signals / self.engine_submit_s

    def as_dict(self) -> dict[str, object]:
        return {
            "instruments": self.instruments,
            "sources": self.sources,
            "rounds": self.rounds,
            "signals": self.signals,
            "rejected": self.rejected,
            "pipeline_validate_s": round(self.pipeline_validate_s, 3),
            "pipeline_coordinate_s": round(self.pipeline_coordinate_s, 3),
            "pipeline_signals_per_second": round(self.pipeline_signals_per_second, 1),
            "engine_submit_s": round(self.engine_submit_s, 3),
            "engine_signals_per_second": round(self.engine_signals_per_second, 1),
            "engine_coordination_stage_ms_p50": round(self.engine_coordination_stage_ms_p50, 3),
        }

    def format(self) -> str:
        return "\n".join(
            [
                f"signal bench: {self.instruments:,} instruments x {self.sources} sources, "
                f"{self.rounds} rounds = {self.signals:,} signals ({self.rejected:,} malformed)",
                f"  pipeline (validate + book + coordinate 3 portfolios, in memory): "
                f"{self.pipeline_signals_per_second:,.0f} signals/s "
                f"(validate {self.pipeline_validate_s:.3f} s, "
                f"coordinate {self.pipeline_coordinate_s:.3f} s)",
                f"  engine (validate + durable SignalReceived/SignalRejected events): "
                f"{self.engine_signals_per_second:,.0f} signals/s; next cycle's coordination "
                f"stage p50 {self.engine_coordination_stage_ms_p50:.2f} ms",
            ]
        )


def bench_config(instruments: int, sources: int) -> AppConfig:
    names = [f"feed{k}" for k in range(sources)]
    externals = "\n".join(
        f"[sources.external.{name}]\nttl_days = 5\nmax_signals_per_minute = 100000000\n"
        for name in names
    )
    subscribed = ", ".join(f'"{name}"' for name in names)
    portfolios = "\n".join(
        f"""[[portfolios]]
id = "{policy.replace("_", "-")}"
name = "{policy}"
sources = [{subscribed}]
rebalance_every_days = 1
[portfolios.coordination]
policy = "{policy}"
"""
        for policy in ("confidence_blend", "priority", "majority_vote")
    )
    return parse_config(
        f"""
history_days = 30
[state]
snapshot_every_events = 1000000
[market]
source = "simulated"
simulated_instruments = {instruments}
simulated_days = 400
[sources.momentum]
horizons_days = [5, 10, 20]
skip_days = 1
[signals]
max_signals_per_request = 1000000
{externals}
{portfolios}
""",
        "the signal bench config",
    )


def synthetic_signals(
    symbols: tuple[str, ...], sources: int, market_date: date, round_number: int, seed: int
) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed + round_number)
    n = len(symbols)
    signals: list[dict[str, object]] = []
    for k in range(sources):
        scores = rng.uniform(-1, 1, n)
        confidences = rng.uniform(0, 1, n)
        horizons = rng.integers(0, len(HORIZONS), n)
        for i, symbol in enumerate(symbols):
            signals.append(
                {
                    "id": f"r{round_number}-s{k}-{i}",
                    "source": f"feed{k}",
                    "instrument": symbol,
                    "timestamp": market_date.isoformat(),
                    "horizon": HORIZONS[horizons[i]],
                    "score": float(scores[i]) if (i + k) % 50 else 1.5,  # 1 in 50 malformed
                    "confidence": float(confidences[i]),
                }
            )
    return signals


def run_signal_bench(
    database_url: str,
    instruments: int = 1000,
    sources: int = 5,
    rounds: int = 10,
    seed: int = 7,
    on_round: Callable[[int], None] | None = None,
) -> SignalBenchResult:
    from engine.assembly import build_engine  # the bench needs the whole engine, nothing else does

    config = bench_config(instruments, sources)
    parts = build_engine(config, database_url)
    coordinator = parts.coordinator
    coordinator.start({"bench": "signals"})
    ticks = iter(parts.feed)
    symbols = coordinator.universe.symbols
    specs = {
        f"feed{k}": ExternalSourceSpec(f"feed{k}", 5, frozenset(), 10**8) for k in range(sources)
    }
    intake = SignalIntake(SignalValidator(symbols, specs), specs)
    book = SignalBook()
    index = coordinator.universe.symbol_index
    names = tuple(specs)
    policies = (ConfidenceBlend(), PriorityRule(), MajorityVote(0.6))
    portfolios = [SignalCoordinator(p.name, names, p) for p in policies]

    validate_s = coordinate_s = submit_s = 0.0
    total = rejected = 0
    stage_ms: list[float] = []
    try:
        for round_number in range(rounds):
            coordinator.run_cycle(next(ticks))
            market_date = coordinator.market_date
            assert market_date is not None
            raws = synthetic_signals(symbols, sources, market_date, round_number, seed)
            total += len(raws)

            t0 = time.perf_counter()
            outcomes = intake.review(raws, market_date, book.seen)
            for outcome in outcomes:
                if outcome.signal is not None:
                    book.add(outcome.signal)
            t1 = time.perf_counter()
            batches = book.batches(index, market_date)
            for portfolio in portfolios:
                portfolio.coordinate(batches, symbols, market_date)
            t2 = time.perf_counter()
            validate_s += t1 - t0
            coordinate_s += t2 - t1
            rejected += sum(o.status == "rejected" for o in outcomes)

            command = SubmitSignals("bench", "signal bench", tuple(raws), "bench")
            t3 = time.perf_counter()
            coordinator.apply(command)
            submit_s += time.perf_counter() - t3
            report = coordinator.run_cycle(next(ticks))
            stage_ms.append(report.stage_ms.get("coordination", float("nan")))
            if on_round is not None:
                on_round(round_number + 1)
    finally:
        parts.bus.close()
        parts.store.close()
    return SignalBenchResult(
        instruments,
        sources,
        rounds,
        total,
        rejected,
        validate_s,
        coordinate_s,
        submit_s,
        float(np.median(stage_ms)),
    )
