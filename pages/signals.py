"""Signals: the latest view of each source, and the coordinated view of each portfolio."""

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
                "Signals",
                "Score from -1 (sell) to +1 (buy) per instrument; blank where there is no view",
            ),
            titled_card(
                "Raw signals per source",
                graph(ids.SIGNALS_RAW_HEATMAP, height_px=260),
                class_name="mb-3",
            ),
            titled_card(
                "Coordinated signals per portfolio",
                graph(ids.SIGNALS_COORDINATED_HEATMAP, height_px=260),
                class_name="mb-3",
            ),
            dbc.Row(
                dbc.Col(
                    titled_card(
                        "Coordinated signals, strongest first",
                        html.Div(id=ids.SIGNALS_COORDINATED_TABLE),
                    ),
                    lg=8,
                    className="mb-3",
                )
            ),
            dcc.Store(id=ids.SIGNALS_RENDERED_CYCLE),
        ]
    )


# Registered last: the page registry needs the layout function, defined above.
dash.register_page(__name__, path="/signals", name="Signals", order=1, layout=layout)
