"""Plotly figure builders: snapshot data in, figure out. No engine access, no Dash callbacks.
This module holds the shared base (``base_figure``, ``waiting``, ``thin``) and the Overview,
Signals and Allocation figures; the execution schedule is in ``schedule_figure.py`` and the Risk
page's figures in ``risk_figures.py``.

Figures are plain plotly-JSON dicts rather than ``go.Figure`` objects: they are rebuilt every
second, and plotly's per-property validation cost 10-20 ms a figure, many times the work itself.
The unit tests load each one into ``go.Figure``, which validates every property name and value.

Every figure carries units on its axes and a constant ``uirevision``, so a person's zoom, pan and
legend choices survive the refresh.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from components.colours import PORTFOLIO_PALETTE, SCORE_COLOURSCALE, stage_colours, translucent
from engine.model import CycleReport
from engine.snapshot import (
    AllocationView,
    PortfolioView,
    QualityPoint,
    SignalFlow,
    SignalRow,
)
from engine.views.overview import rebased

Figure = dict[str, Any]

# A line chart gains nothing from more points than it has pixels; the browser and the wire do pay.
MAX_POINTS_PER_TRACE = 600
# Bars narrower than a few pixels cannot be read or hovered.
MAX_CYCLES_SHOWN = 100

_GRID = "#E9ECEF"
AXIS_LINE = "#ADB5BD"

# The dashboard's own small template, in place of a named plotly one.
THEME: dict[str, Any] = {
    "layout": {
        "font": {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "colorway": list(PORTFOLIO_PALETTE),
        "hoverlabel": {"font": {"size": 12}},
        "xaxis": {
            "gridcolor": _GRID,
            "linecolor": AXIS_LINE,
            "zeroline": False,
            "automargin": True,
        },
        "yaxis": {
            "gridcolor": _GRID,
            "linecolor": AXIS_LINE,
            "zerolinecolor": AXIS_LINE,
            "automargin": True,
        },
    }
}

T = TypeVar("T")

# Signal sources get their own dark, muted colours, none of them a portfolio's, so that on the
# Signals page a source's line or node is never read as a portfolio.
SOURCE_PALETTE: tuple[str, ...] = (
    "#5E3C99",
    "#8C510A",
    "#01665E",
    "#8E0152",
    "#4D4D4D",
    "#A6761D",
)
# A manual override is not a configured source: it keeps one colour of its own.
MANUAL_SOURCE = "manual"
MANUAL_COLOUR = "#212529"
UNITS_FLOW = "instrument-equivalents"


def base_figure(
    traces: list[dict[str, Any]], *, x_title: str, y_title: str, revision: str, **layout: Any
) -> Figure:
    return {
        "data": traces,
        "layout": {
            "template": THEME,
            # The top margin is the modebar's (shown on hover at the top right) and the legend
            # sits at the foot of the whole figure, below the x axis's title: above the plot,
            # the modebar covered the legend and the latest data.
            "margin": {"l": 8, "r": 8, "t": 32, "b": 8},
            "legend": {
                "orientation": "h",
                "x": 0,
                "xanchor": "left",
                "yref": "container",
                "y": 0,
                "yanchor": "bottom",
                "traceorder": "normal",
            },
            "xaxis": {"title": {"text": x_title}},
            "yaxis": {"title": {"text": y_title}},
            "uirevision": revision,
            **layout,
        },
    }


def waiting(figure: Figure, message: str) -> Figure:
    figure["layout"]["annotations"] = [
        {
            "text": message,
            "showarrow": False,
            "xref": "paper",
            "yref": "paper",
            "x": 0.5,
            "y": 0.5,
            "font": {"size": 14, "color": "#6c757d"},
        }
    ]
    return figure


def thin(points: Sequence[T], max_points: int) -> list[T]:
    """Every k-th point so that at most ``max_points`` remain, always keeping the latest one."""
    if len(points) <= max_points:
        return list(points)
    step = math.ceil(len(points) / max_points)
    kept = list(points[::step])
    if kept[-1] is not points[-1]:
        kept[-1] = points[-1]
    return kept


NAV_INDEX_TITLE = "NAV rebased (start = 100)"


def nav_figure(
    portfolios: Sequence[PortfolioView],
    colours: Mapping[str, str],
    *,
    log_scale: bool = False,
    max_points: int = MAX_POINTS_PER_TRACE,
) -> Figure:
    """NAV over market dates rebased to 100 at each portfolio's start (its starting capital),
    one line per portfolio in its colour, so a $2.5M and a $0.5M book compare on one axis; on a
    log scale equal percentage moves are equal heights."""
    traces = []
    for view in portfolios:
        points = thin(view.nav_history, max_points)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": view.name,
                "x": [point.timestamp.isoformat() for point in points],
                "y": rebased(points, view.initial_nav_usd),
                "line": {"color": colours[view.portfolio_id], "width": 2},
                "hovertemplate": "market date %{x}<br>%{y:.2f}<extra>%{fullData.name}</extra>",
            }
        )
    figure = base_figure(traces, x_title="market date", y_title=NAV_INDEX_TITLE, revision="nav")
    figure["layout"]["yaxis"].update(type="log" if log_scale else "linear", tickformat=",.0f")
    if not any(view.nav_history for view in portfolios):
        waiting(figure, "Waiting for the first cycle…")
    return figure


def latency_figure(
    cycles: Sequence[CycleReport],
    stage_names: Sequence[str],
    *,
    max_cycles: int = MAX_CYCLES_SHOWN,
) -> Figure:
    """Per-stage latency of the last ``max_cycles`` cycles as stacked bars, one colour a stage."""
    cycles = cycles[-max_cycles:]
    # Stages the snapshot does not name (a stage added later) still show, after the named ones.
    stages = list(stage_names)
    stages += sorted({stage for cycle in cycles for stage in cycle.stage_ms} - set(stages))
    colours = stage_colours(stages)
    cycle_numbers = [cycle.cycle for cycle in cycles]
    traces = [
        {
            "type": "bar",
            "name": stage,
            "x": cycle_numbers,
            "y": [cycle.stage_ms.get(stage, 0.0) for cycle in cycles],
            "marker": {"color": colours[stage]},
            "hovertemplate": "cycle %{x}<br>%{y:.2f} ms<extra>%{fullData.name}</extra>",
        }
        for stage in stages
    ]
    figure = base_figure(
        traces,
        x_title="cycle",
        y_title="latency (ms)",
        revision="latency",
        barmode="stack",
        bargap=0.1,
    )
    if not cycles:
        waiting(figure, "No cycle has run yet")
    return figure


def signal_heatmap(
    rows: Sequence[SignalRow],
    symbols: Sequence[str],
    *,
    origin_labels: Mapping[str, str],
    y_title: str,
) -> Figure:
    """Score per origin (source or portfolio) and instrument, red (sell) to green (buy).

    A cell whose confidence is 0 is left blank: the origin has no view there, which is not the
    same as a neutral view of 0.
    """
    origins = list(dict.fromkeys(row.origin for row in rows))
    line = {origin: index for index, origin in enumerate(origins)}
    column = {symbol: index for index, symbol in enumerate(symbols)}
    score: list[list[float | None]] = [[None] * len(symbols) for _ in origins]
    confidence: list[list[float | None]] = [[None] * len(symbols) for _ in origins]
    for row in rows:
        if row.symbol in column and row.confidence > 0:
            score[line[row.origin]][column[row.symbol]] = row.score
            confidence[line[row.origin]][column[row.symbol]] = row.confidence
    heatmap = {
        "type": "heatmap",
        "z": score,
        "x": list(symbols),
        "y": [origin_labels.get(origin, origin) for origin in origins],
        "customdata": confidence,
        "zmin": -1,
        "zmax": 1,
        "colorscale": [list(stop) for stop in SCORE_COLOURSCALE],
        "colorbar": {"title": {"text": "score"}, "tickvals": [-1, 0, 1], "thickness": 12},
        "texttemplate": "%{z:.2f}",
        "hovertemplate": (
            "%{y} · %{x}<br>score %{z:.2f}<br>confidence %{customdata:.0%}<extra></extra>"
        ),
        "xgap": 1,
        "ygap": 1,
    }
    figure = base_figure(
        [heatmap], x_title="instrument", y_title=y_title, revision=f"signals-{y_title}"
    )
    figure["layout"]["yaxis"]["autorange"] = "reversed"
    if not origins:
        waiting(figure, "No signals yet")
    return figure


def weights_figure(portfolio: PortfolioView, colour: str) -> Figure:
    """Target next to current weight of each holding and of cash, in percent of NAV."""
    positions = sorted(
        (p for p in portfolio.positions if p.quantity_shares or p.target_weight),
        key=lambda p: max(p.weight, p.target_weight),
        reverse=True,
    )
    labels = [p.symbol for p in positions] + ["cash"]
    target_pct = [p.target_weight * 100 for p in positions] + [portfolio.target_cash_weight * 100]
    current_pct = [p.weight * 100 for p in positions] + [portfolio.cash_weight * 100]
    traces = [
        {
            "type": "bar",
            "name": "target",
            "x": labels,
            "y": target_pct,
            "marker": {"color": translucent(colour, 0.3), "line": {"color": colour, "width": 1.5}},
            "hovertemplate": "%{x}<br>target %{y:.2f}% of NAV<extra></extra>",
        },
        {
            "type": "bar",
            "name": "current",
            "x": labels,
            "y": current_pct,
            "marker": {"color": colour},
            "hovertemplate": "%{x}<br>current %{y:.2f}% of NAV<extra></extra>",
        },
    ]
    figure = base_figure(
        traces,
        x_title="instrument",
        y_title="weight (% of NAV)",
        revision="weights",
        barmode="group",
        bargap=0.25,
        bargroupgap=0.05,
    )
    figure["layout"]["yaxis"]["ticksuffix"] = "%"
    return figure


def source_colours(sources: Sequence[str]) -> dict[str, str]:
    """Colour of each signal source, by its position in the engine's source list (fixed per run),
    with manual overrides in their own colour."""
    colours = {
        source: SOURCE_PALETTE[index % len(SOURCE_PALETTE)]
        for index, source in enumerate(s for s in sources if s != MANUAL_SOURCE)
    }
    colours[MANUAL_SOURCE] = MANUAL_COLOUR
    return colours


def _plain_layout(revision: str, **layout: Any) -> dict[str, Any]:
    """Layout of a figure with no axes (a Sankey): the theme, tight margins, kept UI state."""
    return {
        "template": THEME,
        "margin": {"l": 8, "r": 8, "t": 8, "b": 8},
        "uirevision": revision,
        "xaxis": {"visible": False},
        "yaxis": {"visible": False},
        **layout,
    }


def signal_flow_figure(
    flows: Sequence[SignalFlow],
    portfolio_names: Mapping[str, str],
    portfolio_colours: Mapping[str, str],
    colours_by_source: Mapping[str, str],
) -> Figure:
    """Sankey of where each portfolio's coordinated view comes from: source -> source/horizon ->
    portfolio.

    A flow's width is the sum over instruments of that raw view's share of the portfolio's
    coordinated score, in instrument-equivalents (a view that alone decides 3 instruments is 3).
    A source's width into its horizons is the sum of its horizons' flows over all portfolios.
    Links into a portfolio take the portfolio's colour; links out of a source take the source's.
    """
    flows = [flow for flow in flows if flow.weight > 0]
    keys = list(dict.fromkeys(flow.origin for flow in flows))
    source_of = {key: key.split("/", 1)[0] for key in keys}
    # Configured sources in their fixed order, then any other, and manual overrides last.
    present = set(source_of.values())
    sources = [s for s in colours_by_source if s in present and s != MANUAL_SOURCE]
    sources += [s for s in dict.fromkeys(source_of.values()) if s not in (*sources, MANUAL_SOURCE)]
    sources += [MANUAL_SOURCE] if MANUAL_SOURCE in present else []
    flowing = {flow.portfolio_id for flow in flows}
    portfolios = [pid for pid in portfolio_names if pid in flowing]
    portfolios += [
        pid for pid in dict.fromkeys(f.portfolio_id for f in flows) if pid not in portfolios
    ]

    full_names = sources + keys + [portfolio_names.get(pid, pid) for pid in portfolios]
    # The middle column names only the horizon: its colour already says the source, and the
    # full "source/horizon" labels of neighbouring nodes overlapped. Hover shows the full name.
    labels = (
        sources + [key.split("/", 1)[-1] for key in keys] + full_names[len(sources) + len(keys) :]
    )
    node = {name: index for index, name in enumerate(sources)}
    node.update({key: len(sources) + index for index, key in enumerate(keys)})
    first_portfolio = len(sources) + len(keys)
    portfolio_node = {pid: first_portfolio + index for index, pid in enumerate(portfolios)}
    node_colours = (
        [colours_by_source.get(source, MANUAL_COLOUR) for source in sources]
        + [translucent(colours_by_source.get(source_of[key], MANUAL_COLOUR), 0.7) for key in keys]
        + [portfolio_colours.get(pid, AXIS_LINE) for pid in portfolios]
    )

    through_key: dict[str, float] = {}
    for flow in flows:
        through_key[flow.origin] = through_key.get(flow.origin, 0.0) + flow.weight
    link_source = [node[source_of[key]] for key in keys]
    link_target = [node[key] for key in keys]
    link_value = [through_key[key] for key in keys]
    link_colour = [
        translucent(colours_by_source.get(source_of[key], MANUAL_COLOUR), 0.35) for key in keys
    ]
    for flow in flows:
        link_source.append(node[flow.origin])
        link_target.append(portfolio_node[flow.portfolio_id])
        link_value.append(flow.weight)
        link_colour.append(translucent(portfolio_colours.get(flow.portfolio_id, "#ADB5BD"), 0.45))

    sankey = {
        "type": "sankey",
        "arrangement": "snap",
        "valueformat": ".2f",
        "valuesuffix": f" {UNITS_FLOW}",
        "node": {
            "label": labels,
            "customdata": full_names,
            "color": node_colours,
            "pad": 22,
            "thickness": 14,
            "line": {"color": "white", "width": 0.5},
            "hovertemplate": f"%{{customdata}}<br>%{{value:.2f}} {UNITS_FLOW}<extra></extra>",
        },
        "link": {
            "source": link_source,
            "target": link_target,
            "value": link_value,
            "color": link_colour,
            "hovertemplate": (
                f"%{{source.customdata}} → %{{target.customdata}}<br>%{{value:.2f}} {UNITS_FLOW}"
                "<extra></extra>"
            ),
        },
    }
    figure: Figure = {"data": [sankey], "layout": _plain_layout("signal-flow")}
    if not flows:
        waiting(figure, "No coordinated signals yet")
    return figure


# Two traces a source: 300 dates a trace (a point every few pixels) keep the answer near 50 KiB
# over the whole bundled history with four sources; 600 made it 75 KiB, most of it dates.
QUALITY_POINTS_PER_TRACE = 300


def source_quality_figure(
    history: Sequence[QualityPoint],
    colours_by_source: Mapping[str, str],
    *,
    max_points: int = QUALITY_POINTS_PER_TRACE,
) -> Figure:
    """Rolling information coefficient of each source over market dates (top) and the weight
    multiplier it earns (bottom), one colour per source; a gap is a date with no measurement."""
    by_source: dict[str, list[QualityPoint]] = {}
    for point in history:
        by_source.setdefault(point.source, []).append(point)
    order = [s for s in colours_by_source if s in by_source]
    order += [s for s in by_source if s not in order]
    traces = []
    for source in order:
        points = thin(by_source[source], max_points)
        colour = colours_by_source.get(source, MANUAL_COLOUR)
        dates = [point.market_date.isoformat() for point in points]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": source,
                "legendgroup": source,
                "x": dates,
                "y": [point.ic if math.isfinite(point.ic) else None for point in points],
                "line": {"color": colour, "width": 2},
                "xaxis": "x",
                "yaxis": "y",
                "hovertemplate": "%{x}<br>rolling IC %{y:+.3f}<extra>%{fullData.name}</extra>",
            }
        )
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": source,
                "legendgroup": source,
                "showlegend": False,
                "x": dates,
                "y": [point.multiplier for point in points],
                "line": {"color": colour, "width": 1.5, "shape": "hv"},
                "xaxis": "x2",
                "yaxis": "y2",
                "hovertemplate": (
                    "%{x}<br>weight multiplier %{y:.2f}×<extra>%{fullData.name}</extra>"
                ),
            }
        )
    figure = base_figure(
        traces,
        x_title="",
        y_title="rolling IC",
        revision="source-quality",
    )
    layout = figure["layout"]
    layout["xaxis"].update(anchor="y", matches="x2", showticklabels=False)
    layout["yaxis"].update(domain=[0.5, 1.0], anchor="x", zeroline=True)
    layout["xaxis2"] = {"title": {"text": "market date"}, "anchor": "y2"}
    layout["yaxis2"] = {
        "title": {"text": "weight multiplier (×)"},
        "domain": [0.0, 0.4],
        "anchor": "x2",
    }
    layout["hovermode"] = "x unified"
    if not traces:
        waiting(figure, "Source quality not measured yet")
    return figure


def risk_contributions_figure(allocation: AllocationView | None, colour: str) -> Figure:
    """Each held instrument's share of the target's ex-ante variance, in percent, largest on top.

    A hedge can take variance away, so a share may be negative; the shares add up to 100%.
    """
    ranked = sorted(
        allocation.risk_contributions if allocation else (), key=lambda item: item[1], reverse=True
    )
    bar = {
        "type": "bar",
        "orientation": "h",
        "name": "risk contribution",
        "x": [share * 100 for _, share in ranked],
        "y": [symbol for symbol, _ in ranked],
        "marker": {"color": colour},
        "hovertemplate": "%{y}<br>%{x:.1f}% of ex-ante variance<extra></extra>",
    }
    figure = base_figure(
        [bar],
        x_title="share of ex-ante variance (%)",
        y_title="instrument",
        revision="risk-contributions",
        showlegend=False,
        bargap=0.25,
    )
    figure["layout"]["xaxis"]["ticksuffix"] = "%"
    # Plotly stacks categories bottom-up; reversed, the largest contribution reads first.
    figure["layout"]["yaxis"].update(autorange="reversed", type="category")
    if not ranked:
        waiting(figure, "No allocation yet" if allocation is None else "Nothing held at target")
    return figure
