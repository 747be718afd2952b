"""Risk: the portfolio picker, then the chosen portfolio's exposures and risk figures, net exposure
by sector, the shares of the 99% VaR by instrument and by sector, and the VaR history.

The engine measures risk once a cycle, at the close, so everything on the page is keyed by
(portfolio, market date of its risk view) in the rendered Store: a refresh that finds the same key
costs one lookup and redraws nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dash import Input, Output, State, html
from dash.exceptions import PreventUpdate

from callbacks.pickers import register_portfolio_picker
from components import formatting as fmt
from components import ids
from components.colours import portfolio_colours
from components.figures import (
    sector_exposure_figure,
    var_contributions_figure,
    var_history_figure,
)
from components.tables import portfolio_label, risk_figures

if TYPE_CHECKING:
    import dash

    from engine.coordinator import CoordinatorRunner
    from engine.events.store import SqlEventStore
    from engine.snapshot import RiskView, StateSnapshot


def risk_of(snapshot: StateSnapshot, portfolio_id: str) -> RiskView | None:
    """The portfolio's latest risk view, None until the engine has measured it."""
    return next((view for view in snapshot.risk if view.portfolio_id == portfolio_id), None)


def rendered_key(portfolio_id: str, risk: RiskView | None) -> list[str | None]:
    """What the page shows: the portfolio and the market date its risk was measured at (None
    before the first measurement), which changes when (and only when) the figures can."""
    return [portfolio_id, risk.market_date.isoformat() if risk else None]


def risk_summary(name: str, colour: str, risk: RiskView | None) -> html.Span:
    """The chosen portfolio and when its risk was measured."""
    when = (
        f" · risk at the close of {fmt.day(risk.market_date)}"
        if risk
        else " · no risk measured yet"
    )
    return html.Span([portfolio_label(name, colour), html.Span(when, className="text-muted")])


def register(app: dash.Dash, runner: CoordinatorRunner, store: SqlEventStore) -> None:
    register_portfolio_picker(app, runner, ids.RISK_PORTFOLIO_PICKER)

    @app.callback(
        Output(ids.RISK_SUMMARY, "children"),
        Output(ids.RISK_FIGURES, "children"),
        Output(ids.RISK_SECTOR_EXPOSURE_GRAPH, "figure"),
        Output(ids.RISK_CONTRIBUTIONS_GRAPH, "figure"),
        Output(ids.RISK_SECTOR_CONTRIBUTIONS_GRAPH, "figure"),
        Output(ids.RISK_HISTORY_GRAPH, "figure"),
        Output(ids.RISK_RENDERED, "data"),
        Input(ids.REFRESH_INTERVAL, "n_intervals"),
        Input(ids.RISK_PORTFOLIO_PICKER, "value"),
        State(ids.RISK_RENDERED, "data"),
    )
    def show_risk(
        _tick: int | None, portfolio_id: str | None, rendered: list[str | None] | None
    ) -> tuple[Any, ...]:
        if not portfolio_id:
            raise PreventUpdate
        snapshot = runner.snapshot()
        risk = risk_of(snapshot, portfolio_id)
        key = rendered_key(portfolio_id, risk)
        if key == rendered:
            raise PreventUpdate
        try:
            portfolio = snapshot.portfolio(portfolio_id)
        except KeyError as error:
            raise PreventUpdate from error
        colour = portfolio_colours(view.portfolio_id for view in snapshot.portfolios)[portfolio_id]
        return (
            risk_summary(portfolio.name, colour, risk),
            risk_figures(risk),
            sector_exposure_figure(risk, colour),
            var_contributions_figure(risk, colour),
            var_contributions_figure(risk, colour, by_sector=True),
            var_history_figure(risk, colour),
            key,
        )
