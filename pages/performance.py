"""Performance: how the portfolios did against their benchmarks, and why. For analysts.

A portfolio selector (one, several, all) and a date range that every panel follows; the
metrics against the benchmark; growth (log scale option), drawdown and rolling Sharpe,
volatility or beta; for one portfolio in focus, its monthly returns and its attribution by
sector (Brinson-Fachler), by statistical factor, by sleeve, by signal source and by decision;
execution quality; the engine against the seed's gates; and the tear sheet and its tables to
download. Figures follow the run
as it goes (every 15 s).
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.layout import graph, titled_card

# The panels are worked out from the whole log; every 15 s is fresh enough for an analyst and
# leaves the engine its cores.
REFRESH_MS = 15_000


def _controls() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label("portfolios", html_for=ids.PERF_PORTFOLIOS),
                            dbc.Checklist(id=ids.PERF_PORTFOLIOS, inline=True),
                        ],
                        lg=4,
                    ),
                    dbc.Col(
                        [
                            dbc.Label("market dates", html_for=ids.PERF_DATES),
                            dcc.DatePickerRange(
                                id=ids.PERF_DATES,
                                display_format="YYYY-MM-DD",
                                clearable=True,
                                start_date_placeholder_text="first day",
                                end_date_placeholder_text="last day",
                            ),
                        ],
                        lg=3,
                    ),
                    dbc.Col(
                        [
                            dbc.Label("in focus", html_for=ids.PERF_FOCUS),
                            dbc.Select(id=ids.PERF_FOCUS),
                        ],
                        lg=2,
                    ),
                    dbc.Col(
                        [
                            dbc.Label("download"),
                            html.Div(
                                [
                                    dbc.Button(
                                        "tear sheet (HTML)",
                                        id=ids.PERF_DOWNLOAD_SHEET,
                                        size="sm",
                                        color="secondary",
                                        className="me-2",
                                    ),
                                    dbc.Button(
                                        "tables (CSV, zip)",
                                        id=ids.PERF_DOWNLOAD_CSV,
                                        size="sm",
                                        color="secondary",
                                    ),
                                ]
                            ),
                            dcc.Download(id=ids.PERF_SHEET_FILE),
                            dcc.Download(id=ids.PERF_CSV_FILE),
                        ],
                        lg=3,
                    ),
                ],
                className="g-3",
            )
        ),
        className="pc-card mb-3",
    )


def layout() -> html.Div:
    return html.Div(
        [
            _controls(),
            html.Div(id=ids.PERF_STATUS, className="small text-muted mb-2"),
            dbc.Row(
                [
                    dbc.Col(
                        titled_card("Against the benchmark", html.Div(id=ids.PERF_METRICS)),
                        lg=5,
                        className="mb-3",
                    ),
                    dbc.Col(
                        titled_card(
                            "Growth of 100 (time-weighted), benchmark dashed",
                            [
                                dbc.Switch(id=ids.PERF_LOG_SCALE, label="log scale", value=False),
                                graph(ids.PERF_GROWTH_GRAPH, height_px=360),
                            ],
                        ),
                        lg=7,
                        className="mb-3",
                    ),
                ]
            ),
            dbc.Row(
                [
                    dbc.Col(
                        titled_card(
                            "Drawdown (underwater)", graph(ids.PERF_DRAWDOWN_GRAPH, height_px=320)
                        ),
                        lg=6,
                        className="mb-3",
                    ),
                    dbc.Col(
                        titled_card(
                            "Rolling figures",
                            [
                                dbc.RadioItems(
                                    id=ids.PERF_ROLLING_MEASURE,
                                    options=[
                                        {"label": "Sharpe", "value": "sharpe"},
                                        {"label": "volatility", "value": "volatility"},
                                        {"label": "beta", "value": "beta"},
                                    ],
                                    value="sharpe",
                                    inline=True,
                                ),
                                dbc.RadioItems(
                                    id=ids.PERF_ROLLING_WINDOW,
                                    options=[
                                        {"label": "63 days", "value": 63},
                                        {"label": "252 days", "value": 252},
                                    ],
                                    value=252,
                                    inline=True,
                                ),
                                graph(ids.PERF_ROLLING_GRAPH, height_px=290),
                            ],
                        ),
                        lg=6,
                        className="mb-3",
                    ),
                ]
            ),
            dbc.Row(
                [
                    dbc.Col(
                        titled_card(
                            "Monthly returns (portfolio in focus)",
                            graph(ids.PERF_MONTHLY_GRAPH, height_px=420),
                        ),
                        lg=6,
                        className="mb-3",
                    ),
                    dbc.Col(
                        titled_card(
                            "From the benchmark's return to the portfolio's (in focus)",
                            graph(ids.PERF_WATERFALL_GRAPH, height_px=420),
                        ),
                        lg=6,
                        className="mb-3",
                    ),
                ]
            ),
            titled_card(
                "Attribution by sector (Brinson-Fachler, Carino-linked; portfolio in focus)",
                [
                    graph(ids.PERF_BRINSON_GRAPH, height_px=340),
                    html.Div(id=ids.PERF_BRINSON_TABLE),
                ],
                class_name="mb-3",
            ),
            _side_by_side(
                (
                    "Return by statistical factor (PCA over the allocation's look-back; in focus)",
                    ids.PERF_FACTOR_TABLE,
                ),
                ("Return by sleeve (multi-strategy portfolios; in focus)", ids.PERF_SLEEVE_TABLE),
            ),
            _side_by_side(
                ("Profit and loss by signal source and horizon (in focus)", ids.PERF_SOURCE_TABLE),
                (
                    "What each decision after the allocator gained or cost (in focus)",
                    ids.PERF_DECISION_TABLE,
                ),
            ),
            titled_card(
                "Execution quality",
                [
                    dbc.RadioItems(
                        id=ids.PERF_EXECUTION_GROUP,
                        options=[
                            {"label": "by algorithm", "value": "algorithm"},
                            {"label": "by portfolio", "value": "portfolio"},
                            {"label": "by instrument", "value": "instrument"},
                        ],
                        value="algorithm",
                        inline=True,
                    ),
                    html.Div(id=ids.PERF_EXECUTION_TABLE),
                ],
                class_name="mb-3",
            ),
            titled_card(
                "Coordination against the seed's gates",
                html.Div(id=ids.PERF_GATES),
                class_name="mb-3",
            ),
            dcc.Interval(id=ids.PERF_INTERVAL, interval=REFRESH_MS),
        ]
    )


def _side_by_side(*tables: tuple[str, str]) -> dbc.Row:
    """Tables side by side on a wide screen, one above the other on a narrow one: each a card
    with its title around an empty div the callback fills (title, div id)."""
    return dbc.Row(
        [
            dbc.Col(titled_card(title, html.Div(id=table_id)), lg=6, className="mb-3")
            for title, table_id in tables
        ]
    )


# Registered last: the page registry needs the layout function, defined above.
dash.register_page(__name__, path="/performance", name="Performance", order=3.7, layout=layout)
