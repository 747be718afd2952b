"""Data-driven summary pieces: the engine status badge, portfolio cards, per-portfolio counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import dash_bootstrap_components as dbc
from dash import html

from components import formatting as fmt
from components.colours import NEGATIVE, POSITIVE
from components.tables import portfolio_label
from engine.snapshot import EngineStatus, PortfolioView, TransportView

_STATUS_COLOUR = {
    EngineStatus.STARTING: "info",
    EngineStatus.RUNNING: "success",
    EngineStatus.PAUSED: "warning",
    EngineStatus.FINISHED: "secondary",
    EngineStatus.STOPPED: "dark",
}


def status_badge(status: EngineStatus) -> dbc.Badge:
    """The engine status as a coloured badge whose text is the status itself (``running``)."""
    return dbc.Badge(status.value, color=_STATUS_COLOUR[status], className="pc-status")


def transport_line(transport: TransportView) -> html.Span:
    """Where events go beyond the SQL store, and the relay's lag; in red when the relay fails."""
    if transport.bus == "embedded":
        return html.Span("events: SQL event store (embedded bus)")
    if transport.relay_lag_events is None:
        return html.Span(f"events: {transport.bus}, read-only")
    text = f"events: SQL event store → {transport.bus}, relay lag {transport.relay_lag_events:,}"
    if transport.relay_error:
        return html.Span(f"{text} · {transport.relay_error}", className="text-danger")
    return html.Span(text)


def _trading_state_badge(view: PortfolioView) -> list[dbc.Badge]:
    """A badge (its reason on hover) for a portfolio that may not trade freely: red HALTED, amber
    REDUCING; nothing when ACTIVE."""
    if view.trading_state == "ACTIVE":
        return []
    return [
        dbc.Badge(
            view.trading_state,
            color="danger" if view.trading_state == "HALTED" else "warning",
            className="ms-2 pc-trading-state",
            title=view.halt_reason or "",
        )
    ]


def portfolio_cards(portfolios: Sequence[PortfolioView], colours: Mapping[str, str]) -> dbc.Row:
    """One card per portfolio: NAV, return since start, cash and its weight, orders and fills."""
    cards = []
    for view in portfolios:
        colour = colours[view.portfolio_id]
        return_pct = view.total_return_pct
        cards.append(
            dbc.Col(
                dbc.Card(
                    dbc.CardBody(
                        [
                            html.Div(
                                [
                                    portfolio_label(view.name, colour),
                                    *_trading_state_badge(view),
                                ],
                                className="fw-semibold",
                            ),
                            html.Div(fmt.usd(view.nav_usd), className="pc-kpi mt-1"),
                            html.Div(
                                [
                                    html.Span(
                                        fmt.signed_pct(return_pct),
                                        style={"color": POSITIVE if return_pct >= 0 else NEGATIVE},
                                    ),
                                    html.Span(" since start", className="text-muted"),
                                ],
                                className="small",
                            ),
                            html.Div(
                                f"cash {fmt.usd(view.cash_usd)} ({fmt.pct(view.cash_weight)})",
                                className="small text-muted",
                            ),
                            html.Div(
                                f"{view.orders_total:,} orders · {view.fills_total:,} fills",
                                className="small text-muted",
                            ),
                        ]
                    ),
                    className="pc-card pc-portfolio-card",
                    style={"borderLeftColor": colour},
                ),
                md=12 // max(1, min(len(portfolios), 4)),
                className="mb-3",
            )
        )
    if not cards:
        return dbc.Row(dbc.Col(html.Div("No portfolios configured", className="text-muted")))
    return dbc.Row(cards)
