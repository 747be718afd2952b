"""Allocation: target against current weights of one portfolio, how its latest allocation came out
(binding constraints, risk contributions, sleeves, cash), what it holds, and the manager's weight
overrides."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.allocation_why import holding_grid_columns
from components.grid import server_grid
from components.layout import audited_submit, form_field, graph, page_title, titled_card

WEIGHT_MODES = (
    {"label": "pin weight", "value": "pin"},
    {"label": "exclude", "value": "exclude"},
)


def _override_form() -> html.Div:
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        form_field(
                            "instrument",
                            dbc.Select(
                                id=ids.ALLOCATION_OVERRIDE_INSTRUMENT,
                                options=[],
                                placeholder="choose an instrument",
                            ),
                        ),
                        md=3,
                    ),
                    dbc.Col(
                        form_field(
                            "action",
                            dbc.RadioItems(
                                id=ids.ALLOCATION_OVERRIDE_MODE,
                                options=list(WEIGHT_MODES),
                                value="pin",
                                inline=True,
                            ),
                        ),
                        md=2,
                    ),
                    dbc.Col(
                        form_field(
                            "weight (% of NAV)",
                            dbc.Input(
                                id=ids.ALLOCATION_OVERRIDE_WEIGHT,
                                # Text, so that "5%" can be typed: one rule in every form.
                                type="text",
                                placeholder="e.g. 5%",
                            ),
                            help_text=dbc.FormText(id=ids.ALLOCATION_OVERRIDE_WEIGHT_HELP),
                        ),
                        md=2,
                    ),
                    *audited_submit(
                        ids.ALLOCATION_OVERRIDE_REASON,
                        ids.ALLOCATION_OVERRIDE_ACTOR,
                        ids.ALLOCATION_OVERRIDE_APPLY,
                        reason_md=3,
                        apply_md=1,
                    ),
                ]
            ),
            html.Div(id=ids.ALLOCATION_OVERRIDE_FEEDBACK, className="mt-1"),
        ]
    )


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
            dbc.Row(
                [
                    dbc.Col(
                        titled_card(
                            "Distance from target, and why; the latest allocation's outcome",
                            [
                                html.Div(id=ids.ALLOCATION_WHY, className="mb-2"),
                                html.Div(id=ids.ALLOCATION_OUTCOME),
                            ],
                            class_name="h-100",
                        ),
                        lg=6,
                        className="mb-3",
                    ),
                    dbc.Col(
                        titled_card("Cash", html.Div(id=ids.ALLOCATION_CASH), class_name="h-100"),
                        lg=6,
                        className="mb-3",
                    ),
                ]
            ),
            titled_card(
                "Target vs current weight",
                graph(ids.ALLOCATION_WEIGHTS_GRAPH, height_px=360),
                class_name="mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        titled_card(
                            "Risk contributions of the target (share of ex-ante variance)",
                            graph(ids.ALLOCATION_RISK_GRAPH, height_px=360),
                            class_name="h-100",
                        ),
                        lg=6,
                        className="mb-3",
                    ),
                    dbc.Col(
                        titled_card(
                            "Impact of the latest proposal (before its orders)",
                            html.Div(id=ids.ALLOCATION_IMPACT),
                            class_name="h-100",
                        ),
                        lg=6,
                        className="mb-3",
                    ),
                ]
            ),
            html.Div(
                titled_card(
                    "Sleeves",
                    html.Div(id=ids.ALLOCATION_SLEEVES_TABLE),
                    class_name="mb-3",
                ),
                id=ids.ALLOCATION_SLEEVES_CARD,
                hidden=True,
            ),
            titled_card(
                "Weight overrides: pin an instrument's weight or exclude it",
                [
                    html.Small(
                        "Applies to the portfolio chosen above, from its next allocation, "
                        "until lifted.",
                        className="text-muted d-block mb-2",
                    ),
                    _override_form(),
                    html.H6("Active weight overrides", className="mt-3"),
                    html.Div(id=ids.ALLOCATION_OVERRIDES_TABLE),
                ],
                class_name="mb-3",
            ),
            titled_card(
                "Holdings (names not held show their latest close)",
                [
                    server_grid(
                        ids.ALLOCATION_HOLDINGS_GRID,
                        holding_grid_columns(),
                        row_id="symbol",
                    ),
                    html.Div(id=ids.ALLOCATION_HOLDINGS_TABLE),
                ],
                class_name="mb-3",
            ),
            dcc.Store(id=ids.ALLOCATION_RENDERED),
            dcc.Store(id=ids.ALLOCATION_OVERRIDES_CHANGED, data=0),
            dcc.Store(id=ids.ALLOCATION_OVERRIDES_RENDERED),
        ]
    )


# Registered last: the page registry needs the layout function, defined above.
dash.register_page(__name__, path="/allocation", name="Allocation", order=2, layout=layout)
