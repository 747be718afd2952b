"""Trades: each portfolio's trading state and counts, the working-order blotter and its execution
schedule, internal crosses and venue blocks, execution quality, the recent orders and fills, and
the controls to cancel a working order or hold a portfolio's trading (both confirmed with what
they change, before -> after, and audited with a reason).

Orders, fills and working orders are server-paged grids: the browser holds one page of each."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.grid import server_grid
from components.layout import DEFAULT_ACTOR, form_field, graph, page_title, titled_card
from components.trade_tables import (
    BLOCK_GRID_COLUMNS,
    CROSS_GRID_COLUMNS,
    FILL_GRID_COLUMNS,
    ORDER_GRID_COLUMNS,
    ORDERS_GRID_PAGE,
    WORKING_GRID_COLUMNS,
)

# The hold form's choices. None is chosen at first: holding a book must be a decision.
HOLD_MODES = (
    {"label": "hold (HALTED: no orders, working orders cancelled)", "value": "hold"},
    {"label": "reduce only (REDUCING)", "value": "reduce"},
    {"label": "release (ACTIVE)", "value": "release"},
)


def _hold_form() -> html.Div:
    return html.Div(
        [
            html.Small(
                "A held portfolio makes no new orders and its working orders are cancelled, "
                "until released. You confirm the change before it is sent.",
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
                            dbc.Select(
                                id=ids.TRADES_HOLD_MODE,
                                options=list(HOLD_MODES),
                                placeholder="choose what to do",
                            ),
                        ),
                        md=3,
                    ),
                    dbc.Col(
                        form_field(
                            "reason (required, goes into the audit trail)",
                            dbc.Input(
                                id=ids.TRADES_HOLD_REASON,
                                type="text",
                                placeholder="why hold or release",
                                maxLength=500,
                            ),
                        ),
                        md=4,
                    ),
                    dbc.Col(
                        form_field(
                            "actor",
                            dbc.Input(id=ids.TRADES_HOLD_ACTOR, type="text", value=DEFAULT_ACTOR),
                        ),
                        md=1,
                    ),
                    dbc.Col(
                        dbc.Button("Apply…", id=ids.TRADES_HOLD_APPLY, color="primary", n_clicks=0),
                        md=1,
                        className="d-flex align-items-center",
                    ),
                ]
            ),
            html.Div(id=ids.TRADES_HOLD_FEEDBACK, className="mt-1"),
            _dialog(
                ids.TRADES_HOLD_DIALOG,
                "Change trading state?",
                [html.P(id=ids.TRADES_HOLD_SUMMARY, className="fw-semibold")],
                ids.TRADES_HOLD_CONFIRM,
                ids.TRADES_HOLD_DISMISS,
                "Confirm",
            ),
        ]
    )


def _dialog(
    dialog_id: str,
    title: str,
    body: list,
    confirm_id: str,
    dismiss_id: str,
    confirm_label: str,
) -> dbc.Modal:
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(title)),
            dbc.ModalBody(body),
            dbc.ModalFooter(
                [
                    dbc.Button("Back", id=dismiss_id, color="secondary", outline=True),
                    dbc.Button(confirm_label, id=confirm_id, color="danger"),
                ]
            ),
        ],
        id=dialog_id,
        is_open=False,
        backdrop="static",
    )


def _cancel_controls() -> html.Div:
    return html.Div(
        [
            html.Div(id=ids.TRADES_CANCEL_FEEDBACK, className="mb-2"),
            dbc.Row(
                [
                    dbc.Col(
                        html.Div(
                            "Click a working order to cancel what is left of it.",
                            id=ids.TRADES_CANCEL_SELECTION,
                            className="small text-muted",
                        ),
                        md=9,
                    ),
                    dbc.Col(
                        dbc.Button(
                            "Cancel selected order…",
                            id=ids.TRADES_CANCEL_OPEN,
                            color="danger",
                            outline=True,
                            size="sm",
                            disabled=True,
                        ),
                        md=3,
                        className="d-flex justify-content-md-end",
                    ),
                ],
                className="mb-2 align-items-center",
            ),
            _dialog(
                ids.TRADES_CANCEL_DIALOG,
                "Cancel this working order?",
                [
                    html.P(id=ids.TRADES_CANCEL_SUMMARY, className="fw-semibold"),
                    form_field(
                        "reason (required, goes into the audit trail)",
                        dbc.Input(
                            id=ids.TRADES_CANCEL_REASON,
                            type="text",
                            placeholder="why cancel",
                            maxLength=500,
                        ),
                    ),
                    html.Div(id=ids.TRADES_CANCEL_ERROR),
                ],
                ids.TRADES_CANCEL_CONFIRM,
                ids.TRADES_CANCEL_DISMISS,
                "Cancel the order",
            ),
            dcc.Store(id=ids.TRADES_CANCEL_SELECTED),
        ]
    )


def _grid_card(title: str, note_id: str, container_id: str, grid: html.Div) -> dbc.Card:
    return titled_card(
        title,
        [
            html.Small(id=note_id, className="text-muted d-block mb-1"),
            html.Div(grid, id=container_id),
        ],
        class_name="mb-3",
    )


def layout() -> html.Div:
    working = server_grid(
        ids.TRADES_WORKING_GRID, WORKING_GRID_COLUMNS, page_size=15, row_id="order_id"
    )
    return html.Div(
        [
            page_title(
                "Trades",
                "Working orders and their schedules, crosses, blocks and costs; "
                "recent orders and fills, newest first. Dates are market dates.",
            ),
            html.Div(id=ids.TRADES_SUMMARY, className="mb-3"),
            titled_card("Hold trading", _hold_form(), class_name="mb-3"),
            titled_card(
                "Working orders (live)",
                [
                    _cancel_controls(),
                    html.Small(id=ids.TRADES_WORKING_NOTE, className="text-muted d-block mb-1"),
                    html.Div(working, id=ids.TRADES_WORKING_TABLE),
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
                            html.Div(
                                server_grid(
                                    ids.TRADES_CROSSES_GRID, CROSS_GRID_COLUMNS, page_size=10
                                ),
                                id=ids.TRADES_CROSSES_TABLE,
                            ),
                            class_name="h-100",
                        ),
                        xl=6,
                        className="mb-3",
                    ),
                    dbc.Col(
                        titled_card(
                            "Blocks sent to the venue",
                            html.Div(
                                server_grid(
                                    ids.TRADES_BLOCKS_GRID,
                                    BLOCK_GRID_COLUMNS,
                                    page_size=10,
                                    row_id="block_id",
                                ),
                                id=ids.TRADES_BLOCKS_TABLE,
                            ),
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
            _grid_card(
                "Orders",
                ids.TRADES_ORDERS_NOTE,
                ids.TRADES_ORDERS_TABLE,
                server_grid(
                    ids.TRADES_ORDERS_GRID,
                    ORDER_GRID_COLUMNS,
                    page_size=ORDERS_GRID_PAGE,
                    row_id="order_id",
                ),
            ),
            _grid_card(
                "Fills",
                ids.TRADES_FILLS_NOTE,
                ids.TRADES_FILLS_TABLE,
                server_grid(
                    ids.TRADES_FILLS_GRID,
                    FILL_GRID_COLUMNS,
                    page_size=ORDERS_GRID_PAGE,
                    row_id="fill_id",
                ),
            ),
            dcc.Store(id=ids.TRADES_RENDERED),
            dcc.Store(id=ids.TRADES_CHANGED, data=0),
        ]
    )


# Registered last: the page registry needs the layout function, defined above.
dash.register_page(__name__, path="/trades", name="Trades", order=3, layout=layout)
