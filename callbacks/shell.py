"""The navbar's live engine status and market date, on every page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dash import Input, Output

from components import formatting as fmt
from components import ids
from components.cards import status_badge

if TYPE_CHECKING:
    import dash
    import dash_bootstrap_components as dbc

    from engine.coordinator import CoordinatorRunner
    from engine.views.queries import EventQueries


def register(app: dash.Dash, runner: CoordinatorRunner, queries: EventQueries) -> None:
    @app.callback(
        Output(ids.NAVBAR_STATUS, "children"),
        Output(ids.NAVBAR_MARKET_DATE, "children"),
        Input(ids.REFRESH_INTERVAL, "n_intervals"),
    )
    def show_engine_state(_tick: int | None) -> tuple[dbc.Badge, str]:
        snapshot = runner.snapshot()
        return status_badge(snapshot.status), f"market {fmt.day(snapshot.market_date)}"
