"""Overview, the portfolio manager's landing page: total AUM, today's and the period's P&L, cash
to invest and alerts over all books; per portfolio the same with drift from target and annual
turnover; NAV rebased to 100 (linear or log scale); the open risk alerts.

The engine's own health (latency, stages, transport, errors) is on the Engine page."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.layout import graph, kpi, titled_card


def _totals() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            dbc.Row(
                [
                    dbc.Col(kpi("market date", ids.OVERVIEW_MARKET_DATE)),
                    dbc.Col(kpi("total AUM (USD)", ids.OVERVIEW_AUM)),
                    dbc.Col(kpi("today's P&L (USD, %)", ids.OVERVIEW_PNL_TODAY)),
                    dbc.Col(kpi("P&L since start (USD, %)", ids.OVERVIEW_PNL_PERIOD)),
                    dbc.Col(kpi("cash to invest (USD)", ids.OVERVIEW_CASH_TO_INVEST)),
                    dbc.Col(kpi("alerts", ids.OVERVIEW_ALERT_COUNT)),
                ],
                className="g-3",
            )
        ),
        className="pc-card mb-3",
    )


def _nav_scale() -> dbc.RadioItems:
    return dbc.RadioItems(
        id=ids.OVERVIEW_NAV_SCALE,
        options=[{"label": "linear", "value": "linear"}, {"label": "log", "value": "log"}],
        value="linear",
        inline=True,
        className="small mb-1",
    )


def layout() -> html.Div:
    return html.Div(
        [
            _totals(),
            titled_card(
                "Portfolios: money in USD, P&L as USD (%), drift and cash in % of NAV, "
                "turnover in × NAV a year",
                html.Div("…", id=ids.OVERVIEW_BOOKS_TABLE),
                class_name="mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        titled_card(
                            "NAV rebased to 100 at each portfolio's start, by market date",
                            [_nav_scale(), graph(ids.OVERVIEW_NAV_GRAPH, height_px=360)],
                        ),
                        lg=7,
                        className="mb-3",
                    ),
                    dbc.Col(
                        titled_card(
                            "Open risk alerts",
                            html.Div("…", id=ids.OVERVIEW_ALERTS_TABLE),
                        ),
                        lg=5,
                        className="mb-3",
                    ),
                ]
            ),
            dcc.Store(id=ids.OVERVIEW_RENDERED),
        ]
    )


# Registered last: the page registry needs the layout function, defined above.
dash.register_page(__name__, path="/", name="Overview", order=0, layout=layout)
