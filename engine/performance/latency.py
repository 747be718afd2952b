"""Coordination-cycle latency against the product's quality gates.

The seed gate: 95% of coordination cycles complete within 200 ms. Our own target is stricter:
p95 <= 50 ms and p99 <= 100 ms at 500 instruments x 10 portfolios on 2 cores (p95 <= 200 ms at
2,000 instruments). The statistics here are over a cycle's wall time (``CycleReport.total_ms``);
percentiles interpolate linearly between order statistics, as ``numpy.percentile`` does.

Plain data in and out; no UI library, so the same summary serves the dashboard, a benchmark
report or a test.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from engine.model import CycleReport

SEED_GATE_P95_MS = 200.0
TARGET_P95_MS = 50.0
TARGET_P99_MS = 100.0
# The share of cycles the seed gate wants within SEED_GATE_P95_MS (and our target within 50 ms).
GATE_SHARE = 0.95
# The engine size and machine the targets are set for.
TARGET_INSTRUMENTS = 500
TARGET_PORTFOLIOS = 10
TARGET_CORES = 2
# At the largest universe we plan for, our p95 target relaxes to the seed gate's bound.
LARGE_UNIVERSE_INSTRUMENTS = 2_000
TARGET_P95_LARGE_UNIVERSE_MS = 200.0


class LatencyGrade(StrEnum):
    """Where a latency stands against our target and, when one applies, the seed gate."""

    MEETS_TARGET = "meets target"
    WITHIN_GATE = "within seed gate, misses target"
    MISSES_GATE = "misses seed gate"
    MISSES_TARGET = "misses target"


def grade(value_ms: float, *, target_ms: float, gate_ms: float | None = None) -> LatencyGrade:
    """``value_ms`` against a target and an optional looser gate; both bounds are inclusive."""
    if value_ms <= target_ms:
        return LatencyGrade.MEETS_TARGET
    if gate_ms is None:
        return LatencyGrade.MISSES_TARGET
    if value_ms <= gate_ms:
        return LatencyGrade.WITHIN_GATE
    return LatencyGrade.MISSES_GATE


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Wall time of the timed cycles among the reports; every ``*_ms`` is None when none was."""

    cycles: int
    first_cycle: int | None
    last_cycle: int | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    # Share (0..1) of the cycles that took at most 200 ms (the seed gate) and at most 50 ms.
    share_within_gate: float | None
    share_within_target: float | None
    # (stage, p95 in ms), stages in the order they first appear; a stage a cycle skipped counts 0.
    stage_p95_ms: tuple[tuple[str, float], ...]
    slowest_stage: str | None
    # Reports that carry no timing (a read-only follower rebuilds cycles from events without it).
    untimed_cycles: int = 0

    @property
    def slowest_stage_p95_ms(self) -> float | None:
        return dict(self.stage_p95_ms).get(self.slowest_stage) if self.slowest_stage else None

    @property
    def p95_grade(self) -> LatencyGrade | None:
        if self.p95_ms is None:
            return None
        return grade(self.p95_ms, target_ms=TARGET_P95_MS, gate_ms=SEED_GATE_P95_MS)

    @property
    def p99_grade(self) -> LatencyGrade | None:
        if self.p99_ms is None:
            return None
        return grade(self.p99_ms, target_ms=TARGET_P99_MS)

    @property
    def meets_seed_gate(self) -> bool | None:
        """95% of the cycles within 200 ms, counted as the gate words it."""
        if self.share_within_gate is None:
            return None
        return self.share_within_gate >= GATE_SHARE


def is_timed(report: CycleReport) -> bool:
    """Whether the report carries a measured time (a follower's rebuilt cycles do not)."""
    return bool(report.stage_ms) or report.total_ms > 0


def latency_summary(reports: Sequence[CycleReport]) -> LatencySummary:
    """p50/p95/p99/max of the cycles' total time, the shares within the gate and the target, and
    the p95 of each stage with the slowest one (the first of equals, in cycle order)."""
    timed = [report for report in reports if is_timed(report)]
    untimed = len(reports) - len(timed)
    if not timed:
        return LatencySummary(
            cycles=0,
            first_cycle=None,
            last_cycle=None,
            p50_ms=None,
            p95_ms=None,
            p99_ms=None,
            max_ms=None,
            share_within_gate=None,
            share_within_target=None,
            stage_p95_ms=(),
            slowest_stage=None,
            untimed_cycles=untimed,
        )
    total_ms = np.fromiter((report.total_ms for report in timed), dtype=float, count=len(timed))
    p50, p95, p99 = np.percentile(total_ms, [50, 95, 99])
    stages = list(dict.fromkeys(stage for report in timed for stage in report.stage_ms))
    stage_p95: tuple[tuple[str, float], ...] = ()
    slowest = None
    if stages:
        by_stage = np.array(
            [[report.stage_ms.get(stage, 0.0) for stage in stages] for report in timed]
        )
        per_stage = np.percentile(by_stage, 95, axis=0)
        stage_p95 = tuple((stage, float(ms)) for stage, ms in zip(stages, per_stage, strict=True))
        slowest = stages[int(np.argmax(per_stage))]
    return LatencySummary(
        cycles=len(timed),
        first_cycle=min(report.cycle for report in timed),
        last_cycle=max(report.cycle for report in timed),
        p50_ms=float(p50),
        p95_ms=float(p95),
        p99_ms=float(p99),
        max_ms=float(total_ms.max()),
        share_within_gate=float(np.mean(total_ms <= SEED_GATE_P95_MS)),
        share_within_target=float(np.mean(total_ms <= TARGET_P95_MS)),
        stage_p95_ms=stage_p95,
        slowest_stage=slowest,
        untimed_cycles=untimed,
    )


# Objects allocated between collections of the youngest generation (CPython's default is 700).
YOUNG_GENERATION_THRESHOLD = 20_000


@contextmanager
def low_latency_gc(young_threshold: int = YOUNG_GENERATION_THRESHOLD) -> Iterator[None]:
    """Run the engine with fewer, shorter garbage-collector pauses; restored on exit.

    The engine keeps many long-lived objects (the state, the event and signal histories). With
    CPython's default thresholds the collector walks all of them every few cycles: at 500
    instruments x 10 portfolios that is a pause of about 100 ms, which lands in whichever stage
    is running. Everything alive when the engine has started (modules, configuration, the
    recovered state) is frozen out of the collector's reach, and the youngest generation is
    collected every ``young_threshold`` allocations instead of every 700, so the older
    generations are reached far less often. Reference counting still frees everything that is
    not in a cycle at once; cyclic garbage waits a little longer.
    """
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(young_threshold, thresholds[1], thresholds[2])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def collect_between_cycles() -> int | None:
    """Between two cycles, the collection the next cycle would probably have run: the youngest
    generation once it is a quarter full, with an older one when that is due (as often as the
    collector's thresholds ask). Returns the generation collected, None when none was.

    At 500 instruments x 10 portfolios a cycle holds up to about 15,000 more tracked objects at
    its busiest than at its start (3,000-7,000 more at its end), so with ``low_latency_gc``'s
    threshold of 20,000 the collector ran inside one cycle in three, a pause of up to 15 ms in
    whichever stage was running. Collected here at a quarter of the threshold, the young
    generation rarely fills up inside a cycle: over 35 cycles the collections inside cycles went
    from 13 (46 ms) to a few of at most 5 ms, and those here add up to about what they replaced
    (44 ms). Emptying it after every cycle instead cost four times the collector's work (what a
    cycle still holds at its end was walked each time). A small cycle (20 names) leaves about
    500 objects: a collection here every ten cycles or so."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    if not gc.isenabled() or counts[0] < thresholds[0] // 4:
        return None
    # A young collection counts toward the middle generation's threshold, and so on up.
    due = 2 if counts[2] >= thresholds[2] else 1 if counts[1] + 1 >= thresholds[1] else 0
    gc.collect(due)
    return due


# Set by a person who wants the BLAS libraries' own thread count: then it is theirs to choose.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def limit_blas_threads() -> int | None:
    """Run numpy's BLAS and LAPACK on one thread, unless the environment chose a count.

    OpenBLAS starts a thread per core and lets them spin between calls. The cycle calls it
    hundreds of times with small matrices (a 60 x 500 SVD, 500 x 10 factor products) while
    other threads (the engine's own, the solver's, SQLite's, the web server's) need the same
    cores: at 500 instruments x 10 portfolios on two cores the SVD of the risk model took 780 ms
    instead of 2 ms, and the cycle 2.2 s instead of 0.5 s. One thread also makes the results
    independent of the machine's core count. Returns the thread count set, None if left alone.
    """
    if any(os.environ.get(name) for name in BLAS_THREAD_VARIABLES):
        return None
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
    return 1
