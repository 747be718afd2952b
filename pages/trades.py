"""Trades: each portfolio's trading state and counts, the working-order blotter and its execution
schedule, internal crosses and venue blocks, execution quality, the recent orders and fills, and
the controls to cancel a working order or hold a portfolio's trading (both audited)."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.layout import audited_submit, form_field, graph, page_title, titled_card

HOLD_MODES = (
    {"label": "hold", "value": "hold"},
    {"label": "reduce only", "value": "reduce"},
    {"label": "release", "value": "release"},
)


def _hold_form() -> html.Div:
    return html.Div(
        [
            html.Small(
                "A held portfolio makes no new orders and its working orders are cancelled, "
                "until released.",
                className="text-muted d-block mb-2",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        form_field(
                            "portfolio",
                            dbc.Select(
                                id=ids.TRADES_HOLD_PORTFOLIO,
                                options=[],
                                placeholder="choose a portfolio",
                            ),
                        ),
                        md=3,
                    ),
                    dbc.Col(
                        form_field(
                            "trading",
                            dbc.RadioItems(
                                id=ids.TRADES_HOLD_MODE,
                                options=list(HOLD_MODES),
                                value="hold",
                                inline=True,
                            ),
                        ),
                        md=2,
                    ),
                    *audited_submit(
                        ids.TRADES_HOLD_REASON,
                        ids.TRADES_HOLD_ACTOR,
                        ids.TRADES_HOLD_APPLY,
                        reason_md=5,
                        apply_md=1,
                    ),
                ]
            ),
            html.Div(id=ids.TRADES_HOLD_FEEDBACK, className="mt-1"),
        ]
    )


def layout() -> html.Div:
    return html.Div(
        [
            page_title(
                "Trades",
                "Working orders and their schedules, crosses, blocks and costs; "
                "recent orders and fills, newest first",
            ),
            html.Div(id=ids.TRADES_SUMMARY, className="mb-3"),
            titled_card("Hold trading", _hold_form(), class_name="mb-3"),
            titled_card(
                "Working orders",
                [
                    html.Div(id=ids.TRADES_CANCEL_FEEDBACK, className="mb-2"),
                    html.Div(id=ids.TRADES_WORKING_TABLE, className="pc-scroll"),
                ],
                class_name="mb-3",
            ),
            titled_card(
                "Execution schedule of the working orders (shares planned per day)",
                graph(ids.TRADES_SCHEDULE_GRAPH, height_px=380),
                class_name="mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        titled_card(
                            "Crosses: shares matched between portfolios at the mid",
                            html.Div(id=ids.TRADES_CROSSES_TABLE, className="pc-scroll"),
                            class_name="h-100",
                        ),
                        xl=6,
                        className="mb-3",
                    ),
                    dbc.Col(
                        titled_card(
                            "Blocks sent to the venue",
                            html.Div(id=ids.TRADES_BLOCKS_TABLE, className="pc-scroll"),
                            class_name="h-100",
                        ),
                        xl=6,
                        className="mb-3",
                    ),
                ]
            ),
            titled_card(
                "Execution quality: implementation shortfall of completed orders",
                html.Div(id=ids.TRADES_QUALITY_TABLE),
                class_name="mb-3",
            ),
            titled_card("Orders", html.Div(id=ids.TRADES_ORDERS_TABLE), class_name="mb-3"),
            titled_card("Fills", html.Div(id=ids.TRADES_FILLS_TABLE), class_name="mb-3"),
            dcc.Store(id=ids.TRADES_RENDERED),
            dcc.Store(id=ids.TRADES_CHANGED, data=0),
        ]
    )


# Registered last: the page registry needs the layout function, defined above.
dash.register_page(__name__, path="/trades", name="Trades", order=3, layout=layout)
