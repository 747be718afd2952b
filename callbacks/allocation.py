"""Allocation: the portfolio picker, target vs current weights, and the holdings table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dash import Input, Output, State, html
from dash.exceptions import PreventUpdate

from components import formatting as fmt
from components import ids
from components.colours import portfolio_colours
from components.figures import weights_figure
from components.tables import holdings_table, impact_table, portfolio_label

if TYPE_CHECKING:
    import dash

    from engine.coordinator import CoordinatorRunner
    from engine.events.store import SqlEventStore


def register(app: dash.Dash, runner: CoordinatorRunner, store: SqlEventStore) -> None:
    @app.callback(
        Output(ids.ALLOCATION_PORTFOLIO_PICKER, "options"),
        Output(ids.ALLOCATION_PORTFOLIO_PICKER, "value"),
        Input(ids.REFRESH_INTERVAL, "n_intervals"),
        State(ids.ALLOCATION_PORTFOLIO_PICKER, "value"),
    )
    def offer_portfolios(_tick: int | None, chosen: str | None) -> tuple[list[dict], str | None]:
        portfolios = runner.snapshot().portfolios
        # The portfolios are fixed for a run: fill the picker once and then leave the choice alone.
        if chosen is not None and any(view.portfolio_id == chosen for view in portfolios):
            raise PreventUpdate
        options = [{"label": view.name, "value": view.portfolio_id} for view in portfolios]
        return options, (portfolios[0].portfolio_id if portfolios else None)

    @app.callback(
        Output(ids.ALLOCATION_WEIGHTS_GRAPH, "figure"),
        Output(ids.ALLOCATION_HOLDINGS_TABLE, "children"),
        Output(ids.ALLOCATION_SUMMARY, "children"),
        Output(ids.ALLOCATION_IMPACT, "children"),
        Output(ids.ALLOCATION_RENDERED, "data"),
        Input(ids.REFRESH_INTERVAL, "n_intervals"),
        Input(ids.ALLOCATION_PORTFOLIO_PICKER, "value"),
        State(ids.ALLOCATION_RENDERED, "data"),
    )
    def show_allocation(
        _tick: int | None, portfolio_id: str | None, rendered: dict[str, Any] | None
    ) -> tuple[Any, ...]:
        if not portfolio_id:
            raise PreventUpdate
        snapshot = runner.snapshot()
        shown = {"portfolio_id": portfolio_id, "cycle": snapshot.cycles_completed}
        if shown == rendered:
            raise PreventUpdate
        colours = portfolio_colours(view.portfolio_id for view in snapshot.portfolios)
        try:
            portfolio = snapshot.portfolio(portfolio_id)
        except KeyError as error:
            raise PreventUpdate from error
        colour = colours[portfolio_id]
        summary = html.Span(
            [
                portfolio_label(portfolio.name, colour),
                html.Span(
                    f" NAV {fmt.usd(portfolio.nav_usd)}"
                    f" · cash {fmt.usd(portfolio.cash_usd)} ({fmt.pct(portfolio.cash_weight)})"
                    f" · sources: {', '.join(portfolio.sources)}"
                    f" · sizing: {portfolio.allocation_model}",
                    className="text-muted",
                ),
            ]
        )
        return (
            weights_figure(portfolio, colour),
            holdings_table(portfolio),
            summary,
            impact_table(portfolio.impact),
            shown,
        )
