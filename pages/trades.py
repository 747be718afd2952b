"""Trades: the most recent orders and fills across portfolios, newest first."""

from __future__ import annotations

import dash
from dash import dcc, html

from components import ids
from components.layout import page_title, titled_card


def layout() -> html.Div:
    return html.Div(
        [
            page_title("Trades", "Recent orders and fills, newest first"),
            html.Div(id=ids.TRADES_SUMMARY, className="mb-3"),
            titled_card("Orders", html.Div(id=ids.TRADES_ORDERS_TABLE), class_name="mb-3"),
            titled_card("Fills", html.Div(id=ids.TRADES_FILLS_TABLE), class_name="mb-3"),
            dcc.Store(id=ids.TRADES_RENDERED),
        ]
    )


# Registered last: the page registry needs the layout function, defined above.
dash.register_page(__name__, path="/trades", name="Trades", order=3, layout=layout)
