"""Events: the audited event log in a server-paged grid, newest first, filtered by portfolio and
type; each row shows when it was recorded (wall clock, UTC) and the market date of its cycle, and
a picked row shows its whole payload, pretty-printed."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.event_grid import EVENT_GRID_COLUMNS, EVENTS_GRID_PAGE, event_detail
from components.grid import server_grid
from components.layout import page_title, titled_card

# How often the list of event types is read again: new types appear rarely (a first command, a
# first error), so once a second would be a wasted query.
EVENT_TYPES_REFRESH_MS = 10_000


def _filter(label: str, select_id: str, everything: str) -> dbc.InputGroup:
    return dbc.InputGroup(
        [
            dbc.InputGroupText(label),
            dbc.Select(
                id=select_id, options=[{"label": everything, "value": ids.ALL}], value=ids.ALL
            ),
        ]
    )


def layout() -> html.Div:
    return html.Div(
        [
            page_title(
                "Events",
                "Every change the engine made, with who, when and why. Each event shows when it "
                "was recorded (wall clock, UTC) and the market date of its cycle.",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        _filter("portfolio", ids.EVENTS_PORTFOLIO_FILTER, "all portfolios"), md=4
                    ),
                    dbc.Col(_filter("type", ids.EVENTS_TYPE_FILTER, "all types"), md=4),
                    dbc.Col(
                        dbc.Button(
                            "Export CSV",
                            id=ids.EVENTS_EXPORT_BUTTON,
                            color="primary",
                            outline=True,
                            size="sm",
                            title="All events matching the filters, oldest first",
                        ),
                        md=4,
                        className="d-flex justify-content-md-end align-items-center mt-2 mt-md-0",
                    ),
                ],
                className="mb-2",
            ),
            html.Div(id=ids.EVENTS_PAGE_LABEL, className="small text-muted mb-2"),
            titled_card(
                "Event log",
                html.Div(
                    server_grid(
                        ids.EVENTS_GRID, EVENT_GRID_COLUMNS, page_size=EVENTS_GRID_PAGE, row_id="id"
                    ),
                    id=ids.EVENTS_TABLE,
                ),
                class_name="mb-3",
            ),
            titled_card(
                "The picked event",
                html.Div(event_detail(None, None, None), id=ids.EVENTS_DETAIL),
                class_name="mb-3",
            ),
            dcc.Download(id=ids.EVENTS_DOWNLOAD),
            dcc.Interval(id=ids.EVENTS_OPTIONS_INTERVAL, interval=EVENT_TYPES_REFRESH_MS),
        ]
    )


# Registered last: the page registry needs the layout function, defined above.
dash.register_page(__name__, path="/events", name="Events", order=4, layout=layout)
