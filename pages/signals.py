"""Signals: where each portfolio's view comes from, where sources disagree, what was refused, how
well each source predicts, and the portfolio manager's pins and vetoes."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.layout import audited_submit, form_field, graph, kpi, page_title, titled_card


def _override_form() -> html.Div:
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        form_field(
                            "portfolio",
                            dbc.Select(
                                id=ids.SIGNALS_OVERRIDE_PORTFOLIO,
                                options=[],
                                placeholder="choose a portfolio",
                            ),
                        ),
                        md=3,
                    ),
                    dbc.Col(
                        form_field(
                            "instrument",
                            dbc.Select(
                                id=ids.SIGNALS_OVERRIDE_INSTRUMENT,
                                options=[],
                                placeholder="choose an instrument",
                            ),
                        ),
                        md=3,
                    ),
                    dbc.Col(
                        form_field(
                            "action",
                            dbc.Select(
                                id=ids.SIGNALS_OVERRIDE_KIND,
                                options=[
                                    {"label": "veto: block it (score 0)", "value": "veto"},
                                    {"label": "pin: force score and confidence", "value": "pin"},
                                ],
                                value="veto",
                            ),
                        ),
                        md=3,
                    ),
                    dbc.Col(
                        form_field(
                            "last day it applies (market date)",
                            dcc.DatePickerSingle(
                                id=ids.SIGNALS_OVERRIDE_EXPIRES,
                                # ISO like every other date here (a date input follows the
                                # browser's locale: mm/dd/yyyy on most desks).
                                display_format="YYYY-MM-DD",
                                placeholder="YYYY-MM-DD",
                                clearable=True,
                                first_day_of_week=1,
                            ),
                            help_text="empty: until lifted",
                        ),
                        md=3,
                    ),
                ]
            ),
            dbc.Row(
                [
                    dbc.Col(
                        form_field(
                            "score (-1 sell to +1 buy)",
                            dbc.Input(
                                id=ids.SIGNALS_OVERRIDE_SCORE,
                                type="number",
                                min=-1,
                                max=1,
                                step=0.05,
                                placeholder="pin only",
                                disabled=True,
                            ),
                        ),
                        md=2,
                    ),
                    dbc.Col(
                        form_field(
                            "confidence (0 to 1)",
                            dbc.Input(
                                id=ids.SIGNALS_OVERRIDE_CONFIDENCE,
                                type="number",
                                min=0,
                                max=1,
                                step=0.05,
                                value=1.0,
                                disabled=True,
                            ),
                        ),
                        md=2,
                    ),
                    *audited_submit(
                        ids.SIGNALS_OVERRIDE_REASON,
                        ids.SIGNALS_OVERRIDE_ACTOR,
                        ids.SIGNALS_OVERRIDE_APPLY,
                        reason_md=5,
                        apply_md=2,
                    ),
                ]
            ),
            html.Div(id=ids.SIGNALS_OVERRIDE_FEEDBACK, className="mt-1"),
        ]
    )


def layout() -> html.Div:
    return html.Div(
        [
            page_title(
                "Signals",
                "Score from -1 (sell) to +1 (buy) per instrument, confidence from 0 to 1; "
                "blank where there is no view",
            ),
            titled_card(
                "Signal flow: source → source/horizon → portfolio",
                [
                    graph(ids.SIGNALS_FLOW_SANKEY, height_px=420),
                    html.Small(
                        "Width: instrument-equivalents, the sum over instruments of each view's "
                        "share of the portfolio's coordinated score.",
                        className="text-muted",
                    ),
                ],
                class_name="mb-3",
            ),
            titled_card(
                "Raw signals per source/horizon",
                graph(ids.SIGNALS_RAW_HEATMAP, height_px=260),
                class_name="mb-3",
            ),
            titled_card(
                "Coordinated signals per portfolio",
                graph(ids.SIGNALS_COORDINATED_HEATMAP, height_px=260),
                class_name="mb-3",
            ),
            titled_card(
                "Coordinated signals, strongest first, with their lineage",
                html.Div(id=ids.SIGNALS_COORDINATED_TABLE, className="pc-scroll"),
                class_name="mb-3",
            ),
            titled_card(
                "Conflicts: sources pointing in opposite directions",
                [
                    dbc.Row(
                        dbc.Col(html.Div(id=ids.SIGNALS_CONFLICT_COUNTS), md=8, xl=5),
                        className="mb-3",
                    ),
                    html.Div(id=ids.SIGNALS_CONFLICTS_TABLE, className="pc-scroll"),
                ],
                class_name="mb-3",
            ),
            titled_card(
                "Manual overrides: pin or veto an instrument",
                [
                    _override_form(),
                    html.H6("Active overrides", className="mt-3"),
                    html.Div(id=ids.SIGNALS_OVERRIDES_TABLE),
                    html.H6("Audit trail", className="mt-3"),
                    html.Div(id=ids.SIGNALS_OVERRIDE_AUDIT, className="pc-scroll"),
                ],
                class_name="mb-3",
            ),
            titled_card(
                "Source quality",
                [
                    html.Div(id=ids.SIGNALS_QUALITY_TABLE),
                    html.Small(
                        "Rolling IC: rank correlation of score with the return over the horizon; "
                        "— where not measured yet. The weight multiplier scales the source's "
                        "weight and priority.",
                        className="text-muted",
                    ),
                    graph(ids.SIGNALS_QUALITY_GRAPH, height_px=420),
                ],
                class_name="mb-3",
            ),
            titled_card(
                "Signal intake (external sources)",
                [
                    dbc.Row(
                        [
                            dbc.Col(kpi("accepted this session", ids.SIGNALS_ACCEPTED_COUNT)),
                            dbc.Col(kpi("rejected this session", ids.SIGNALS_REJECTED_COUNT)),
                        ],
                        className="mb-2",
                    ),
                    html.Div(id=ids.SIGNALS_REJECTED_TABLE, className="pc-scroll"),
                ],
                class_name="mb-3",
            ),
            dcc.Store(id=ids.SIGNALS_RENDERED_CYCLE),
            dcc.Store(id=ids.SIGNALS_LINEAGE_RENDERED),
            dcc.Store(id=ids.SIGNALS_CONFLICTS_RENDERED),
            dcc.Store(id=ids.SIGNALS_QUALITY_RENDERED),
            dcc.Store(id=ids.SIGNALS_INTAKE_RENDERED),
            dcc.Store(id=ids.SIGNALS_OVERRIDES_CHANGED, data=0),
            dcc.Store(id=ids.SIGNALS_OVERRIDES_RENDERED),
        ]
    )


# Registered last: the page registry needs the layout function, defined above.
dash.register_page(__name__, path="/signals", name="Signals", order=1, layout=layout)
