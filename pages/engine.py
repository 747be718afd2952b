"""Engine: how the engine itself is doing. Its status and counters (cycles, market date,
replay speed), the last cycle's time and snapshot publication, cycle errors, where events go
(transport, relay lag), the time per stage of recent cycles, and the cycle time against the
200 ms seed gate and our 50 ms target.

The clock's controls (pause, speed, step) are in the navbar; this page only shows."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.layout import graph, kpi, titled_card


def _counters() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                dbc.Row(
                    [
                        dbc.Col(
                            html.Div(
                                [
                                    html.Div("engine", className="pc-kpi-label"),
                                    html.Div(html.Span(id=ids.ENGINE_STATUS_BADGE)),
                                ],
                                className="pc-kpi-tile",
                            )
                        ),
                        dbc.Col(kpi("cycles completed", ids.ENGINE_CYCLES)),
                        dbc.Col(kpi("market date", ids.ENGINE_MARKET_DATE)),
                        dbc.Col(kpi("replay speed", ids.ENGINE_SPEED)),
                        dbc.Col(kpi("last cycle", ids.ENGINE_LAST_CYCLE_MS)),
                        dbc.Col(kpi("snapshot publication", ids.ENGINE_SNAPSHOT_MS)),
                        dbc.Col(kpi("cycle errors", ids.ENGINE_CYCLE_ERRORS)),
                    ],
                    className="g-3",
                ),
                html.Div(id=ids.ENGINE_TRANSPORT, className="small text-muted mt-2"),
                html.Div(id=ids.ENGINE_PUBLISHED_AT, className="small text-muted"),
            ]
        ),
        className="pc-card mb-3",
    )


def layout() -> html.Div:
    return html.Div(
        [
            _counters(),
            html.Div(id=ids.ENGINE_ERROR),
            dbc.Row(
                [
                    dbc.Col(
                        titled_card(
                            "Cycle latency",
                            html.Div("…", id=ids.ENGINE_LATENCY_SUMMARY),
                        ),
                        lg=5,
                        className="mb-3",
                    ),
                    dbc.Col(
                        titled_card(
                            "Cycle time, recent cycles, against the 50 ms target and 200 ms gate",
                            graph(ids.ENGINE_LATENCY_TREND_GRAPH, height_px=320),
                        ),
                        lg=7,
                        className="mb-3",
                    ),
                ]
            ),
            titled_card(
                "Latency per stage, recent cycles",
                graph(ids.ENGINE_LATENCY_GRAPH, height_px=340),
                class_name="mb-3",
            ),
            dcc.Store(id=ids.ENGINE_LATENCY_RENDERED),
        ]
    )


# Registered last: the page registry needs the layout function, defined above.
dash.register_page(__name__, path="/engine", name="Engine", order=90, layout=layout)
