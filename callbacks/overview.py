"""Overview: the read model's figures for a portfolio manager (``snapshot.overview``), the NAV
chart rebased to 100, and the open risk alerts.

Everything shown is computed once per snapshot by engine/views/overview.py; these callbacks only
format it. The page redraws when the engine published a new cycle, and the scale switch patches
the chart's axis alone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dash import Input, Output, Patch, State
from dash.exceptions import PreventUpdate

from components import formatting as fmt
from components import ids
from components.cards import alerts_table, books_table, pnl_text
from components.colours import portfolio_colours
from components.figures import nav_figure

if TYPE_CHECKING:
    import dash

    from engine.coordinator import CoordinatorRunner
    from engine.views.queries import EventQueries


def register(app: dash.Dash, runner: CoordinatorRunner, queries: EventQueries) -> None:
    @app.callback(
        Output(ids.OVERVIEW_MARKET_DATE, "children"),
        Output(ids.OVERVIEW_AUM, "children"),
        Output(ids.OVERVIEW_PNL_TODAY, "children"),
        Output(ids.OVERVIEW_PNL_PERIOD, "children"),
        Output(ids.OVERVIEW_CASH_TO_INVEST, "children"),
        Output(ids.OVERVIEW_ALERT_COUNT, "children"),
        Output(ids.OVERVIEW_BOOKS_TABLE, "children"),
        Output(ids.OVERVIEW_ALERTS_TABLE, "children"),
        Output(ids.OVERVIEW_NAV_GRAPH, "figure"),
        Output(ids.OVERVIEW_RENDERED, "data"),
        Input(ids.SNAPSHOT_VERSION, "data"),
        State(ids.OVERVIEW_RENDERED, "data"),
        State(ids.OVERVIEW_NAV_SCALE, "value"),
    )
    def show_overview(
        _version: int | None, rendered: list[Any] | None, scale: str | None
    ) -> tuple[Any, ...]:
        snapshot = runner.snapshot()
        overview = snapshot.overview
        # Keyed on the cycle and the open alerts: a paused engine, or a publication that
        # changed neither (a command applied between cycles), costs no redraw. An acknowledged
        # or raised alert changes the alerts' key.
        key = [
            snapshot.cycles_completed,
            [(a.alert_id, a.acknowledged_by) for a in snapshot.risk_alerts],
            [(v.portfolio_id, v.trading_state) for v in snapshot.portfolios],
        ]
        if overview is None or key == rendered:
            raise PreventUpdate
        colours = portfolio_colours(view.portfolio_id for view in snapshot.portfolios)
        names = {view.portfolio_id: view.name for view in snapshot.portfolios}
        alerts = f"{overview.breaches:,} breaches · {overview.alerts:,} open"
        return (
            fmt.day(overview.market_date),
            fmt.usd(overview.aum_usd),
            pnl_text(overview.pnl_today_usd, overview.pnl_today_pct),
            pnl_text(overview.pnl_period_usd, overview.pnl_period_pct),
            fmt.usd(overview.cash_to_invest_usd),
            alerts,
            books_table(overview, colours),
            alerts_table(snapshot.risk_alerts, names, colours),
            nav_figure(snapshot.portfolios, colours, log_scale=scale == "log"),
            key,
        )

    @app.callback(
        Output(ids.OVERVIEW_NAV_GRAPH, "figure", allow_duplicate=True),
        Input(ids.OVERVIEW_NAV_SCALE, "value"),
        prevent_initial_call=True,
    )
    def switch_nav_scale(scale: str) -> Patch:
        # Only the axis changes: a patch of two properties instead of every line again.
        patch = Patch()
        patch["layout"]["yaxis"]["type"] = "log" if scale == "log" else "linear"
        patch["layout"]["yaxis"]["autorange"] = True
        return patch
