"""The Overview's cycle latency card and chart, fed hand-made cycles: what a person reads."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from components.colours import NEGATIVE, POSITIVE
from components.latency import NEUTRAL, latency_card_body, latency_trend_figure
from components.risk import WARNING_COLOUR
from engine.model import CycleReport
from engine.performance.latency import latency_summary
from tests.unit.component_tree import find, plotly_figure, text_of

DAY = date(2024, 1, 2)


def _report(cycle: int, market_ms: float, allocation_ms: float) -> CycleReport:
    return CycleReport(
        cycle,
        DAY,
        {"market": market_ms, "allocation": allocation_ms},
        total_ms=market_ms + allocation_ms,
    )


# Cycles 101..118 of 10..44 ms (2 ms apart), then one of 60 ms and one of 150 ms. With 20 cycles,
# numpy's p95 sits 5% of the way from 60 to 150 ms (64.5 ms: over our 50 ms target, within the
# 200 ms gate) and p99 81% of the way (132.9 ms: over the 100 ms target).
SLOW_TAIL = (
    *(_report(100 + i, 2.0, 6.0 + 2 * i) for i in range(1, 19)),
    _report(119, 10.0, 50.0),
    _report(120, 30.0, 120.0),
)
TOTALS_MS = [*(10.0 + 2 * i for i in range(18)), 60.0, 150.0]
ALLOCATION_MS = [*(8.0 + 2 * i for i in range(18)), 50.0, 120.0]


def _tile(body: object, label: str) -> object:
    """The value component of one percentile tile."""
    (value,) = [
        div
        for div in find(body, "Div")
        if f"pc-latency-{label}" in (getattr(div, "className", None) or "").split()
    ]
    return value


def _texts_with_class(body: object, class_name: str) -> list[str]:
    return [
        text_of(component)
        for kind in ("Div", "Span")
        for component in find(body, kind)
        if class_name in (getattr(component, "className", None) or "").split()
    ]


def test_card_shows_each_percentile_in_milliseconds_as_numpy_computes_it() -> None:
    body = latency_card_body(latency_summary(SLOW_TAIL), instruments=30, portfolios=3)

    p50, p95, p99 = np.percentile(TOTALS_MS, [50, 95, 99])
    assert text_of(_tile(body, "p50")) == f"{p50:,.1f} ms"
    assert text_of(_tile(body, "p95")) == f"{p95:,.1f} ms"
    assert text_of(_tile(body, "p99")) == f"{p99:,.1f} ms"
    assert text_of(_tile(body, "max")) == "150.0 ms"
    assert _texts_with_class(body, "pc-latency-count") == [
        "Last 20 cycles (cycles 101–120), wall time of the whole cycle"
    ]


def test_p95_between_target_and_gate_is_amber_and_p99_over_its_target_is_red() -> None:
    body = latency_card_body(latency_summary(SLOW_TAIL), instruments=30, portfolios=3)

    assert 50 < np.percentile(TOTALS_MS, 95) <= 200
    assert _tile(body, "p95").style["color"] == WARNING_COLOUR
    assert "target ≤ 50 ms · seed gate ≤ 200 ms" in text_of(body)
    assert "within seed gate, misses target" in text_of(body)
    assert np.percentile(TOTALS_MS, 99) > 100
    assert _tile(body, "p99").style["color"] == NEGATIVE
    assert "target ≤ 100 ms" in text_of(body)
    # No target names the median or the slowest cycle: they are not graded.
    assert _tile(body, "p50").style["color"] == NEUTRAL
    assert _tile(body, "max").style["color"] == NEUTRAL


def test_a_fast_run_reads_green_on_both_targets() -> None:
    fast = [_report(cycle, 1.0, 3.0 + cycle % 5) for cycle in range(1, 301)]
    body = latency_card_body(latency_summary(fast), instruments=500, portfolios=10)

    assert _tile(body, "p95").style["color"] == POSITIVE
    assert _tile(body, "p99").style["color"] == POSITIVE
    assert "Last 300 cycles (cycles 1–300)" in text_of(body)


def test_p95_over_the_seed_gate_is_red() -> None:
    slow = [_report(cycle, 50.0, 200.0) for cycle in range(1, 11)]
    body = latency_card_body(latency_summary(slow), instruments=2000, portfolios=10)

    assert _tile(body, "p95").style["color"] == NEGATIVE
    assert "misses seed gate" in text_of(body)


def test_card_counts_the_shares_within_200_and_50_ms_against_the_95_percent_bar() -> None:
    body = latency_card_body(latency_summary(SLOW_TAIL), instruments=30, portfolios=3)

    # All 20 within 200 ms; within 50 ms: the 18 cycles of 10..44 ms, not those of 60 and 150.
    assert _texts_with_class(body, "pc-latency-share") == [
        "100.0% of cycles within 200 ms · the seed gate asks ≥ 95%: met",
        "90.0% of cycles within 50 ms · our target asks ≥ 95%: missed",
    ]


def test_card_names_the_slowest_stage_by_p95() -> None:
    body = latency_card_body(latency_summary(SLOW_TAIL), instruments=30, portfolios=3)

    expected = np.percentile(ALLOCATION_MS, 95)
    assert _texts_with_class(body, "pc-latency-slowest") == [
        f"slowest stage by p95: allocation ({expected:,.1f} ms)"
    ]


def test_card_says_what_size_the_targets_are_for_and_the_engines_own_size() -> None:
    body = latency_card_body(latency_summary(SLOW_TAIL), instruments=30, portfolios=3)

    (scale,) = _texts_with_class(body, "pc-latency-scale")
    assert "Targets are set for 500 instruments × 10 portfolios on 2 cores" in scale
    assert "p95 ≤ 200 ms at 2,000 instruments" in scale
    assert "This engine: 30 instruments × 3 portfolios." in scale


@pytest.mark.parametrize(
    ("reports", "message"),
    [
        ((), "No cycle has run yet."),
        ((CycleReport(4, DAY),), "carry no cycle timings"),
    ],
)
def test_card_without_timed_cycles_says_why_and_still_shows_the_sizes(
    reports: tuple[CycleReport, ...], message: str
) -> None:
    body = latency_card_body(latency_summary(reports), instruments=30, portfolios=3)

    assert message in text_of(body)
    assert "ms" not in " ".join(_texts_with_class(body, "pc-kpi"))
    assert "This engine: 30 instruments × 3 portfolios." in text_of(body)


def test_trend_figure_plots_each_cycle_time_with_the_target_and_gate_lines() -> None:
    figure = plotly_figure(latency_trend_figure(SLOW_TAIL))

    (trace,) = figure.data
    assert list(trace.x) == list(range(101, 121))
    assert list(trace.y) == TOTALS_MS
    assert figure.layout.yaxis.title.text == "cycle time (ms)"
    assert figure.layout.xaxis.title.text == "cycle"
    assert sorted(shape.y0 for shape in figure.layout.shapes) == [50, 200]
    assert all(shape.y0 == shape.y1 and shape.xref == "paper" for shape in figure.layout.shapes)
    labels = {annotation.text for annotation in figure.layout.annotations}
    assert labels == {"target p95 50 ms", "seed gate 200 ms"}
    # The gate stays in view even when every cycle is far below it.
    assert figure.layout.yaxis.range[1] > 200
    # Each point in its grade's colour: green to 50 ms, amber to 200 ms.
    assert list(trace.marker.color) == [POSITIVE] * 18 + [WARNING_COLOUR] * 2


def test_trend_figure_keeps_a_cycle_over_the_gate_in_view() -> None:
    figure = plotly_figure(latency_trend_figure([_report(1, 100.0, 400.0)]))

    assert figure.layout.yaxis.range[1] > 500
    assert list(figure.data[0].marker.color) == [NEGATIVE]


def test_trend_figure_waits_without_timed_cycles_and_still_draws_the_bounds() -> None:
    figure = plotly_figure(latency_trend_figure([CycleReport(1, DAY)]))

    assert list(figure.data[0].x) == []
    labels = [annotation.text for annotation in figure.layout.annotations]
    assert "No timed cycle yet" in labels
    assert len(figure.layout.shapes) == 2
