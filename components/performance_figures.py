"""Performance charts, shared by the Performance page and the HTML tear sheet (``pcoord report``).

Plain plotly figure dicts built from ``PortfolioAnalysis`` objects (engine/performance/
measurement.py); each portfolio in its colour, its benchmark dashed in the same colour, every
axis with its unit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from components.colours import NEGATIVE, POSITIVE
from components.figures import MAX_POINTS_PER_TRACE, Figure, base_figure, thin, waiting
from engine.performance.analytics import TRADING_DAYS_PER_YEAR
from engine.performance.attribution import EFFECTS
from engine.performance.measurement import PortfolioAnalysis
from engine.performance.returns import calendar_returns, cumulative_returns

BENCHMARK_COLOUR = "#6C757D"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
EFFECT_COLOURS = {"allocation": "#2166AC", "selection": "#B2182B", "interaction": "#878787"}
ROLLING_TITLES = {
    "sharpe": "Sharpe ratio (annualised)",
    "volatility": "volatility (% a year)",
    "beta": "beta to the benchmark",
}


def _line(
    x: Sequence[str],
    y: Sequence[float],
    name: str,
    colour: str,
    dash: str = "solid",
    unit: str = "",
) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": list(x),
        "y": list(y),
        "line": {"color": colour, "width": 2 if dash == "solid" else 1.5, "dash": dash},
        "hovertemplate": f"%{{x}}<br>%{{y:.2f}}{unit}<extra>%{{fullData.name}}</extra>",
    }


def _thinned(series: pd.Series) -> tuple[list[str], list[float]]:
    points = thin(
        list(zip(series.index, series.to_numpy(dtype=float), strict=True)), MAX_POINTS_PER_TRACE
    )
    return [pd.Timestamp(d).date().isoformat() for d, _ in points], [float(v) for _, v in points]


def growth_figure(
    analyses: Sequence[PortfolioAnalysis], colours: Mapping[str, str], *, log_scale: bool = False
) -> Figure:
    """Growth of 100 for each portfolio (time-weighted) and its benchmark, dashed in grey: a
    benchmark several portfolios share over the same days is drawn once."""
    traces, drawn = [], []
    for analysis in analyses:
        x, y = _thinned(100.0 * (1.0 + cumulative_returns(analysis.returns)))
        traces.append(_line(x, y, analysis.run.portfolio.name, colours[analysis.run.portfolio.id]))
    for analysis in analyses:
        benchmark = analysis.benchmark.returns
        if any(benchmark.equals(other) for other in drawn):
            continue
        drawn.append(benchmark)
        x, y = _thinned(100.0 * (1.0 + cumulative_returns(benchmark)))
        traces.append(_line(x, y, analysis.benchmark.label, BENCHMARK_COLOUR, "dash"))
    figure = base_figure(
        traces, x_title="market date", y_title="value of 100 invested", revision="growth"
    )
    figure["layout"]["yaxis"].update(type="log" if log_scale else "linear", tickformat=",.0f")
    if not analyses:
        waiting(figure, "No portfolio with two days of history in the range")
    return figure


def drawdown_figure(analyses: Sequence[PortfolioAnalysis], colours: Mapping[str, str]) -> Figure:
    """How far below its running peak each portfolio stood (underwater chart), in %."""
    traces = []
    for analysis in analyses:
        wealth = 1.0 + cumulative_returns(analysis.returns)
        peak = np.maximum.accumulate(np.concatenate(([1.0], wealth.to_numpy())))[1:]
        x, y = _thinned(100.0 * (wealth / peak - 1.0))
        trace = _line(
            x, y, analysis.run.portfolio.name, colours[analysis.run.portfolio.id], unit="%"
        )
        trace["fill"] = "tozeroy"
        traces.append(trace)
    figure = base_figure(
        traces, x_title="market date", y_title="drawdown (% below peak)", revision="drawdown"
    )
    if not analyses:
        waiting(figure, "No portfolio with two days of history in the range")
    return figure


def rolling_figure(
    analyses: Sequence[PortfolioAnalysis],
    colours: Mapping[str, str],
    measure: str,
    window: int = TRADING_DAYS_PER_YEAR,
) -> Figure:
    """A rolling measure (``sharpe``, ``volatility`` or ``beta``) over ``window`` days."""
    scale = 100.0 if measure == "volatility" else 1.0
    traces = []
    for analysis in analyses:
        series = analysis.rolling[window][measure].dropna() * scale
        x, y = _thinned(series)
        traces.append(_line(x, y, analysis.run.portfolio.name, colours[analysis.run.portfolio.id]))
    figure = base_figure(
        traces,
        x_title="market date",
        y_title=f"{ROLLING_TITLES[measure]}, last {window} days",
        revision=f"rolling-{measure}",
    )
    if not any(trace["x"] for trace in traces):
        waiting(figure, f"Fewer than {window} days in the range")
    return figure


def monthly_heatmap(analysis: PortfolioAnalysis) -> Figure:
    """Each month's compounded return, in %, years down and months across."""
    monthly = calendar_returns(analysis.returns, "month")
    years = sorted({key[:4] for key in monthly.index})
    z = [[None] * 12 for _ in years]
    for key, value in monthly.items():
        z[years.index(key[:4])][int(key[5:]) - 1] = round(100.0 * float(value), 2)
    limit = max((abs(v) for row in z for v in row if v is not None), default=1.0)
    trace = {
        "type": "heatmap",
        "x": list(MONTHS),
        "y": years,
        "z": z,
        "zmin": -limit,
        "zmax": limit,
        "colorscale": [[0.0, NEGATIVE], [0.5, "#F7F7F7"], [1.0, POSITIVE]],
        "colorbar": {"title": {"text": "% in the month"}},
        "texttemplate": "%{z:.1f}",
        "hovertemplate": "%{x} %{y}: %{z:.2f}%<extra></extra>",
    }
    figure = base_figure([trace], x_title="month", y_title="year", revision="monthly")
    figure["layout"]["yaxis"].update(autorange="reversed", type="category")
    return figure


def brinson_figure(analysis: PortfolioAnalysis) -> Figure:
    """The period's Brinson effects by sector, stacked, in % of the portfolio."""
    sectors = analysis.attribution["sectors"]
    assert isinstance(sectors, Mapping)
    names = list(sectors)
    traces = [
        {
            "type": "bar",
            "name": effect,
            "x": names,
            "y": [100.0 * sectors[name][effect] for name in names],
            "marker": {"color": EFFECT_COLOURS[effect]},
            "hovertemplate": f"%{{x}}: {effect} %{{y:.2f}}%<extra></extra>",
        }
        for effect in EFFECTS
    ]
    figure = base_figure(
        traces, x_title="sector", y_title="effect (% of the portfolio)", revision="brinson"
    )
    figure["layout"]["barmode"] = "relative"
    return figure


def active_return_waterfall(analysis: PortfolioAnalysis) -> Figure:
    """From the benchmark's return to the portfolio's: each effect, then trading and income."""
    a = analysis.attribution
    effects = a["effects"]
    assert isinstance(effects, Mapping)
    steps = [("benchmark", float(a["benchmark_return"]), "absolute")]  # type: ignore[arg-type]
    steps += [(effect, float(effects[effect]), "relative") for effect in EFFECTS]
    steps.append(("trading, costs and income", float(a["trading_costs_and_income"]), "relative"))  # type: ignore[arg-type]
    steps.append(("portfolio", float(a["portfolio_return"]), "total"))  # type: ignore[arg-type]
    trace = {
        "type": "waterfall",
        "x": [name for name, _, _ in steps],
        "y": [100.0 * value if kind != "total" else 0.0 for _, value, kind in steps],
        "measure": [kind for _, _, kind in steps],
        "increasing": {"marker": {"color": POSITIVE}},
        "decreasing": {"marker": {"color": NEGATIVE}},
        "totals": {"marker": {"color": "#495057"}},
        "hovertemplate": "%{x}: %{y:.2f}%<extra></extra>",
        "name": "return",
    }
    return base_figure(
        [trace], x_title="", y_title="return over the period (%)", revision="waterfall"
    )
