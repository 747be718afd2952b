"""Allocation: target against current weights of one portfolio, and what it holds."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.layout import graph, page_title, titled_card


def layout() -> html.Div:
    return html.Div(
        [
            page_title("Allocation", "Target and current weights, in percent of NAV"),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.InputGroup(
                            [
                                dbc.InputGroupText("portfolio"),
                                dbc.Select(id=ids.ALLOCATION_PORTFOLIO_PICKER),
                            ]
                        ),
                        md=5,
                        lg=4,
                    ),
                    dbc.Col(html.Div(id=ids.ALLOCATION_SUMMARY), className="align-self-center"),
                ],
                className="mb-3",
            ),
            titled_card(
                "Target vs current weight",
                graph(ids.ALLOCATION_WEIGHTS_GRAPH, height_px=360),
                class_name="mb-3",
            ),
            titled_card(
                "Impact of the latest proposal (before its orders)",
                html.Div(id=ids.ALLOCATION_IMPACT),
                class_name="mb-3",
            ),
            titled_card("Holdings", html.Div(id=ids.ALLOCATION_HOLDINGS_TABLE), class_name="mb-3"),
            dcc.Store(id=ids.ALLOCATION_RENDERED),
        ]
    )


# Registered last: the page registry needs the layout function, defined above.
dash.register_page(__name__, path="/allocation", name="Allocation", order=2, layout=layout)
