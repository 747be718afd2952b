"""Rebalancing: when and how a portfolio rebalances. Its drift from target per instrument and
per sector against the bands; the rebalance waiting for a decision, with its preview (trades,
cost, tax, risk before and after, tracking error, turnover) and the controls to approve it,
drop some of its trades, or reject it; "rebalance now", with a preview first or not; the
trigger settings, editable and audited; and the history of its rebalances with their trigger,
outcome, cost, tax and turnover (docs/rebalancing.md)."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.layout import DEFAULT_ACTOR, form_field, graph, page_title, titled_card
from components.rebalancing import calendar_options, switch_options


def _reason_actor(reason_id: str, actor_id: str, placeholder: str) -> list[dbc.Col]:
    return [
        dbc.Col(
            form_field(
                "reason (required, goes into the audit trail)",
                dbc.Input(id=reason_id, type="text", placeholder=placeholder, maxLength=500),
            ),
            md=7,
        ),
        dbc.Col(
            form_field("actor", dbc.Input(id=actor_id, type="text", value=DEFAULT_ACTOR)),
            md=2,
        ),
    ]


def _proposal_card() -> dbc.Card:
    return titled_card(
        "Rebalance waiting for a decision",
        [
            html.Div(id=ids.REBAL_PROPOSAL),
            html.H6("Trades to keep (untick to drop a trade)", className="mt-2"),
            dbc.Checklist(id=ids.REBAL_PROPOSAL_KEEP, options=[], value=[], inline=True),
            dbc.Row(
                [
                    *_reason_actor(
                        ids.REBAL_DECISION_REASON, ids.REBAL_DECISION_ACTOR, "why approve or reject"
                    ),
                    dbc.Col(
                        html.Div(
                            [
                                dbc.Button(
                                    "Approve", id=ids.REBAL_APPROVE, color="success", n_clicks=0
                                ),
                                dbc.Button(
                                    "Reject",
                                    id=ids.REBAL_REJECT,
                                    color="outline-danger",
                                    n_clicks=0,
                                    className="ms-2",
                                ),
                            ]
                        ),
                        md=3,
                        className="d-flex align-items-center",
                    ),
                ],
                className="mt-2",
            ),
            html.Div(id=ids.REBAL_DECISION_FEEDBACK, className="mt-1"),
            dcc.Store(id=ids.REBAL_PROPOSAL_RENDERED),
        ],
        class_name="mb-3",
    )


def _rebalance_now_card() -> dbc.Card:
    return titled_card(
        "Rebalance now",
        [
            html.Div(
                "Rebalances at the next close, whatever the calendar and bands say. With a "
                "preview, the rebalance is proposed for a decision first.",
                className="small text-muted mb-2",
            ),
            dbc.Switch(
                id=ids.REBAL_NOW_PREVIEW,
                label="preview before trading",
                value=True,
                className="mb-2",
            ),
            dbc.Row(
                [
                    *_reason_actor(ids.REBAL_NOW_REASON, ids.REBAL_NOW_ACTOR, "why rebalance now"),
                    dbc.Col(
                        dbc.Button("Rebalance now", id=ids.REBAL_NOW, color="primary", n_clicks=0),
                        md=3,
                        className="d-flex align-items-center",
                    ),
                ]
            ),
            html.Div(id=ids.REBAL_NOW_FEEDBACK, className="mt-1"),
        ],
        class_name="mb-3",
    )


def _cash_flow_card() -> dbc.Card:
    return titled_card(
        "Deposit or withdrawal",
        [
            html.Div(
                "Money paid in or out by the portfolio's owner: in its cash at once, not a "
                "return; the portfolio rebalances at the next close.",
                className="small text-muted mb-2",
            ),
            form_field(
                "amount (USD; negative for a withdrawal)",
                dbc.Input(id=ids.REBAL_FLOW_AMOUNT, type="text", placeholder="e.g. 250,000"),
            ),
            dbc.Row(
                [
                    *_reason_actor(ids.REBAL_FLOW_REASON, ids.REBAL_FLOW_ACTOR, "whose money"),
                    dbc.Col(
                        dbc.Button("Record", id=ids.REBAL_FLOW, color="primary", n_clicks=0),
                        md=3,
                        className="d-flex align-items-center",
                    ),
                ]
            ),
            html.Div(id=ids.REBAL_FLOW_FEEDBACK, className="mt-1"),
        ],
        class_name="mb-3",
    )


def _policy_card() -> dbc.Card:
    def band(label: str, component_id: str) -> dbc.Col:
        return dbc.Col(
            form_field(label, dbc.Input(id=component_id, type="text", placeholder="no band")),
            md=2,
        )

    return titled_card(
        "Trigger settings (from the next close; audited)",
        [
            dbc.Row(
                [
                    dbc.Col(
                        form_field(
                            "calendar",
                            dbc.Select(id=ids.REBAL_POLICY_CALENDAR, options=calendar_options()),
                        ),
                        md=2,
                    ),
                    dbc.Col(
                        form_field(
                            "every N trading days",
                            dbc.Input(id=ids.REBAL_POLICY_EVERY_DAYS, type="number", min=1),
                        ),
                        md=2,
                    ),
                    band("name band (% of NAV)", ids.REBAL_POLICY_DRIFT_ABSOLUTE),
                    band("name band (% of its target)", ids.REBAL_POLICY_DRIFT_RELATIVE),
                    band("sector band (% of NAV)", ids.REBAL_POLICY_SECTOR_DRIFT),
                    band("asset class band (% of NAV)", ids.REBAL_POLICY_CLASS_DRIFT),
                ]
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Checklist(
                            id=ids.REBAL_POLICY_SWITCHES, options=switch_options(), switch=True
                        ),
                        md=5,
                    ),
                    dbc.Col(
                        form_field(
                            "signal change (score, 0 to 2)",
                            dbc.Input(
                                id=ids.REBAL_POLICY_SIGNAL_CHANGE, type="text", placeholder="none"
                            ),
                        ),
                        md=2,
                    ),
                    dbc.Col(
                        form_field(
                            "a proposal expires after (days)",
                            dbc.Input(id=ids.REBAL_POLICY_EXPIRES, type="number", min=1, max=90),
                        ),
                        md=2,
                    ),
                    dbc.Col(
                        form_field(
                            "benefit horizon (trading days)",
                            dbc.Input(id=ids.REBAL_POLICY_HORIZON, type="number", min=1, max=252),
                            help_text="a skipped trade's benefit is weighed over this",
                        ),
                        md=3,
                    ),
                ]
            ),
            dbc.Row(
                [
                    *_reason_actor(
                        ids.REBAL_POLICY_REASON, ids.REBAL_POLICY_ACTOR, "why change the policy"
                    ),
                    dbc.Col(
                        dbc.Button("Apply", id=ids.REBAL_POLICY_APPLY, color="primary", n_clicks=0),
                        md=3,
                        className="d-flex align-items-center",
                    ),
                ]
            ),
            html.Div(id=ids.REBAL_POLICY_FEEDBACK, className="mt-1"),
            html.H6("Changes", className="mt-3"),
            html.Div(id=ids.REBAL_POLICY_AUDIT),
        ],
        class_name="mb-3",
    )


def layout() -> html.Div:
    return html.Div(
        [
            page_title(
                "Rebalancing",
                "Drift against the bands, the rebalance waiting for a decision, and when the "
                "portfolio rebalances",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.InputGroup(
                            [
                                dbc.InputGroupText("portfolio"),
                                dbc.Select(id=ids.REBAL_PORTFOLIO_PICKER),
                            ]
                        ),
                        md=5,
                        lg=4,
                    ),
                    dbc.Col(html.Div(id=ids.REBAL_SUMMARY), className="align-self-center"),
                ],
                className="mb-3",
            ),
            _proposal_card(),
            dbc.Row(
                [
                    dbc.Col(
                        titled_card(
                            "Drift from target, the names furthest off (bars red: beyond the band)",
                            graph(ids.REBAL_DRIFT_GRAPH, height_px=320),
                        ),
                        lg=7,
                        className="mb-3",
                    ),
                    dbc.Col(
                        [
                            titled_card(
                                "Drift by asset class",
                                html.Div(id=ids.REBAL_CLASS_TABLE),
                                class_name="mb-3",
                            ),
                            titled_card("Drift by sector", html.Div(id=ids.REBAL_SECTOR_TABLE)),
                        ],
                        lg=5,
                        className="mb-3",
                    ),
                ]
            ),
            titled_card(
                "Drift by instrument", html.Div(id=ids.REBAL_DRIFT_TABLE), class_name="mb-3"
            ),
            dbc.Row(
                [
                    dbc.Col(_rebalance_now_card(), lg=6),
                    dbc.Col(_cash_flow_card(), lg=6),
                ]
            ),
            _policy_card(),
            titled_card(
                "Rebalances, newest first (cost: spread, impact and commission of the orders "
                "completed so far; tax: the gains' own, at the portfolio's rates)",
                html.Div(id=ids.REBAL_HISTORY_TABLE),
                class_name="mb-3",
            ),
            dcc.Store(id=ids.REBAL_RENDERED),
            dcc.Store(id=ids.REBAL_CHANGED, data=0),
        ]
    )


# Registered last: the page registry needs the layout function, defined above.
dash.register_page(__name__, path="/rebalancing", name="Rebalancing", order=3.6, layout=layout)
