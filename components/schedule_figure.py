"""The execution schedule: each working order's days, done and still to trade, as a heatmap."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from components.figures import (
    AXIS_LINE,
    Figure,
    base_figure,
    waiting,
)
from engine.snapshot import (
    WorkingOrderView,
)

# Rows of the execution schedule: beyond this many orders a heatmap's rows cannot be read.
MAX_SCHEDULED_ORDERS = 30
# Days already traded are grey; days still to trade go from light to dark blue with their share
# of the order, colours that are no portfolio's.
SCHEDULE_DONE_COLOUR = "#CED4DA"
SCHEDULE_COLOURSCALE: tuple[tuple[float, str], ...] = ((0.0, "#DEEBF7"), (1.0, "#08519C"))


def schedule_days(order: WorkingOrderView) -> list[tuple[int, int]]:
    """Each day of an order's schedule as (planned shares, shares of it already filled).

    Fills are counted against the plan in its order: the first day's slice fills first, so a
    day is done once the filled shares cover its slice and every slice before it."""
    days = []
    before = 0
    for planned in order.schedule:
        done = min(max(order.filled_shares - before, 0), planned)
        days.append((planned, done))
        before += planned
    return days


def _order_label(order: WorkingOrderView, name: str, colour: str) -> str:
    """The order's row label: a swatch of its portfolio's colour, what it trades, and its id
    (which keeps two orders in the same instrument apart)."""
    return (
        f"<span style='color:{colour}'>■</span> {order.symbol} {order.side} "
        f"{order.quantity_shares:,} · {name} · {order.order_id}"
    )


def execution_schedule_figure(
    orders: Sequence[WorkingOrderView],
    names: Mapping[str, str],
    colours: Mapping[str, str],
    *,
    max_orders: int = MAX_SCHEDULED_ORDERS,
) -> Figure:
    """The plan of each working order, newest on top: planned shares per day of its schedule
    (day 1 = the day it was created), in grey once filled, in blue, darker for a larger share
    of the order, while still to trade. Each cell reads its planned shares."""
    shown = sorted(reversed(orders), key=lambda order: order.created, reverse=True)[:max_orders]
    width = max((len(order.schedule) for order in shown), default=0)
    days = list(range(1, width + 1))
    labels = [
        _order_label(
            o, names.get(o.portfolio_id, o.portfolio_id), colours.get(o.portfolio_id, AXIS_LINE)
        )
        for o in shown
    ]
    to_trade: list[list[float | None]] = []
    filled: list[list[float | None]] = []
    text: list[list[str]] = []
    hover: list[list[str]] = []
    for order in shown:
        to_trade_row: list[float | None] = [None] * width
        filled_row: list[float | None] = [None] * width
        text_row = [""] * width
        hover_row = [""] * width
        for day, (planned, done) in enumerate(schedule_days(order)):
            if planned <= 0:
                continue
            share_pct = 100.0 * planned / order.quantity_shares if order.quantity_shares else 0.0
            if done >= planned:
                filled_row[day] = share_pct
                status = "filled"
            else:
                to_trade_row[day] = share_pct
                status = f"{done:,} filled, {planned - done:,} to trade"
            text_row[day] = f"{planned:,}"
            hover_row[day] = (
                f"{order.symbol} {order.side} · {order.order_id}<br>day {day + 1}: "
                f"{planned:,} shares planned ({share_pct:.0f}% of the order)<br>{status}"
            )
        to_trade.append(to_trade_row)
        filled.append(filled_row)
        text.append(text_row)
        hover.append(hover_row)
    common = {
        "type": "heatmap",
        "x": days,
        "y": labels,
        "text": text,
        "customdata": hover,
        "texttemplate": "%{text}",
        "hovertemplate": "%{customdata}<extra></extra>",
        "xgap": 2,
        "ygap": 2,
    }
    traces = [
        {
            **common,
            "name": "filled",
            "z": filled,
            "zmin": 0,
            "zmax": 100,
            "colorscale": [[0.0, SCHEDULE_DONE_COLOUR], [1.0, SCHEDULE_DONE_COLOUR]],
            "showscale": False,
        },
        {
            **common,
            "name": "to trade",
            "z": to_trade,
            "zmin": 0,
            "zmax": 100,
            "colorscale": [list(stop) for stop in SCHEDULE_COLOURSCALE],
            "colorbar": {
                "title": {"text": "% of the order", "side": "right"},
                "ticksuffix": "%",
                "thickness": 12,
            },
        },
    ]
    figure = base_figure(
        traces,
        x_title="day of the order's schedule (1 = the day it was created)",
        y_title="",
        revision="execution-schedule",
        showlegend=False,
    )
    layout = figure["layout"]
    layout["xaxis"].update(dtick=1, tickprefix="day ", showgrid=False)
    layout["yaxis"].update(autorange="reversed", type="category", showgrid=False)
    if not shown:
        waiting(figure, "No working orders: nothing scheduled")
    elif len(orders) > len(shown):
        layout["annotations"] = [
            {
                "text": f"the {len(shown)} newest of {len(orders):,} working orders",
                "showarrow": False,
                "xref": "paper",
                "yref": "paper",
                "x": 1,
                "y": 1.0,
                "xanchor": "right",
                "yanchor": "bottom",
                "font": {"size": 11, "color": "#6c757d"},
            }
        ]
    return figure
