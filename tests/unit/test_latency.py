"""Cycle latency against the gates, checked against numpy and counts made by hand."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from engine.model import CycleReport
from engine.performance.latency import (
    BLAS_THREAD_VARIABLES,
    SEED_GATE_P95_MS,
    TARGET_P95_MS,
    TARGET_P99_MS,
    LatencyGrade,
    grade,
    latency_summary,
    limit_blas_threads,
)

DAY = date(2024, 1, 2)


def _report(cycle: int, **stage_ms: float) -> CycleReport:
    return CycleReport(cycle, DAY, dict(stage_ms), total_ms=sum(stage_ms.values()))


# Twelve cycles: three over 50 ms, one of them over 200 ms, one exactly on each bound.
REPORTS = (
    _report(1, market=3.0, allocation=7.0, events=2.0),  # 12
    _report(2, market=4.0, allocation=9.0, events=2.0),  # 15
    _report(3, market=3.0, allocation=6.0, events=1.0),  # 10
    _report(4, market=5.0, allocation=40.0, events=5.0),  # 50, on the target
    _report(5, market=3.0, allocation=8.0, events=2.0),  # 13
    _report(6, market=30.0, allocation=150.0, events=20.0),  # 200, on the gate
    _report(7, market=3.0, allocation=5.0, events=1.0),  # 9
    _report(8, market=2.0, allocation=6.0, events=1.0),  # 9
    _report(9, market=60.0, allocation=180.0, events=10.0),  # 250, over the gate
    _report(10, market=3.0, allocation=6.0, events=2.0),  # 11
    _report(11, market=10.0, allocation=60.0, events=2.0),  # 72
    _report(12, market=3.0, allocation=7.0),  # 10, no events stage this cycle
)
TOTALS_MS = [12, 15, 10, 50, 13, 200, 9, 9, 250, 11, 72, 10]


def test_the_hand_made_totals_are_what_the_tests_assume() -> None:
    assert [report.total_ms for report in REPORTS] == TOTALS_MS


def test_percentiles_of_the_cycle_total_match_numpy_on_the_same_values() -> None:
    summary = latency_summary(REPORTS)

    p50, p95, p99 = np.percentile(TOTALS_MS, [50, 95, 99])
    assert summary.cycles == 12
    assert summary.p50_ms == pytest.approx(p50)
    assert summary.p95_ms == pytest.approx(p95)
    assert summary.p99_ms == pytest.approx(p99)
    assert summary.max_ms == 250
    # Sorted: 9 9 10 10 11 12 13 15 50 72 200 250; the median halves 12 and 13.
    assert summary.p50_ms == pytest.approx(12.5)
    assert (summary.first_cycle, summary.last_cycle) == (1, 12)


def test_shares_count_cycles_on_the_bound_as_within_it() -> None:
    summary = latency_summary(REPORTS)

    # Within 200 ms: all but cycle 9 (250 ms); cycle 6 takes exactly 200 ms.
    assert summary.share_within_gate == pytest.approx(11 / 12)
    # Within 50 ms: all but cycles 6, 9 and 11; cycle 4 takes exactly 50 ms.
    assert summary.share_within_target == pytest.approx(9 / 12)
    assert summary.meets_seed_gate is False


def test_each_stage_p95_counts_a_skipped_stage_as_zero_and_names_the_slowest() -> None:
    summary = latency_summary(REPORTS)

    assert [stage for stage, _ in summary.stage_p95_ms] == ["market", "allocation", "events"]
    expected = {
        "market": np.percentile([3, 4, 3, 5, 3, 30, 3, 2, 60, 3, 10, 3], 95),
        "allocation": np.percentile([7, 9, 6, 40, 8, 150, 5, 6, 180, 6, 60, 7], 95),
        "events": np.percentile([2, 2, 1, 5, 2, 20, 1, 1, 10, 2, 2, 0], 95),
    }
    assert dict(summary.stage_p95_ms) == pytest.approx(expected)
    assert summary.slowest_stage == "allocation"
    assert summary.slowest_stage_p95_ms == pytest.approx(expected["allocation"])


def test_no_cycle_yet_gives_no_numbers_rather_than_zero_milliseconds() -> None:
    summary = latency_summary(())

    assert summary.cycles == 0
    assert summary.p50_ms is summary.p95_ms is summary.p99_ms is summary.max_ms is None
    assert summary.share_within_gate is summary.share_within_target is None
    assert summary.stage_p95_ms == ()
    assert summary.slowest_stage is None
    assert summary.p95_grade is None and summary.meets_seed_gate is None


def test_cycles_without_timing_are_left_out_and_counted_apart() -> None:
    # A follower rebuilds cycles from events, which carry no timing: 0 ms is not a measurement.
    untimed = (CycleReport(13, DAY), CycleReport(14, DAY))
    summary = latency_summary(REPORTS + untimed)

    assert summary.cycles == 12
    assert summary.untimed_cycles == 2
    assert summary.p50_ms == pytest.approx(np.percentile(TOTALS_MS, 50))
    assert latency_summary(untimed).cycles == 0
    assert latency_summary(untimed).untimed_cycles == 2


def test_one_cycle_is_its_own_every_percentile() -> None:
    summary = latency_summary([_report(7, market=4.0, allocation=6.0)])

    assert summary.p50_ms == summary.p95_ms == summary.p99_ms == summary.max_ms == 10.0
    assert summary.share_within_gate == summary.share_within_target == 1.0
    assert summary.slowest_stage == "allocation"


def test_the_gates_are_the_products_numbers() -> None:
    assert (SEED_GATE_P95_MS, TARGET_P95_MS, TARGET_P99_MS) == (200.0, 50.0, 100.0)


@pytest.mark.parametrize(
    ("p95_ms", "expected"),
    [
        (12.0, LatencyGrade.MEETS_TARGET),
        (50.0, LatencyGrade.MEETS_TARGET),
        (50.1, LatencyGrade.WITHIN_GATE),
        (200.0, LatencyGrade.WITHIN_GATE),
        (200.1, LatencyGrade.MISSES_GATE),
    ],
)
def test_p95_is_graded_against_the_50_ms_target_then_the_200_ms_gate(
    p95_ms: float, expected: LatencyGrade
) -> None:
    assert grade(p95_ms, target_ms=TARGET_P95_MS, gate_ms=SEED_GATE_P95_MS) is expected


def test_p99_has_a_target_and_no_gate() -> None:
    assert grade(100.0, target_ms=TARGET_P99_MS) is LatencyGrade.MEETS_TARGET
    assert grade(150.0, target_ms=TARGET_P99_MS) is LatencyGrade.MISSES_TARGET


def test_a_fast_run_meets_the_target_and_the_seed_gate() -> None:
    fast = [_report(cycle, market=1.0 + cycle % 7, allocation=3.0) for cycle in range(1, 301)]
    summary = latency_summary(fast)

    assert summary.p95_grade is LatencyGrade.MEETS_TARGET
    assert summary.p99_grade is LatencyGrade.MEETS_TARGET
    assert summary.meets_seed_gate is True
    assert summary.share_within_target == 1.0


def test_low_latency_gc_freezes_start_up_objects_and_restores_the_collector() -> None:
    import gc

    from engine.performance.latency import low_latency_gc

    before = gc.get_threshold()
    with low_latency_gc(young_threshold=12_345):
        assert gc.get_threshold() == (12_345, before[1], before[2])
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_between_cycles_the_young_generation_is_collected_once_a_quarter_full() -> None:
    import gc

    from engine.performance.latency import collect_between_cycles

    before = gc.get_threshold()
    kept: list[list[int]] = []
    try:
        gc.set_threshold(4_000, 3, 10)
        gc.collect()
        kept.extend([k] for k in range(100))  # well under a quarter of 4,000
        assert collect_between_cycles() is None
        assert gc.get_count()[0] >= 100
        kept.extend([k] for k in range(1_000))
        assert collect_between_cycles() == 0
        assert gc.get_count()[0] < 100
        # A young collection counts toward the middle generation's threshold (3): the third is
        # that generation's.
        kept.extend([k] for k in range(1_000))
        assert collect_between_cycles() == 0
        kept.extend([k] for k in range(1_000))
        assert collect_between_cycles() == 1
        assert gc.get_count()[1] == 0
        gc.disable()
        kept.extend([k] for k in range(2_000))
        assert collect_between_cycles() is None
    finally:
        gc.enable()
        gc.set_threshold(*before)


def test_the_engine_runs_blas_on_one_thread_unless_the_environment_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads() -> list[int]:
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    for name in BLAS_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with threadpool_limits(limits=2, user_api="blas"):  # restored on leaving
        assert 2 in blas_threads()  # numpy's OpenBLAS (another library may be built for one)
        assert limit_blas_threads() == 1
        assert set(blas_threads()) == {1}
    with threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
        assert limit_blas_threads() is None
        assert blas_threads() == before
