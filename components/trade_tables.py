"""Tables of the Trades page. Orders, fills and the working-order blotter are server-paged grids
(components/grid.py): column definitions here, and the plain JSON rows a grid pages. Internal
crosses, venue blocks and execution quality are short tables built with components.tables."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from components import formatting as fmt
from components.grid import (
    date_column,
    money_column,
    number_column,
    percent_column,
    shares_column,
    text_column,
)
from components.tables import (
    Cell,
    Column,
    PortfolioLabels,
    build_table,
    newest_first,
)
from engine.model import Fill, Order
from engine.snapshot import (
    BlockView,
    CrossView,
    ExecutionQualityView,
    WorkingOrderView,
)

# Orders, fills and working orders: server-paged grids (components/grid.py) ------------------
# Their rows are plain JSON built once per snapshot (callbacks/trades.py keeps them); the grid
# asks for a page at a time and the server sorts and filters that list.

ORDERS_GRID_PAGE = 20
CENT = Decimal("0.01")


def _side_column() -> dict:
    column = text_column("side", "side", width=90)
    column["cellClassRules"] = {
        "pc-side pc-side-buy": "params.value == 'BUY'",
        "pc-side pc-side-sell": "params.value == 'SELL'",
    }
    return column


def _money(value: Decimal) -> float:
    # Amounts to the cent; the ledger keeps the exact amount, the grid only shows it.
    return float(value.quantize(CENT))


def _price(value: Decimal) -> float:
    # Prices are kept to four decimals (engine/model.py): shown as they are.
    return float(value)


ORDER_GRID_COLUMNS = (
    text_column("order_id", "order", pinned=True, width=200),
    text_column("portfolio", "portfolio", pinned=True, width=150),
    text_column("symbol", "symbol", pinned=True, width=100),
    date_column("created", "market date"),
    _side_column(),
    shares_column("quantity_shares", "shares"),
    money_column("decision_price_usd", "decision price", decimals=4),
    money_column("notional_usd", "notional"),
)


def order_rows(orders: Sequence[Order], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """The grid rows of ``orders``, newest first (the grid's order before any sort)."""
    return [
        {
            "order_id": order.order_id,
            "portfolio": names.get(order.portfolio_id, order.portfolio_id),
            "symbol": order.symbol,
            "created": order.created.isoformat(),
            "side": order.side.value,
            "quantity_shares": order.quantity_shares,
            "decision_price_usd": _price(order.decision_price_usd),
            "notional_usd": _money(order.decision_price_usd * order.quantity_shares),
        }
        for order in newest_first(orders, key=lambda order: order.created)
    ]


FILL_GRID_COLUMNS = (
    text_column("fill_id", "fill", pinned=True, width=210),
    text_column("portfolio", "portfolio", pinned=True, width=150),
    text_column("symbol", "symbol", pinned=True, width=100),
    date_column("date", "market date"),
    text_column("order_id", "order", width=200),
    _side_column(),
    shares_column("quantity_shares", "shares"),
    money_column("price_usd", "price", decimals=4),
    money_column("notional_usd", "notional"),
    money_column("commission_usd", "commission"),
)


def fill_rows(fills: Sequence[Fill], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """The grid rows of ``fills``, newest first."""
    return [
        {
            "fill_id": fill.fill_id,
            "portfolio": names.get(fill.portfolio_id, fill.portfolio_id),
            "symbol": fill.symbol,
            "date": fill.timestamp.isoformat(),
            "order_id": fill.order_id,
            "side": fill.side.value,
            "quantity_shares": fill.quantity_shares,
            "price_usd": _price(fill.price_usd),
            "notional_usd": _money(fill.notional_usd),
            "commission_usd": _money(fill.commission_usd),
        }
        for fill in newest_first(fills, key=lambda fill: fill.timestamp)
    ]


def shown_of_total(kind: str, held: int, total: int) -> str:
    """The header note of a grid that pages the read model's newest ``held`` of ``total``."""
    if total <= held:
        return f"all {total:,} {kind}, newest first"
    return (
        f"the newest {held:,} of {total:,} {kind} (the dashboard keeps the most recent ones; "
        "`pcoord events` lists them all)"
    )


# Trades: the working-order blotter, crosses, blocks and execution quality ----------------------

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


WORKING_GRID_COLUMNS = (
    text_column("order_id", "order", pinned=True, width=200),
    text_column("portfolio", "portfolio", pinned=True, width=150),
    text_column("symbol", "symbol", pinned=True, width=100),
    date_column("created", "created (market date)"),
    _side_column(),
    shares_column("quantity_shares", "shares"),
    shares_column("filled_shares", "filled"),
    shares_column("left_shares", "left"),
    money_column("left_usd", "left (at decision price)"),
    text_column("state", "state", width=150),
    text_column("algorithm", "algorithm", width=120),
    {**text_column("reason", "why", width=260), "tooltipField": "reason"},
    shares_column("crossed_shares", "crossed"),
    number_column("estimated_cost_bps", "est. cost (bps)", decimals=1),
)


def working_order_rows(
    orders: Sequence[WorkingOrderView], names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The grid rows of the orders working now, newest first; what is left is what a Cancel
    would stop."""
    return [
        {
            "order_id": o.order_id,
            "portfolio": names.get(o.portfolio_id, o.portfolio_id),
            "symbol": o.symbol,
            "created": o.created.isoformat(),
            "side": o.side,
            "quantity_shares": o.quantity_shares,
            "filled_shares": o.filled_shares,
            "left_shares": o.quantity_shares - o.filled_shares,
            "left_usd": _money(o.decision_price_usd * (o.quantity_shares - o.filled_shares)),
            "state": o.state,
            "algorithm": o.algorithm,
            "reason": o.reason,
            "crossed_shares": o.crossed_shares,
            "estimated_cost_bps": o.estimated_cost_bps
            if math.isfinite(o.estimated_cost_bps)
            else None,
        }
        for o in newest_first(orders, key=lambda order: order.created)
    ]


def describe_cancel_before_after(order: WorkingOrderView, portfolio_name: str) -> str:
    """What a Cancel of ``order`` would do, before -> after, in the desk's words:
    ``Cancel BUY 1,200 AAPL (800 left, $96,000.00) in Growth: working -> cancelled``."""
    left = order.quantity_shares - order.filled_shares
    left_usd = order.decision_price_usd * left
    return (
        f"Cancel {order.side} {order.quantity_shares:,} {order.symbol} ({left:,} left, "
        f"${left_usd:,.2f}) in {portfolio_name}: working -> cancelled"
    )


def signed_portfolio_shares(portfolios: Sequence[tuple[str, int]], names: Mapping[str, str]) -> str:
    """Each portfolio of a cross with its signed shares (+ bought, - sold), buyers first:
    ``Income +1,200 · Growth -1,200``."""
    ranked = sorted(portfolios, key=lambda item: item[1], reverse=True)
    return " · ".join(f"{names.get(pid, pid)} {shares:+,}" for pid, shares in ranked)


CROSS_GRID_COLUMNS = (
    date_column("market_date", "market date", pinned=True),
    text_column("symbol", "symbol", pinned=True, width=100),
    shares_column("quantity_shares", "shares"),
    money_column("price_usd", "mid price", decimals=4),
    {**text_column("portfolios", "portfolios (signed shares)", width=260), "flex": 2},
    money_column("saving_usd", "saving"),
)


def cross_rows(crosses: Sequence[CrossView], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """Shares crossed internally between portfolios at the mid, newest first, with each
    portfolio's side and the spread and impact the venue would have charged (the saving)."""
    return [
        {
            "market_date": c.market_date.isoformat(),
            "symbol": c.symbol,
            "quantity_shares": c.quantity_shares,
            "price_usd": _price(c.price_usd),
            "portfolios": signed_portfolio_shares(c.portfolios, names),
            "saving_usd": _money(c.saving_usd),
        }
        for c in newest_first(crosses, key=lambda c: c.market_date)
    ]


BLOCK_GRID_COLUMNS = (
    text_column("block_id", "block", pinned=True, width=150),
    date_column("market_date", "market date"),
    text_column("symbol", "symbol", width=100),
    _side_column(),
    shares_column("quantity_shares", "shares"),
    shares_column("filled_shares", "filled"),
    percent_column("fill_rate", "fill rate", decimals=0),
    number_column("children", "child orders", decimals=0),
)


def block_rows(blocks: Sequence[BlockView]) -> list[dict[str, Any]]:
    """The blocks sent to the venue, newest first: the children's slices on one instrument and
    side as one order, and how much of it filled."""
    return [
        {
            "block_id": b.block_id,
            "market_date": b.market_date.isoformat(),
            "symbol": b.symbol,
            "side": b.side,
            "quantity_shares": b.quantity_shares,
            "filled_shares": b.filled_shares,
            "fill_rate": b.filled_shares / b.quantity_shares if b.quantity_shares else None,
            "children": b.children,
        }
        for b in newest_first(blocks, key=lambda b: b.market_date)
    ]


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
