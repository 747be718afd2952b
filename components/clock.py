"""The replay clock's control in the navbar: a "Clock" toggle and a compact panel under the bar
(pause or resume, step one trading day, speed, jump to a date, restart from a date), each
command with a required reason; a restart asks for confirmation showing before -> after.

Layout only; callbacks/clock.py fills it in and sends the commands."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.layout import DEFAULT_ACTOR

# Dates are ISO everywhere on the dashboard.
DATE_FORMAT = "YYYY-MM-DD"


def _date_picker(component_id: str, placeholder: str) -> dcc.DatePickerSingle:
    # Bounds (the data's first and last replayable day) are set by callbacks/clock.py.
    return dcc.DatePickerSingle(
        id=component_id,
        display_format=DATE_FORMAT,
        placeholder=placeholder,
        first_day_of_week=1,
        clearable=True,
        className="pc-clock-date",
    )


def clock_toggle() -> dbc.Button:
    return dbc.Button(
        "Clock", id=ids.CLOCK_TOGGLE, color="light", outline=True, size="sm", n_clicks=0
    )


def clock_panel() -> dbc.Collapse:
    """The panel under the navbar, closed until the Clock button opens it."""
    group = "d-flex align-items-end gap-2 flex-wrap"
    return dbc.Collapse(
        html.Div(
            [
                html.Div(id=ids.CLOCK_SUMMARY, className="pc-clock-summary small mb-2"),
                html.Div(
                    [
                        html.Div(
                            [
                                dbc.Label("reason (required, audited)", className="small mb-0"),
                                dbc.Input(
                                    id=ids.CLOCK_REASON,
                                    type="text",
                                    size="sm",
                                    maxLength=500,
                                    placeholder="why change the clock",
                                    style={"width": "16rem"},
                                ),
                            ]
                        ),
                        html.Div(
                            [
                                dbc.Label("actor", className="small mb-0"),
                                dbc.Input(
                                    id=ids.CLOCK_ACTOR,
                                    type="text",
                                    size="sm",
                                    value=DEFAULT_ACTOR,
                                    style={"width": "6rem"},
                                ),
                            ]
                        ),
                        dbc.ButtonGroup(
                            [
                                dbc.Button("Pause", id=ids.CLOCK_PAUSE_BUTTON, color="warning"),
                                dbc.Button("Resume", id=ids.CLOCK_RESUME_BUTTON, color="success"),
                                dbc.Button(
                                    "Step 1 day", id=ids.CLOCK_STEP_BUTTON, color="secondary"
                                ),
                            ],
                            size="sm",
                        ),
                        html.Div(
                            [
                                dbc.Label("speed (trading days/s)", className="small mb-0"),
                                dbc.InputGroup(
                                    [
                                        dbc.Input(
                                            id=ids.CLOCK_SPEED_INPUT,
                                            type="number",
                                            min=0.1,
                                            max=1000,
                                            step="any",
                                            style={"width": "5rem"},
                                        ),
                                        dbc.Button("Set", id=ids.CLOCK_SPEED_BUTTON),
                                    ],
                                    size="sm",
                                ),
                            ]
                        ),
                        html.Div(
                            [
                                dbc.Label("jump to market date", className="small mb-0 d-block"),
                                html.Div(
                                    [
                                        _date_picker(ids.CLOCK_JUMP_DATE, "YYYY-MM-DD"),
                                        dbc.Button("Jump", id=ids.CLOCK_JUMP_BUTTON, size="sm"),
                                    ],
                                    className="d-flex align-items-center gap-1",
                                ),
                            ]
                        ),
                        html.Div(
                            [
                                dbc.Label(
                                    "restart from market date", className="small mb-0 d-block"
                                ),
                                html.Div(
                                    [
                                        _date_picker(ids.CLOCK_RESTART_DATE, "YYYY-MM-DD"),
                                        dbc.Button(
                                            "Restart…",
                                            id=ids.CLOCK_RESTART_BUTTON,
                                            size="sm",
                                            color="danger",
                                            outline=True,
                                        ),
                                    ],
                                    className="d-flex align-items-center gap-1",
                                ),
                            ]
                        ),
                    ],
                    className=group,
                ),
                html.Div(id=ids.CLOCK_FEEDBACK, className="mt-2"),
                restart_modal(),
            ],
            className="pc-clock-panel",
        ),
        id=ids.CLOCK_PANEL,
        is_open=False,
        className="w-100",
    )


def restart_modal() -> dbc.Modal:
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Restart the replay?")),
            dbc.ModalBody(id=ids.CLOCK_RESTART_TEXT),
            dbc.ModalFooter(
                [
                    dbc.Button("Cancel", id=ids.CLOCK_RESTART_CANCEL, color="secondary"),
                    dbc.Button("Restart", id=ids.CLOCK_RESTART_CONFIRM, color="danger"),
                ]
            ),
        ],
        id=ids.CLOCK_RESTART_MODAL,
        is_open=False,
    )


def restart_consequence(restart_on: str, market_date: str | None) -> str:
    """What a restart does, before -> after, as the confirmation says it."""
    before = market_date or "not started"
    return (
        f"Restart from {restart_on}: portfolios back to opening capital, working orders, "
        f"overrides, alerts and trading states cleared (risk limits kept); "
        f"market {before} -> {restart_on}."
    )
