"""Signals: heatmaps of raw (per source) and coordinated (per portfolio) scores, and a table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dash import Input, Output, State
from dash.exceptions import PreventUpdate

from components import ids
from components.colours import portfolio_colours
from components.figures import signal_heatmap
from components.tables import PortfolioLabels, coordinated_signals_table

if TYPE_CHECKING:
    import dash

    from engine.coordinator import CoordinatorRunner
    from engine.events.store import SqlEventStore


def register(app: dash.Dash, runner: CoordinatorRunner, store: SqlEventStore) -> None:
    @app.callback(
        Output(ids.SIGNALS_RAW_HEATMAP, "figure"),
        Output(ids.SIGNALS_COORDINATED_HEATMAP, "figure"),
        Output(ids.SIGNALS_COORDINATED_TABLE, "children"),
        Output(ids.SIGNALS_RENDERED_CYCLE, "data"),
        Input(ids.REFRESH_INTERVAL, "n_intervals"),
        State(ids.SIGNALS_RENDERED_CYCLE, "data"),
    )
    def show_signals(_tick: int | None, rendered_cycle: int | None) -> tuple[Any, ...]:
        snapshot = runner.snapshot()
        if snapshot.cycles_completed == rendered_cycle:
            raise PreventUpdate
        symbols = [instrument.symbol for instrument in snapshot.instruments]
        names = {view.portfolio_id: view.name for view in snapshot.portfolios}
        colours = portfolio_colours(names)
        return (
            signal_heatmap(snapshot.raw_signals, symbols, origin_labels={}, y_title="source"),
            signal_heatmap(
                snapshot.coordinated_signals, symbols, origin_labels=names, y_title="portfolio"
            ),
            coordinated_signals_table(
                snapshot.coordinated_signals, PortfolioLabels(snapshot.portfolios, colours)
            ),
            snapshot.cycles_completed,
        )
