"""Trades: per-portfolio order and fill counts, recent orders and fills, newest first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, html
from dash.exceptions import PreventUpdate

from components import ids
from components.colours import portfolio_colours
from components.tables import PortfolioLabels, fills_table, orders_table, portfolio_label

if TYPE_CHECKING:
    import dash

    from engine.coordinator import CoordinatorRunner
    from engine.events.store import SqlEventStore


def register(app: dash.Dash, runner: CoordinatorRunner, store: SqlEventStore) -> None:
    @app.callback(
        Output(ids.TRADES_SUMMARY, "children"),
        Output(ids.TRADES_ORDERS_TABLE, "children"),
        Output(ids.TRADES_FILLS_TABLE, "children"),
        Output(ids.TRADES_RENDERED, "data"),
        Input(ids.REFRESH_INTERVAL, "n_intervals"),
        State(ids.TRADES_RENDERED, "data"),
    )
    def show_trades(_tick: int | None, rendered_counts: list[int] | None) -> tuple[Any, ...]:
        snapshot = runner.snapshot()
        # Orders and fills arrive only on rebalancing days: redraw when a count moves.
        counts = [n for view in snapshot.portfolios for n in (view.orders_total, view.fills_total)]
        if counts == rendered_counts:
            raise PreventUpdate
        colours = portfolio_colours(view.portfolio_id for view in snapshot.portfolios)
        labels = PortfolioLabels(snapshot.portfolios, colours)
        summary = html.Div(
            [
                dbc.Badge(
                    [
                        portfolio_label(view.name, colours[view.portfolio_id]),
                        f" {view.orders_total:,} orders · {view.fills_total:,} fills",
                    ],
                    color="light",
                    text_color="dark",
                    className="pc-count-badge",
                )
                for view in snapshot.portfolios
            ],
            className="d-flex flex-wrap gap-2",
        )
        return (
            summary,
            orders_table(snapshot.recent_orders, labels),
            fills_table(snapshot.recent_fills, labels),
            counts,
        )
