"""Overview: engine status and controls, live counters, NAV per portfolio, cycle latency per stage
and against the seed gate and our target."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.layout import graph, kpi, titled_card


def _engine_controls() -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.Span("engine", className="pc-kpi-label me-2"),
                    html.Span(id=ids.OVERVIEW_STATUS_BADGE),
                    html.Small(id=ids.OVERVIEW_REFRESHED_AT, className="text-muted ms-3"),
                ],
                className="d-flex align-items-center mb-2",
            ),
            html.Div(
                [
                    dbc.Button("Pause", id=ids.OVERVIEW_PAUSE_BUTTON, color="warning", size="sm"),
                    dbc.Button("Resume", id=ids.OVERVIEW_RESUME_BUTTON, color="success", size="sm"),
                    dbc.InputGroup(
                        [
                            dbc.Input(
                                id=ids.OVERVIEW_SPEED_INPUT,
                                # No min/max here: the engine's own range check explains a
                                # wrong speed, where the browser would silently drop it.
                                type="number",
                                step="any",
                                placeholder="days/s",
                                className="pc-speed-input",
                            ),
                            dbc.Button("Set speed", id=ids.OVERVIEW_SPEED_BUTTON, color="primary"),
                        ],
                        size="sm",
                        className="w-auto",
                    ),
                ],
                className="d-flex flex-wrap align-items-center gap-2",
            ),
            html.Div(id=ids.OVERVIEW_COMMAND_FEEDBACK, className="small mt-2", role="status"),
        ]
    )


def layout() -> html.Div:
    return html.Div(
        [
            dbc.Card(
                dbc.CardBody(
                    dbc.Row(
                        [
                            dbc.Col(_engine_controls(), lg=6, className="mb-2 mb-lg-0"),
                            dbc.Col(
                                [
                                    dbc.Row(
                                        [
                                            dbc.Col(kpi("cycles completed", ids.OVERVIEW_CYCLES)),
                                            dbc.Col(kpi("market date", ids.OVERVIEW_MARKET_DATE)),
                                            dbc.Col(kpi("replay speed", ids.OVERVIEW_SPEED)),
                                            dbc.Col(kpi("last cycle", ids.OVERVIEW_LAST_CYCLE_MS)),
                                        ]
                                    ),
                                    html.Div(
                                        id=ids.OVERVIEW_TRANSPORT, className="small text-muted mt-1"
                                    ),
                                ],
                                lg=6,
                                className="align-self-center",
                            ),
                        ]
                    )
                ),
                className="pc-card mb-3",
            ),
            html.Div(id=ids.OVERVIEW_ERROR),
            html.Div(id=ids.OVERVIEW_PORTFOLIO_CARDS),
            dbc.Row(
                [
                    dbc.Col(
                        titled_card(
                            "NAV per portfolio", graph(ids.OVERVIEW_NAV_GRAPH, height_px=340)
                        ),
                        lg=7,
                        className="mb-3",
                    ),
                    dbc.Col(
                        titled_card(
                            "Latency per stage, recent cycles",
                            graph(ids.OVERVIEW_LATENCY_GRAPH, height_px=340),
                        ),
                        lg=5,
                        className="mb-3",
                    ),
                ]
            ),
            dbc.Row(
                [
                    dbc.Col(
                        titled_card(
                            "Cycle latency",
                            html.Div("…", id=ids.OVERVIEW_LATENCY_SUMMARY),
                        ),
                        lg=5,
                        className="mb-3",
                    ),
                    dbc.Col(
                        titled_card(
                            "Cycle time, recent cycles, against the 50 ms target and 200 ms gate",
                            graph(ids.OVERVIEW_LATENCY_TREND_GRAPH, height_px=300),
                        ),
                        lg=7,
                        className="mb-3",
                    ),
                ]
            ),
            dcc.Store(id=ids.OVERVIEW_RENDERED_CYCLE),
            dcc.Store(id=ids.OVERVIEW_LATENCY_RENDERED),
        ]
    )


# Registered last: the page registry needs the layout function, defined above.
dash.register_page(__name__, path="/", name="Overview", order=0, layout=layout)
