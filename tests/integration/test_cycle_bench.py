"""`pcoord bench`: the whole cycle of the real engine, timed per stage; the suite's report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from engine.bench.cycle_bench import default_workers
from engine.bench.suite import KEPT_SECTIONS_MARKER, run_suite
from engine.coordinator import STAGES


def test_bench_prints_the_cycle_and_every_stage_as_json(capsys: pytest.CaptureFixture) -> None:
    arguments = "bench --instruments 40 --portfolios 2 --cycles 4 --warmup 1 --json"
    code = main(arguments.split())
    assert code == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["cycles"] == 4 and figures["instruments"] == 40
    assert 0 < figures["cycle.p50_ms"] <= figures["cycle.p95_ms"] <= figures["cycle.p99_ms"]
    assert figures["cycle.p99_ms"] <= figures["cycle.max_ms"]
    for stage in STAGES:
        assert figures[f"stages.{stage}.p95_ms"] >= 0
    # The stages are the cycle: their sum is the cycle's latency (cycle by cycle, so the sums of
    # the medians and of the maxima bracket the median cycle).
    assert sum(figures[f"stages.{s}.max_ms"] for s in STAGES) >= figures["cycle.p50_ms"]
    assert figures["orders"] > 0 and figures["events"] > 0
    assert figures["peak_rss_mb"] > 50
    assert figures["slowest_stage"] in STAGES


def test_bench_refuses_a_universe_too_small(capsys: pytest.CaptureFixture) -> None:
    assert main(["bench", "--instruments", "5"]) == 2
    assert "--instruments at least 20" in capsys.readouterr().err


def test_the_suite_writes_the_table_and_the_plot(tmp_path: Path) -> None:
    kept = f"{KEPT_SECTIONS_MARKER}\n\n## Dashboard load\n\nfigures of bench-dashboard\n"
    (tmp_path / "benchmarks.md").write_text("# stale suite figures\n\n" + kept)
    results = run_suite(
        tmp_path,
        cycles=3,
        warmup=1,
        events=2_000,
        progress=lambda _: None,
        instruments=(30,),
        portfolios=(1, 2),
    )
    assert [(r.instruments, r.portfolios) for r in results] == [(30, 1), (30, 2)]
    report = (tmp_path / "benchmarks.md").read_text()
    two = default_workers(2)  # solver processes: one per core, at most one per portfolio
    assert "| 30 | 1 | 1 | 3 |" in report and f"| 30 | 2 | {two} | 3 |" in report
    assert "events/s" in report and "![cycle latency" in report
    # The two portfolio counts of one size give the projection past one machine.
    assert "## Past one machine" in report and "| 30 | own store |" in report
    # What is below the marker (the dashboard load figures) survives a new suite run.
    assert "stale suite figures" not in report and report.endswith(kept)
    assert (tmp_path / "benchmarks.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
