"""The scale-out projection of docs/benchmarks.md: stage times fitted as shared + per-portfolio."""

from __future__ import annotations

import pytest

from engine.bench.cycle_bench import CycleBenchResult
from engine.bench.scale import ScaleModel, fit_curve, markdown


def _run(
    instruments: int, portfolios: int, stages: dict[str, float], events: int
) -> CycleBenchResult:
    figures = {
        name: {"p50_ms": ms, "p95_ms": ms * 1.5, "p99_ms": ms * 2, "max_ms": ms * 2}
        for name, ms in stages.items()
    }
    total = sum(stages.values())
    cycle = {"p50_ms": total, "p95_ms": total * 1.5, "p99_ms": total * 2, "max_ms": total * 2}
    return CycleBenchResult(
        instruments,
        portfolios,
        10,
        1.0,
        cycle,
        figures,
        100.0,
        0,
        0,
        events,
        measured_events=events,
    )


ONE = _run(500, 1, {"market": 2.0, "allocation": 14.0, "events": 6.0}, 10 * 250)
TEN = _run(500, 10, {"market": 2.0, "allocation": 131.0, "events": 60.0}, 10 * 2_230)


def test_the_fit_goes_through_both_measured_runs() -> None:
    model = ScaleModel.fit(ONE, TEN)
    assert model.cycle_ms(1) == pytest.approx(ONE.cycle["p50_ms"])
    assert model.cycle_ms(10) == pytest.approx(TEN.cycle["p50_ms"])
    # The market bar is shared; the solve and the events grow with the book.
    assert model.per_portfolio_ms["market"] == 0.0
    assert model.per_portfolio_ms["allocation"] == pytest.approx(13.0)
    assert model.shared_ms["allocation"] == pytest.approx(1.0)
    assert model.events_per_portfolio_cycle == pytest.approx(220.0)


def test_more_processes_never_make_the_cycle_slower_and_never_go_below_the_shared_part() -> None:
    model = ScaleModel.fit(ONE, TEN)
    cycles = [model.cycle_ms(10, k) for k in (1, 2, 3, 5, 10, 20)]
    assert cycles == sorted(cycles, reverse=True)
    assert cycles[-1] == pytest.approx(model.shared_total_ms + model.per_portfolio_total_ms)
    # Ten portfolios on two processes: the slowest holds five.
    assert model.cycle_ms(10, 2) == pytest.approx(model.shared_total_ms + 5 * 19.0)


def test_one_events_table_queues_the_other_processes_appends() -> None:
    model = ScaleModel.fit(ONE, TEN)
    assert model.cycle_ms_one_events_table(10, 1) == pytest.approx(model.cycle_ms(10, 1))
    # Five processes of two portfolios: the last append waits for eight portfolios' appends.
    assert model.cycle_ms_one_events_table(10, 5) == pytest.approx(
        model.cycle_ms(10, 5) + 8 * model.per_portfolio_ms["events"]
    )


def test_a_stage_measured_faster_with_more_portfolios_costs_nothing_per_portfolio() -> None:
    noisy = _run(500, 10, {"market": 1.5, "allocation": 131.0, "events": 60.0}, 10 * 2_230)
    model = ScaleModel.fit(ONE, noisy)
    assert model.per_portfolio_ms["market"] == 0.0 and model.shared_ms["market"] == 2.0


def test_runs_that_cannot_be_fitted_are_refused_with_the_field_named() -> None:
    with pytest.raises(ValueError, match="instruments"):
        ScaleModel.fit(ONE, _run(2000, 10, {"market": 1.0}, 10))
    with pytest.raises(ValueError, match="portfolios"):
        ScaleModel.fit(TEN, ONE)
    with pytest.raises(ValueError, match="processes"):
        ScaleModel.fit(ONE, TEN).cycle_ms(10, 0)


def test_the_report_projects_each_size_measured_at_two_portfolio_counts() -> None:
    lone = _run(100, 1, {"market": 1.0, "allocation": 3.0, "events": 2.0}, 100)
    assert [m.instruments for m in fit_curve([ONE, TEN, lone])] == [500]
    text = markdown([ONE, TEN, lone], relay_events_per_second=20_000.0)
    assert text.startswith("## Past one machine")
    assert "| 500 | own store |" in text and "| 100 |" not in text
    assert "Pulsar relay" in text
    assert markdown([lone], None) == ""
