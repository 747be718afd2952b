"""Cycle latency on the Engine page: the recent cycles' percentiles against the 200 ms seed gate and
our 50 ms / 100 ms targets, and the cycles' time over the run with both bounds drawn.

Pure functions: a ``LatencySummary`` (engine/performance/latency.py) or cycle reports in, a
component or a plotly-JSON figure out. Colours read the same on every number: green meets our
target, amber passes the seed gate but misses our target, red misses the bar that applies; a
number no target names (p50, max) stays black.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from components import formatting as fmt
from components.colours import NEGATIVE, POSITIVE
from components.figures import Figure, base_figure, waiting
from components.risk import WARNING_COLOUR
from engine.model import CycleReport
from engine.performance.latency import (
    GATE_SHARE,
    LARGE_UNIVERSE_INSTRUMENTS,
    SEED_GATE_P95_MS,
    TARGET_CORES,
    TARGET_INSTRUMENTS,
    TARGET_P95_LARGE_UNIVERSE_MS,
    TARGET_P95_MS,
    TARGET_P99_MS,
    TARGET_PORTFOLIOS,
    LatencyGrade,
    LatencySummary,
    grade,
    is_timed,
)

NEUTRAL = "#212529"
GRADE_COLOURS = {
    LatencyGrade.MEETS_TARGET: POSITIVE,
    LatencyGrade.WITHIN_GATE: WARNING_COLOUR,
    LatencyGrade.MISSES_GATE: NEGATIVE,
    LatencyGrade.MISSES_TARGET: NEGATIVE,
}
_TREND_LINE = "#6C757D"


def _ms_bound(value_ms: float) -> str:
    return f"{value_ms:g} ms"


# The card -----------------------------------------------------------------------------------------


def _percentile_tile(
    label: str, value_ms: float | None, rule: str, verdict: LatencyGrade | None
) -> dbc.Col:
    """One percentile: its value in the colour of its grade, the rule it is held to, the grade.

    A percentile no target names (p50, max) has no grade and reads in plain black."""
    colour = GRADE_COLOURS[verdict] if verdict is not None else NEUTRAL
    return dbc.Col(
        html.Div(
            [
                html.Div(label, className="pc-kpi-label"),
                html.Div(
                    fmt.ms(value_ms),
                    className=f"pc-kpi pc-latency-{label}",
                    style={"color": colour},
                ),
                html.Div(rule, className="small text-muted"),
                html.Div(
                    verdict.value if verdict is not None else "",
                    className="small",
                    style={"color": colour},
                ),
            ],
            className="pc-kpi-tile",
        ),
        xs=6,
        md=3,
        className="mb-2",
    )


def _share_line(share: float | None, bound_ms: float, bar: str, colour_missed: str) -> html.Div:
    """``97.0% of cycles within 200 ms`` and whether that meets the 95% the bar asks for."""
    met = share is not None and share >= GATE_SHARE
    verdict = "met" if met else "missed"
    return html.Div(
        [
            html.Span(
                f"{fmt.pct(share)} of cycles within {_ms_bound(bound_ms)}",
                style={"color": POSITIVE if met else colour_missed},
                className="fw-semibold",
            ),
            html.Span(
                f" · {bar} asks ≥ {fmt.pct(GATE_SHARE, 0)}: {verdict}", className="text-muted"
            ),
        ],
        className="small pc-latency-share",
    )


def _scale_note(instruments: int, portfolios: int) -> html.Div:
    return html.Div(
        [
            f"Targets are set for {TARGET_INSTRUMENTS:,} instruments × {TARGET_PORTFOLIOS} "
            f"portfolios on {TARGET_CORES} cores (p95 ≤ {_ms_bound(TARGET_P95_LARGE_UNIVERSE_MS)} "
            f"at {LARGE_UNIVERSE_INSTRUMENTS:,} instruments). ",
            html.Span(
                f"This engine: {instruments:,} instruments × {portfolios:,} portfolios.",
                className="pc-latency-engine-size",
            ),
        ],
        className="small text-muted mt-2 pc-latency-scale",
    )


def latency_card_body(summary: LatencySummary, *, instruments: int, portfolios: int) -> html.Div:
    """The recent cycles' p50 / p95 / p99 / max, each in the colour of its grade, the shares of
    cycles within the seed gate and our target, the slowest stage by p95, and the engine size
    next to the size the targets are set for."""
    scale = _scale_note(instruments, portfolios)
    if summary.cycles == 0:
        waiting = (
            "This dashboard follows the engine through its events, which carry no cycle timings."
            if summary.untimed_cycles
            else "No cycle has run yet."
        )
        return html.Div([html.Div(waiting, className="text-muted pc-latency-waiting"), scale])
    target_and_gate = (
        f"target ≤ {_ms_bound(TARGET_P95_MS)} · seed gate ≤ {_ms_bound(SEED_GATE_P95_MS)}"
    )
    tiles = dbc.Row(
        [
            _percentile_tile("p50", summary.p50_ms, "median, no target", None),
            _percentile_tile("p95", summary.p95_ms, target_and_gate, summary.p95_grade),
            _percentile_tile(
                "p99", summary.p99_ms, f"target ≤ {_ms_bound(TARGET_P99_MS)}", summary.p99_grade
            ),
            _percentile_tile("max", summary.max_ms, "slowest cycle, no target", None),
        ],
        className="g-2",
    )
    span = (
        f"cycle {summary.first_cycle:,}"
        if summary.first_cycle == summary.last_cycle
        else f"cycles {summary.first_cycle:,}–{summary.last_cycle:,}"
    )
    children: list[Any] = [
        html.Div(
            f"Last {summary.cycles:,} cycle{'s' if summary.cycles != 1 else ''} ({span}), "
            "wall time of the whole cycle",
            className="small text-muted mb-2 pc-latency-count",
        ),
        tiles,
        _share_line(summary.share_within_gate, SEED_GATE_P95_MS, "the seed gate", NEGATIVE),
        _share_line(summary.share_within_target, TARGET_P95_MS, "our target", WARNING_COLOUR),
    ]
    if summary.slowest_stage is not None:
        children.append(
            html.Div(
                [
                    html.Span("slowest stage by p95: ", className="text-muted"),
                    html.Span(summary.slowest_stage, className="fw-semibold"),
                    f" ({fmt.ms(summary.slowest_stage_p95_ms)})",
                ],
                className="small mt-1 pc-latency-slowest",
            )
        )
    children.append(scale)
    return html.Div(children)


# The figure ---------------------------------------------------------------------------------------


def _bound_line(value_ms: float, colour: str, label: str) -> tuple[dict[str, Any], dict[str, Any]]:
    shape = {
        "type": "line",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "yref": "y",
        "y0": value_ms,
        "y1": value_ms,
        "line": {"color": colour, "width": 1.5, "dash": "dash"},
    }
    annotation = {
        "text": label,
        "showarrow": False,
        "xref": "paper",
        "x": 1,
        "xanchor": "right",
        "yref": "y",
        "y": value_ms,
        "yanchor": "bottom",
        "font": {"size": 11, "color": colour},
    }
    return shape, annotation


def latency_trend_figure(cycles: Sequence[CycleReport]) -> Figure:
    """Each recent cycle's total time, a point in the colour of its grade against the p95
    bounds, with dashed lines at our 50 ms target and the 200 ms seed gate.

    The y axis always reaches past 200 ms, so the gap to the gate is read at its true scale.
    Cycles without timing (a follower's) are left out, as in the summary.
    """
    timed = [cycle for cycle in cycles if is_timed(cycle)]
    totals_ms = [cycle.total_ms for cycle in timed]
    trace = {
        "type": "scatter",
        "mode": "lines+markers",
        "name": "cycle",
        "x": [cycle.cycle for cycle in timed],
        "y": totals_ms,
        "line": {"color": _TREND_LINE, "width": 1},
        "marker": {
            "size": 5,
            "color": [
                GRADE_COLOURS[grade(ms, target_ms=TARGET_P95_MS, gate_ms=SEED_GATE_P95_MS)]
                for ms in totals_ms
            ],
        },
        "hovertemplate": "cycle %{x}<br>%{y:.1f} ms<extra></extra>",
        "showlegend": False,
    }
    figure = base_figure(
        [trace], x_title="cycle", y_title="cycle time (ms)", revision="latency-trend"
    )
    top_ms = max([SEED_GATE_P95_MS, *totals_ms]) * 1.1
    figure["layout"]["yaxis"]["range"] = [0, top_ms]
    target_shape, target_label = _bound_line(
        TARGET_P95_MS, POSITIVE, f"target p95 {_ms_bound(TARGET_P95_MS)}"
    )
    gate_shape, gate_label = _bound_line(
        SEED_GATE_P95_MS, NEGATIVE, f"seed gate {_ms_bound(SEED_GATE_P95_MS)}"
    )
    figure["layout"]["shapes"] = [target_shape, gate_shape]
    if not timed:
        waiting(figure, "No timed cycle yet")
    figure["layout"]["annotations"] = [
        *figure["layout"].get("annotations", []),
        target_label,
        gate_label,
    ]
    return figure
