"""Risk: the risk officer's view of one portfolio. Its trading state (ACTIVE, REDUCING, HALTED)
and the control to change it; each risk limit's utilisation and the form to set one; the risk
alerts to acknowledge; the orders the pre-trade gate scaled or rejected; its exposures and risk
at the latest close (gross, net, volatility, 1-day VaR and CVaR at 95% and 99%, parametric and
historical, drawdown), net exposure by sector, each instrument's, sector's and sleeve's share of
the 99% VaR, each holding's risk attribution (marginal and component volatility, VaR and CVaR,
adding up to the portfolio's), stress results, the historical 99% VaR of recent cycles, and the
audit trail of changes to the risk controls."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.grid import server_grid
from components.layout import form_field, graph, page_title, titled_card
from components.risk import (
    GATE_PAGE_SIZE,
    RISK_ACTOR,
    gate_grid_columns,
    limit_grid_columns,
    limit_options,
    mode_options,
    on_breach_options,
    risk_submit,
    trading_state_options,
)

# Every limit of a portfolio on one page of the grid (there are about twenty kinds).
LIMITS_PAGE_SIZE = 20
# The limit the edit form starts on: the one a desk changes most.
FIRST_LIMIT = "max_order_notional_usd"


def _trading_state_card() -> dbc.Card:
    return titled_card(
        "Trading state",
        [
            html.Div(id=ids.RISK_TRADING_STATE, className="mb-2"),
            dbc.Row(
                [
                    dbc.Col(
                        form_field(
                            "set the trading state",
                            # Starts empty: no state is one click away from being set.
                            dbc.Select(
                                id=ids.RISK_STATE_SELECT,
                                options=trading_state_options(),
                                placeholder="choose a trading state",
                                className="pc-state-select",
                            ),
                        ),
                        md=4,
                    ),
                    *risk_submit(
                        ids.RISK_STATE_REASON,
                        ids.RISK_STATE_ACTOR,
                        ids.RISK_STATE_APPLY,
                        placeholder="why this trading state (required)",
                        reason_md=5,
                    ),
                ]
            ),
            html.Div(id=ids.RISK_STATE_FEEDBACK, className="mt-1"),
        ],
        class_name="mb-3",
    )


def _limit_form() -> html.Div:
    return html.Div(
        [
            html.H6("Set a limit for this portfolio", className="mt-3"),
            dbc.Row(
                [
                    dbc.Col(
                        form_field(
                            "limit",
                            dbc.Select(
                                id=ids.RISK_LIMIT_NAME,
                                options=limit_options(),
                                value=FIRST_LIMIT,
                            ),
                        ),
                        md=4,
                    ),
                    dbc.Col(
                        form_field(
                            "value (threshold; % of NAV for fractions)",
                            dbc.Input(id=ids.RISK_LIMIT_VALUE, type="text"),
                            help_text=dbc.FormText(id=ids.RISK_LIMIT_VALUE_HELP),
                        ),
                        md=3,
                    ),
                    dbc.Col(
                        form_field(
                            "mode",
                            dbc.RadioItems(
                                id=ids.RISK_LIMIT_MODE,
                                options=mode_options(),
                                value="hard",
                            ),
                        ),
                        md=2,
                    ),
                    dbc.Col(
                        form_field(
                            "warn at (% of the limit)",
                            dbc.Input(id=ids.RISK_LIMIT_WARN_AT, type="text", value="80%"),
                        ),
                        md=1,
                    ),
                    dbc.Col(
                        form_field(
                            "on breach",
                            dbc.Select(
                                id=ids.RISK_LIMIT_ON_BREACH,
                                options=on_breach_options(),
                                value="alert",
                            ),
                        ),
                        md=2,
                    ),
                ]
            ),
            dbc.Row(
                [
                    dbc.Col(
                        form_field(
                            "symbols (restricted instruments)",
                            dbc.Input(
                                id=ids.RISK_LIMIT_SYMBOLS,
                                type="text",
                                placeholder="AAPL, MSFT",
                                disabled=True,
                            ),
                        ),
                        md=3,
                    ),
                    *risk_submit(
                        ids.RISK_LIMIT_REASON,
                        ids.RISK_LIMIT_ACTOR,
                        ids.RISK_LIMIT_APPLY,
                        placeholder="why this limit (required)",
                        reason_md=6,
                    ),
                ]
            ),
            html.Div(id=ids.RISK_LIMIT_FEEDBACK, className="mt-1"),
        ]
    )


def _confirmation() -> dbc.Modal:
    """Asks before a trading state or a limit is sent, showing it before -> after."""
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Confirm the change to the risk controls")),
            dbc.ModalBody(html.Div(id=ids.RISK_CONFIRM_BODY)),
            dbc.ModalFooter(
                [
                    dbc.Button("Cancel", id=ids.RISK_CONFIRM_NO, color="secondary"),
                    dbc.Button("Confirm and send", id=ids.RISK_CONFIRM_YES, color="danger"),
                ]
            ),
        ],
        id=ids.RISK_CONFIRM_MODAL,
        is_open=False,
        backdrop="static",
    )


def _alerts_card() -> dbc.Card:
    return titled_card(
        "Risk alerts",
        [
            dbc.Row(
                [
                    dbc.Col(
                        dbc.RadioItems(
                            id=ids.RISK_ALERTS_SCOPE,
                            options=[
                                {"label": "this portfolio", "value": "portfolio"},
                                {"label": "all portfolios", "value": "all"},
                            ],
                            value="portfolio",
                            inline=True,
                        ),
                        md=4,
                        className="align-self-center",
                    ),
                    dbc.Col(
                        dbc.Input(
                            id=ids.RISK_ALERT_NOTE,
                            type="text",
                            placeholder="why you acknowledge (required: the audit trail)",
                            maxLength=500,
                            size="sm",
                        ),
                        md=6,
                    ),
                    dbc.Col(
                        dbc.Input(
                            id=ids.RISK_ALERT_ACTOR, type="text", value=RISK_ACTOR, size="sm"
                        ),
                        md=2,
                    ),
                ],
                className="mb-2",
            ),
            html.Div(id=ids.RISK_ALERT_FEEDBACK, className="mb-2"),
            html.Div(id=ids.RISK_ALERTS_TABLE, className="pc-scroll"),
        ],
        class_name="mb-3",
    )


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
            _trading_state_card(),
            titled_card(
                "Risk limits: utilisation at the latest close (amber: warning; red: breach; "
                "hover a limit for what it measures)",
                [
                    html.Div(id=ids.RISK_LIMITS_TABLE),
                    server_grid(
                        ids.RISK_LIMITS_GRID,
                        limit_grid_columns(),
                        page_size=LIMITS_PAGE_SIZE,
                        row_id="limit",
                    ),
                    _limit_form(),
                ],
                class_name="mb-3",
            ),
            _alerts_card(),
            titled_card(
                "Pre-trade gate: orders scaled down or rejected",
                [
                    html.Div(id=ids.RISK_GATE_TABLE, className="mb-1"),
                    server_grid(
                        ids.RISK_GATE_GRID,
                        gate_grid_columns(),
                        page_size=GATE_PAGE_SIZE,
                        row_id="key",
                    ),
                ],
                class_name="mb-3",
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
                "Risk attribution: each holding's marginal and component risk, in % of NAV "
                "(annual volatility; 1-day 99% VaR, parametric; 1-day 99% CVaR, historical; "
                "negative: a hedge)",
                html.Div(id=ids.RISK_ATTRIBUTION_TABLE, className="pc-scroll"),
                class_name="mb-3",
            ),
            html.Div(
                titled_card(
                    "Share of the 1-day 99% VaR by strategy sleeve (negative: a hedge)",
                    graph(ids.RISK_SLEEVES_GRAPH, height_px=260),
                    class_name="mb-3",
                ),
                id=ids.RISK_SLEEVES_CARD,
                hidden=True,
            ),
            titled_card(
                "Stress scenarios: P&L on the holdings and on the proposed allocation",
                html.Div(id=ids.RISK_STRESS_TABLE),
                class_name="mb-3",
            ),
            titled_card(
                "Historical 1-day 99% VaR of recent cycles (% of NAV)",
                graph(ids.RISK_HISTORY_GRAPH, height_px=320),
                class_name="mb-3",
            ),
            titled_card(
                "Audit trail: limit changes, trading states and acknowledgements",
                html.Div(id=ids.RISK_AUDIT_TABLE, className="pc-scroll"),
                class_name="mb-3",
            ),
            dcc.Store(id=ids.RISK_RENDERED),
            dcc.Store(id=ids.RISK_FIGURES_RENDERED),
            dcc.Store(id=ids.RISK_TABLES_RENDERED),
            dcc.Store(id=ids.RISK_CHANGED, data=0),
            dcc.Store(id=ids.RISK_PENDING),
            _confirmation(),
        ]
    )


# Registered last: the page registry needs the layout function, defined above. Order 3.5: right
# after Trades (3) and before Events (4).
dash.register_page(__name__, path="/risk", name="Risk", order=3.5, layout=layout)
