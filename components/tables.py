"""Table builders: snapshot rows or events in, a Bootstrap table out (newest first where timed).

Numbers are right-aligned and formatted for a person (money to the cent, shares whole); the exact
values stay in the engine and the JSON API. Each cell is a Dash component, which costs about 15 us
to build and send: live tables show a bounded number of rows, and style a cell rather than wrap
its text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import dash_bootstrap_components as dbc
from dash import html

from components import formatting as fmt
from components.colours import NEGATIVE, POSITIVE
from engine.model import Event, Fill, Order, Side
from engine.snapshot import PortfolioView, SignalRow

# Rows a live table shows: enough to follow what just happened, few enough to redraw each second.
RECENT_ROWS = 50

# A payload longer than this is cut on screen; the full text is in the cell's tooltip.
PAYLOAD_DISPLAY_CHARS = 400

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    numeric: bool = False


@dataclass(frozen=True, slots=True)
class Cell:
    """A cell that needs its own class or style (a coloured side, a portfolio's colour bar).

    Styling the ``<td>`` itself, rather than wrapping the text in a span, keeps one component per
    cell.
    """

    content: Any
    class_name: str | None = None
    style: dict[str, str] | None = None


def _td(cell: Any, align: str | None) -> html.Td:
    if not isinstance(cell, Cell):
        return html.Td(cell, className=align)
    class_name = " ".join(name for name in (align, cell.class_name) if name) or None
    return html.Td(cell.content, className=class_name, style=cell.style)


def _table(columns: Sequence[Column], rows: Sequence[Sequence[Any]], *, empty: str) -> html.Div:
    align = ["text-end" if column.numeric else None for column in columns]
    header = html.Thead(
        html.Tr([html.Th(c.header, className=a) for c, a in zip(columns, align, strict=True)])
    )
    if rows:
        body = html.Tbody(
            [html.Tr([_td(cell, a) for cell, a in zip(row, align, strict=True)]) for row in rows]
        )
    else:
        body = html.Tbody(
            html.Tr(html.Td(empty, colSpan=len(columns), className="text-muted text-center"))
        )
    return html.Div(
        dbc.Table([header, body], striped=True, hover=True, size="sm", className="pc-table mb-0"),
        className="pc-table-wrap",
    )


def newest_first(items: Sequence[T], key: Callable[[T], Any]) -> list[T]:
    """Newest first by ``key``; items with the same key keep reverse arrival order.

    The snapshot lists recent orders and fills in the order they happened, so within one market
    day the later one is the one further down the tuple.
    """
    return sorted(reversed(items), key=key, reverse=True)


def portfolio_label(name: str, colour: str) -> html.Span:
    """A portfolio's name behind a swatch of its colour, as it appears on every page."""
    return html.Span(
        [html.Span(className="pc-swatch", style={"backgroundColor": colour}), name],
        className="pc-portfolio-label",
    )


class PortfolioLabels:
    """Cells naming a portfolio, with a bar of its colour at the left, for tables that mix them."""

    def __init__(self, portfolios: Sequence[PortfolioView], colours: Mapping[str, str]) -> None:
        self._names = {view.portfolio_id: view.name for view in portfolios}
        self._styles = {
            # A border, not an inset shadow: Bootstrap draws the row stripes with the shadow.
            portfolio_id: {"borderLeft": f"4px solid {colour}", "paddingLeft": "0.5rem"}
            for portfolio_id, colour in colours.items()
        }

    def __call__(self, portfolio_id: str | None) -> Cell | str:
        if portfolio_id is None:
            return fmt.EMPTY
        return Cell(
            self._names.get(portfolio_id, portfolio_id),
            class_name="pc-portfolio-cell",
            style=self._styles.get(portfolio_id),
        )


def _side(side: Side) -> Cell:
    return Cell(side.value, class_name=f"pc-side pc-side-{side.value.lower()}")


def _score(value: float) -> Cell:
    colour = POSITIVE if value > 0 else NEGATIVE if value < 0 else None
    return Cell(f"{value:+.2f}", style={"color": colour} if colour else None)


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
            _side(order.side),
            fmt.shares(order.quantity_shares),
            fmt.price(order.decision_price_usd),
            fmt.usd(order.decision_price_usd * order.quantity_shares),
        ]
        for order in newest_first(orders, key=lambda order: order.created)[:limit]
    ]
    return _table(ORDER_COLUMNS, rows, empty="No orders yet")


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
            _side(fill.side),
            fmt.shares(fill.quantity_shares),
            fmt.price(fill.price_usd),
            fmt.usd(fill.notional_usd),
            fmt.usd(fill.commission_usd),
        ]
        for fill in newest_first(fills, key=lambda fill: fill.timestamp)[:limit]
    ]
    return _table(FILL_COLUMNS, rows, empty="No fills yet")


HOLDING_COLUMNS = (
    Column("symbol"),
    Column("sector"),
    Column("shares", numeric=True),
    Column("price (USD)", numeric=True),
    Column("value (USD)", numeric=True),
    Column("weight", numeric=True),
    Column("target", numeric=True),
)


def holdings_table(portfolio: PortfolioView) -> html.Div:
    """Held or targeted positions, largest value first, then cash and the NAV they add up to."""
    positions = sorted(
        (p for p in portfolio.positions if p.quantity_shares or p.target_weight),
        key=lambda p: (p.market_value_usd, p.target_weight),
        reverse=True,
    )
    rows: list[list[Any]] = [
        [
            p.symbol,
            p.sector,
            fmt.shares(p.quantity_shares),
            fmt.price(p.price_usd),
            fmt.usd(p.market_value_usd),
            fmt.pct(p.weight, 2),
            fmt.pct(p.target_weight, 2),
        ]
        for p in positions
    ]
    rows.append(
        [
            html.Em("cash"),
            "",
            "",
            "",
            fmt.usd(portfolio.cash_usd),
            fmt.pct(portfolio.cash_weight, 2),
            fmt.pct(portfolio.target_cash_weight, 2),
        ]
    )
    rows.append([html.Strong("NAV"), "", "", "", html.Strong(fmt.usd(portfolio.nav_usd)), "", ""])
    return _table(HOLDING_COLUMNS, rows, empty="No holdings")


SIGNAL_COLUMNS = (
    Column("portfolio"),
    Column("symbol"),
    Column("score", numeric=True),
    Column("confidence", numeric=True),
)


def coordinated_signals_table(rows: Sequence[SignalRow], labels: PortfolioLabels) -> html.Div:
    """Views held with some confidence, per portfolio, strongest (|score| x confidence) first."""
    portfolio_order = {
        origin: index for index, origin in enumerate(dict.fromkeys(r.origin for r in rows))
    }
    ranked = sorted(
        (row for row in rows if row.confidence > 0),
        key=lambda row: (portfolio_order[row.origin], -abs(row.score) * row.confidence),
    )
    table_rows = [
        [labels(row.origin), row.symbol, _score(row.score), fmt.pct(row.confidence, 0)]
        for row in ranked
    ]
    return _table(SIGNAL_COLUMNS, table_rows, empty="No coordinated signals yet")


EVENT_COLUMNS = (
    Column("seq", numeric=True),
    Column("time"),
    Column("type"),
    Column("portfolio"),
    Column("actor"),
    Column("payload"),
)


def _payload(payload: dict[str, Any]) -> html.Code:
    text = fmt.compact_json(payload)
    if len(text) <= PAYLOAD_DISPLAY_CHARS:
        return html.Code(text, className="pc-payload")
    shown = text[: PAYLOAD_DISPLAY_CHARS - 1] + "…"
    return html.Code(shown, title=text, className="pc-payload")


def events_table(events: Sequence[Event], labels: PortfolioLabels) -> html.Div:
    """Events in the order given (the store returns newest first), payload as one line of JSON."""
    rows = [
        [
            event.seq if event.seq is not None else fmt.EMPTY,
            fmt.moment(event.timestamp),
            event.type,
            labels(event.portfolio_id),
            event.actor,
            _payload(event.payload),
        ]
        for event in events
    ]
    return _table(EVENT_COLUMNS, rows, empty="No events match these filters")
