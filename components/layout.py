"""Static layout pieces shared by the pages: the navbar, titled cards, KPI tiles, graph frames."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids

GRAPH_CONFIG = {"displaylogo": False, "displayModeBar": "hover", "responsive": True}


def navbar(title: str, pages: Iterable[Mapping[str, Any]]) -> dbc.Navbar:
    """Brand, one link per registered page (in page order), the engine's live status and
    market date, and the replay clock's control (its panel opens under the bar)."""
    # Here, not at the top: components/clock.py uses this module's form pieces.
    from components.clock import clock_panel, clock_toggle

    links = [
        dbc.NavItem(dbc.NavLink(page["name"], href=page["relative_path"], active="exact"))
        for page in pages
    ]
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(title, href="/", className="fw-semibold"),
                dbc.Nav(links, navbar=True, className="me-auto"),
                html.Div(
                    [
                        html.Span(id=ids.NAVBAR_MARKET_DATE, className="pc-navbar-date"),
                        html.Span(id=ids.NAVBAR_STATUS),
                        clock_toggle(),
                    ],
                    className="d-flex align-items-center gap-3",
                ),
                clock_panel(),
            ],
            fluid=True,
            # The clock's panel opens on a line of its own under the bar.
            className="flex-wrap",
        ),
        id=ids.NAVBAR,
        color="dark",
        dark=True,
        expand="md",
        className="mb-3",
    )


def page_title(title: str, subtitle: str) -> html.Div:
    return html.Div(
        [html.H4(title, className="mb-0"), html.Small(subtitle, className="text-muted")],
        className="pc-page-title",
    )


def titled_card(title: str, body: Any, *, class_name: str = "") -> dbc.Card:
    return dbc.Card(
        [dbc.CardHeader(title, className="pc-card-title"), dbc.CardBody(body)],
        className=f"pc-card {class_name}".strip(),
    )


def graph(component_id: str, *, height_px: int) -> dcc.Graph:
    return dcc.Graph(id=component_id, config=GRAPH_CONFIG, style={"height": f"{height_px}px"})


def kpi(label: str, value_id: str) -> html.Div:
    """A labelled number that a callback fills in."""
    return html.Div(
        [html.Div(label, className="pc-kpi-label"), html.Div("…", id=value_id, className="pc-kpi")],
        className="pc-kpi-tile",
    )


# Who a form's commands are recorded as, until the person types their own name.
DEFAULT_ACTOR = "pm"


def form_field(label: str, control: object, *, help_text: object = None) -> html.Div:
    """A labelled form control; ``help_text`` a string or a ``dbc.FormText``."""
    children: list[object] = [dbc.Label(label, className="small mb-1"), control]
    if help_text is not None:
        children.append(dbc.FormText(help_text) if isinstance(help_text, str) else help_text)
    return html.Div(children, className="mb-2")


def audited_submit(
    reason_id: str, actor_id: str, apply_id: str, *, reason_md: int, apply_md: int
) -> list[dbc.Col]:
    """The end of every form that sends a command: the reason (required, audited), who acts,
    and the Apply button."""
    return [
        dbc.Col(
            form_field(
                "reason (required, goes into the audit trail)",
                dbc.Input(
                    id=reason_id, type="text", placeholder="why this override", maxLength=500
                ),
            ),
            md=reason_md,
        ),
        dbc.Col(
            form_field("actor", dbc.Input(id=actor_id, type="text", value=DEFAULT_ACTOR)),
            md=1,
        ),
        dbc.Col(
            dbc.Button("Apply", id=apply_id, color="primary", n_clicks=0),
            md=apply_md,
            className="d-flex align-items-center",
        ),
    ]
