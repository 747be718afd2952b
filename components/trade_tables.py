"""Tables of the Trades page: recent orders and fills, the working-order blotter, internal crosses,
venue blocks and execution quality (implementation shortfall). Built with
components.tables.table."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from components import formatting as fmt
from components.tables import (
    RECENT_ROWS,
    Cell,
    Column,
    PortfolioLabels,
    build_table,
    newest_first,
    shown_of,
    side_cell,
)
from engine.model import Fill, Order
from engine.snapshot import (
    BlockView,
    CrossView,
    ExecutionQualityView,
    WorkingOrderView,
)

ORDER_COLUMNS = (
    Column("date"),
    Column("order"),
    Column("portfolio"),
    Column("symbol"),
    Column("side"),
    Column("shares", numeric=True),
    Column("decision price (USD)", numeric=True),
    Column("notional (USD)", numeric=True),
)


def orders_table(
    orders: Sequence[Order], labels: PortfolioLabels, *, limit: int = RECENT_ROWS
) -> html.Div:
    rows = [
        [
            fmt.day(order.created),
            order.order_id,
            labels(order.portfolio_id),
            order.symbol,
            side_cell(order.side),
            fmt.shares(order.quantity_shares),
            fmt.price(order.decision_price_usd),
            fmt.usd(order.decision_price_usd * order.quantity_shares),
        ]
        for order in newest_first(orders, key=lambda order: order.created)[:limit]
    ]
    return build_table(ORDER_COLUMNS, rows, empty="No orders yet")


FILL_COLUMNS = (
    Column("date"),
    Column("fill"),
    Column("order"),
    Column("portfolio"),
    Column("symbol"),
    Column("side"),
    Column("shares", numeric=True),
    Column("price (USD)", numeric=True),
    Column("notional (USD)", numeric=True),
    Column("commission (USD)", numeric=True),
)


def fills_table(
    fills: Sequence[Fill], labels: PortfolioLabels, *, limit: int = RECENT_ROWS
) -> html.Div:
    rows = [
        [
            fmt.day(fill.timestamp),
            fill.fill_id,
            fill.order_id,
            labels(fill.portfolio_id),
            fill.symbol,
            side_cell(fill.side),
            fmt.shares(fill.quantity_shares),
            fmt.price(fill.price_usd),
            fmt.usd(fill.notional_usd),
            fmt.usd(fill.commission_usd),
        ]
        for fill in newest_first(fills, key=lambda fill: fill.timestamp)[:limit]
    ]
    return build_table(FILL_COLUMNS, rows, empty="No fills yet")


# Trades: the working-order blotter, crosses, blocks and execution quality ----------------------

# The blotter shows every working order up to this many; past it, the newest, and says so.
WORKING_ROWS = 100
ORDER_STATE_COLOURS = {"NEW": "secondary", "PARTIALLY_FILLED": "info"}
TRADING_STATE_COLOURS = {"ACTIVE": "success", "REDUCING": "warning", "HALTED": "danger"}


def side_text_cell(side: str) -> Cell:
    """A side given as text (``"BUY"``), coloured like ``side_cell``."""
    return Cell(side, class_name=f"pc-side pc-side-{side.lower()}")


def _bps(value: float) -> str:
    """Basis points to one decimal; ``—`` when not measured (NaN)."""
    return f"{value:,.1f}" if math.isfinite(value) else fmt.EMPTY


def trading_state_badge(state: str, halt_reason: str | None = None) -> html.Span:
    """A portfolio's trading state (ACTIVE, REDUCING, HALTED) as a badge, with why it is not
    active when the engine says."""
    children: list[Any] = [
        dbc.Badge(
            state,
            color=TRADING_STATE_COLOURS.get(state, "secondary"),
            className="pc-status",
        )
    ]
    if halt_reason and state != "ACTIVE":
        children.append(html.Span(f" {halt_reason}", className="text-danger"))
    return html.Span(children, className="pc-trading-state")


def filled_progress(filled_shares: int, quantity_shares: int) -> list[Any]:
    """``1,200 / 5,000`` over a thin bar of the filled share of the order."""
    filled_pct = 100.0 * filled_shares / quantity_shares if quantity_shares else 0.0
    return [
        f"{fmt.shares(filled_shares)} / {fmt.shares(quantity_shares)}",
        dbc.Progress(
            value=filled_pct,
            color="success",
            style={"height": "4px"},
            className="mt-1",
        ),
    ]


WORKING_ORDER_COLUMNS = (
    Column("created"),
    Column("order"),
    Column("portfolio"),
    Column("symbol"),
    Column("side"),
    Column("filled / shares", numeric=True),
    Column("state"),
    Column("algorithm (why)"),
    Column("crossed shares", numeric=True),
    Column("est. cost (bps)", numeric=True),
    Column(""),
)


def working_orders_table(
    orders: Sequence[WorkingOrderView],
    labels: PortfolioLabels,
    cancel_button_id: Callable[[str], dict[str, str]],
    *,
    limit: int = WORKING_ROWS,
) -> html.Div:
    """The blotter: orders still working, newest first, each with its fill progress, state,
    the algorithm chosen and why, the shares crossed internally, the cost model's estimate and
    a Cancel button whose id ``cancel_button_id(order_id)`` names."""
    shown = newest_first(orders, key=lambda order: order.created)[:limit]
    rows = [
        [
            fmt.day(o.created),
            html.Code(o.order_id),
            labels(o.portfolio_id),
            o.symbol,
            side_text_cell(o.side),
            filled_progress(o.filled_shares, o.quantity_shares),
            dbc.Badge(o.state, color=ORDER_STATE_COLOURS.get(o.state, "secondary")),
            Cell(
                [html.Span(o.algorithm, className="fw-semibold"), html.Br(), o.reason],
                class_name="pc-wrap small",
            ),
            fmt.shares(o.crossed_shares) if o.crossed_shares else fmt.EMPTY,
            _bps(o.estimated_cost_bps),
            dbc.Button(
                "Cancel",
                id=cancel_button_id(o.order_id),
                size="sm",
                color="danger",
                outline=True,
                className="py-0",
            ),
        ]
        for o in shown
    ]
    table = build_table(
        WORKING_ORDER_COLUMNS, rows, empty="No working orders: nothing left to trade."
    )
    return shown_of(table, len(shown), len(orders))


def signed_portfolio_shares(
    portfolios: Sequence[tuple[str, int]],
    names: Mapping[str, str],
    colours: Mapping[str, str],
) -> list[Any]:
    """Each portfolio of a cross behind its colour, with its signed shares (+ bought, - sold),
    buyers first."""
    ranked = sorted(portfolios, key=lambda item: item[1], reverse=True)
    return [
        html.Span(
            [
                html.Span(
                    className="pc-swatch", style={"backgroundColor": colours.get(pid, "#ADB5BD")}
                ),
                f"{names.get(pid, pid)} {shares:+,}",
            ],
            className="pc-portfolio-label me-2",
        )
        for pid, shares in ranked
    ]


CROSS_COLUMNS = (
    Column("date"),
    Column("symbol"),
    Column("shares", numeric=True),
    Column("mid price (USD)", numeric=True),
    Column("portfolios (signed shares)"),
    Column("saving (USD)", numeric=True),
)


def crosses_table(
    crosses: Sequence[CrossView],
    names: Mapping[str, str],
    colours: Mapping[str, str],
    *,
    limit: int = RECENT_ROWS,
) -> html.Div:
    """Shares crossed internally between portfolios at the mid, newest first, with each
    portfolio's side and the spread and impact the venue would have charged (the saving)."""
    rows = [
        [
            fmt.day(c.market_date),
            c.symbol,
            fmt.shares(c.quantity_shares),
            fmt.price(c.price_usd),
            signed_portfolio_shares(c.portfolios, names, colours),
            fmt.usd(c.saving_usd),
        ]
        for c in newest_first(crosses, key=lambda c: c.market_date)[:limit]
    ]
    return build_table(
        CROSS_COLUMNS, rows, empty="No crosses yet: no two portfolios traded against each other."
    )


BLOCK_COLUMNS = (
    Column("block"),
    Column("date"),
    Column("symbol"),
    Column("side"),
    Column("shares", numeric=True),
    Column("filled", numeric=True),
    Column("fill rate", numeric=True),
    Column("child orders", numeric=True),
)


def blocks_table(blocks: Sequence[BlockView], *, limit: int = RECENT_ROWS) -> html.Div:
    """The day's blocks sent to the venue, newest first: the children's slices on one instrument
    and side as one order, and how much of it filled."""
    rows = [
        [
            html.Code(b.block_id),
            fmt.day(b.market_date),
            b.symbol,
            side_text_cell(b.side),
            fmt.shares(b.quantity_shares),
            fmt.shares(b.filled_shares),
            fmt.pct(b.filled_shares / b.quantity_shares if b.quantity_shares else None, 0),
            f"{b.children:,}",
        ]
        for b in newest_first(blocks, key=lambda b: b.market_date)[:limit]
    ]
    return build_table(BLOCK_COLUMNS, rows, empty="No blocks yet")


EXECUTION_QUALITY_COLUMNS = (
    Column("portfolio"),
    Column("orders", numeric=True),
    Column("decision notional (USD)", numeric=True),
    Column("delay (bps)", numeric=True),
    Column("spread (bps)", numeric=True),
    Column("impact (bps)", numeric=True),
    Column("commission (bps)", numeric=True),
    Column("opportunity (bps)", numeric=True),
    Column("total (bps)", numeric=True),
    Column("total (USD)", numeric=True),
    Column("crossing saving (USD)", numeric=True),
)


def execution_quality_table(
    quality: Sequence[ExecutionQualityView], labels: PortfolioLabels
) -> html.Div:
    """Implementation shortfall of each portfolio's completed orders, split into its parts
    (basis points of the decision notional; a cost is positive), and what crossing saved."""
    rows = [
        [
            labels(q.portfolio_id),
            f"{q.orders:,}",
            fmt.usd(q.decision_notional_usd),
            _bps(q.delay_bps),
            _bps(q.spread_bps),
            _bps(q.impact_bps),
            _bps(q.commission_bps),
            _bps(q.opportunity_bps),
            Cell(_bps(q.total_bps), class_name="fw-semibold"),
            fmt.usd(q.total_usd),
            fmt.usd(q.crossing_saving_usd),
        ]
        for q in quality
    ]
    return build_table(EXECUTION_QUALITY_COLUMNS, rows, empty="No completed orders yet to measure.")
