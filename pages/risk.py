"""Risk: one portfolio's exposures and risk at the latest close (gross, net, volatility, 1-day VaR
and CVaR at 95% and 99%, parametric and historical, drawdown), its net exposure by sector, each
instrument's and sector's share of the 99% VaR, and the historical 99% VaR of recent cycles."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.layout import graph, page_title, titled_card


def layout() -> html.Div:
    return html.Div(
        [
            page_title(
                "Risk",
                "Exposures, volatility, 1-day VaR and CVaR and drawdown, in percent of NAV; "
                "what adds to the VaR and what hedges it",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.InputGroup(
                            [
                                dbc.InputGroupText("portfolio"),
                                dbc.Select(id=ids.RISK_PORTFOLIO_PICKER),
                            ]
                        ),
                        md=5,
                        lg=4,
                    ),
                    dbc.Col(html.Div(id=ids.RISK_SUMMARY), className="align-self-center"),
                ],
                className="mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        titled_card(
                            "Exposures and risk",
                            html.Div(id=ids.RISK_FIGURES),
                            class_name="h-100",
                        ),
                        xl=7,
                        className="mb-3",
                    ),
                    dbc.Col(
                        titled_card(
                            "Net exposure by sector (% of NAV)",
                            graph(ids.RISK_SECTOR_EXPOSURE_GRAPH, height_px=320),
                            class_name="h-100",
                        ),
                        xl=5,
                        className="mb-3",
                    ),
                ]
            ),
            dbc.Row(
                [
                    dbc.Col(
                        titled_card(
                            "Share of the 1-day 99% VaR by instrument (negative: a hedge)",
                            graph(ids.RISK_CONTRIBUTIONS_GRAPH, height_px=420),
                            class_name="h-100",
                        ),
                        lg=6,
                        className="mb-3",
                    ),
                    dbc.Col(
                        titled_card(
                            "Share of the 1-day 99% VaR by sector (negative: a hedge)",
                            graph(ids.RISK_SECTOR_CONTRIBUTIONS_GRAPH, height_px=420),
                            class_name="h-100",
                        ),
                        lg=6,
                        className="mb-3",
                    ),
                ]
            ),
            titled_card(
                "Historical 1-day 99% VaR of recent cycles (% of NAV)",
                graph(ids.RISK_HISTORY_GRAPH, height_px=320),
                class_name="mb-3",
            ),
            dcc.Store(id=ids.RISK_RENDERED),
        ]
    )


# Registered last: the page registry needs the layout function, defined above. Order 3.5: right
# after Trades (3) and before Events (4).
dash.register_page(__name__, path="/risk", name="Risk", order=3.5, layout=layout)
