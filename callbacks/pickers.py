"""The portfolio picker that several pages share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dash import Input, Output, State
from dash.exceptions import PreventUpdate

from components import ids

if TYPE_CHECKING:
    import dash

    from engine.coordinator import CoordinatorRunner


def register_portfolio_picker(app: dash.Dash, runner: CoordinatorRunner, picker_id: str) -> None:
    """Fill ``picker_id`` with the portfolios and choose the first; the portfolios are fixed for
    a run, so once a choice is made it is left alone."""

    @app.callback(
        Output(picker_id, "options"),
        Output(picker_id, "value"),
        Input(ids.SNAPSHOT_VERSION, "data"),
        State(picker_id, "value"),
    )
    def offer_portfolios(_version: int | None, chosen: str | None) -> tuple[list[dict], str | None]:
        portfolios = runner.snapshot().portfolios
        if chosen is not None and any(view.portfolio_id == chosen for view in portfolios):
            raise PreventUpdate
        options = [{"label": view.name, "value": view.portfolio_id} for view in portfolios]
        return options, (portfolios[0].portfolio_id if portfolios else None)
