"""Events: the audited event log, newest first, filtered by portfolio and type, a page at a time."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.layout import page_title, titled_card

# How often the list of event types is read again: new types appear rarely (a first command, a
# first error), so once a second would be a wasted query.
EVENT_TYPES_REFRESH_MS = 10_000


def layout() -> html.Div:
    return html.Div(
        [
            page_title("Events", "Every change the engine made, with who, when and why"),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.InputGroup(
                            [
                                dbc.InputGroupText("portfolio"),
                                dbc.Select(
                                    id=ids.EVENTS_PORTFOLIO_FILTER,
                                    options=[{"label": "all portfolios", "value": ids.ALL}],
                                    value=ids.ALL,
                                ),
                            ]
                        ),
                        md=4,
                    ),
                    dbc.Col(
                        dbc.InputGroup(
                            [
                                dbc.InputGroupText("type"),
                                dbc.Select(
                                    id=ids.EVENTS_TYPE_FILTER,
                                    options=[{"label": "all types", "value": ids.ALL}],
                                    value=ids.ALL,
                                ),
                            ]
                        ),
                        md=4,
                    ),
                    dbc.Col(
                        dbc.ButtonGroup(
                            [
                                dbc.Button(
                                    "Newest",
                                    id=ids.EVENTS_NEWEST_BUTTON,
                                    color="secondary",
                                    outline=True,
                                ),
                                dbc.Button(
                                    "‹ Newer",
                                    id=ids.EVENTS_NEWER_BUTTON,
                                    color="secondary",
                                    outline=True,
                                ),
                                dbc.Button(
                                    "Older ›",
                                    id=ids.EVENTS_OLDER_BUTTON,
                                    color="secondary",
                                    outline=True,
                                ),
                                dbc.Button(
                                    "Export CSV",
                                    id=ids.EVENTS_EXPORT_BUTTON,
                                    color="primary",
                                    outline=True,
                                    title="All events matching the filters, oldest first",
                                ),
                            ],
                            size="sm",
                        ),
                        md=4,
                        className="d-flex justify-content-md-end align-items-center mt-2 mt-md-0",
                    ),
                ],
                className="mb-2",
            ),
            html.Div(id=ids.EVENTS_PAGE_LABEL, className="small text-muted mb-2"),
            titled_card("Event log", html.Div(id=ids.EVENTS_TABLE), class_name="mb-3"),
            dcc.Store(id=ids.EVENTS_PAGE),
            dcc.Store(id=ids.EVENTS_SHOWN),
            dcc.Download(id=ids.EVENTS_DOWNLOAD),
            dcc.Interval(id=ids.EVENTS_OPTIONS_INTERVAL, interval=EVENT_TYPES_REFRESH_MS),
        ]
    )


# Registered last: the page registry needs the layout function, defined above.
dash.register_page(__name__, path="/events", name="Events", order=4, layout=layout)
