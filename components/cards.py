"""Data-driven summary pieces: the engine status badge, the transport line, the Overview's table
of books (a manager's figures per portfolio, with totals) and its open alerts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

import dash_bootstrap_components as dbc
from dash import html

from components import formatting as fmt
from components.colours import NEGATIVE, POSITIVE
from components.tables import portfolio_label
from engine.snapshot import EngineStatus, OverviewView, RiskAlertView, TransportView

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


def _trading_state_badge(state: str, reason: str | None) -> list[dbc.Badge]:
    """A badge (its reason on hover) for a portfolio that may not trade freely: red HALTED, amber
    REDUCING; nothing when ACTIVE."""
    if state == "ACTIVE":
        return []
    return [
        dbc.Badge(
            state,
            color="danger" if state == "HALTED" else "warning",
            className="ms-2 pc-trading-state",
            title=reason or "",
        )
    ]


def signed_usd(amount: Decimal | None) -> str:
    """A P&L with its sign: ``+$1,234.50``, ``-$80.00``."""
    if amount is None:
        return fmt.EMPTY
    return f"+{fmt.usd(amount)}" if amount > 0 else fmt.usd(amount)


def pnl_text(amount_usd: Decimal | None, fraction: float | None) -> str:
    """``+$10,000.00 (+0.96%)``: the P&L in dollars and as a percentage of its base."""
    if amount_usd is None:
        return fmt.EMPTY
    if fraction is None:
        return signed_usd(amount_usd)
    return f"{signed_usd(amount_usd)} ({fmt.signed_pct(fraction * 100)})"


def _pnl_cell(amount_usd: Decimal | None, fraction: float | None) -> html.Td:
    colour = None
    if amount_usd is not None and amount_usd != 0:
        colour = POSITIVE if amount_usd > 0 else NEGATIVE
    return html.Td(pnl_text(amount_usd, fraction), style={"color": colour}, className="text-end")


def turnover_text(annual_turnover: float | None) -> str:
    """Annual turnover as a multiple of NAV a year: ``1.85× NAV/yr``."""
    if annual_turnover is None:
        return fmt.EMPTY
    return f"{annual_turnover:,.2f}× NAV/yr"


def _alerts_cell(alerts: int, breaches: int) -> html.Td:
    if not alerts and not breaches:
        return html.Td("none", className="text-muted text-end")
    badges = []
    if breaches:
        badges.append(dbc.Badge(f"{breaches} in breach", color="danger", className="me-1"))
    if alerts:
        badges.append(dbc.Badge(f"{alerts} open", color="warning", text_color="dark"))
    return html.Td(badges, className="text-end")


BOOK_COLUMNS = (
    "Portfolio",
    "NAV",
    "Today's P&L",
    "P&L since start",
    "Drift from target",
    "Cash / target",
    "Cash to invest",
    "Annual turnover",
    "Alerts",
)
_BOOK_TITLES = {
    "NAV": "Net asset value at the latest market date, USD",
    "Today's P&L": "Change of NAV on the latest market date against the previous one: USD (%)",
    "P&L since start": "NAV less the starting capital (start of the replay): USD (%)",
    "Drift from target": (
        "Half the sum of |weight - target weight| over instruments and cash: the share of NAV "
        "a rebalance to target would trade one way, % of NAV"
    ),
    "Cash / target": "Cash weight now / the target cash weight, % of NAV",
    "Cash to invest": "Cash above the target cash weight, USD",
    "Annual turnover": (
        "Traded notional (buys + sells) over average NAV, per year of 252 trading days"
    ),
    "Alerts": "Limits in breach now, and open risk alerts",
}


def books_table(overview: OverviewView, colours: Mapping[str, str]) -> html.Div:
    """One row per portfolio with the manager's figures, and a total row over all of them."""
    if not overview.books:
        return html.Div("No portfolios configured", className="text-muted")
    header = html.Thead(
        html.Tr(
            [
                html.Th(name, title=_BOOK_TITLES.get(name), className="text-end" if k else None)
                for k, name in enumerate(BOOK_COLUMNS)
            ]
        )
    )
    rows = []
    for book in overview.books:
        since = f" since market date {fmt.day(book.turnover_since)}" if book.turnover_since else ""
        rows.append(
            html.Tr(
                [
                    html.Td(
                        [
                            portfolio_label(book.name, colours[book.portfolio_id]),
                            *_trading_state_badge(book.trading_state, book.halt_reason),
                        ]
                    ),
                    html.Td(fmt.usd(book.nav_usd), className="text-end"),
                    _pnl_cell(book.pnl_today_usd, book.pnl_today_pct),
                    _pnl_cell(book.pnl_period_usd, book.pnl_period_pct),
                    html.Td(fmt.pct(book.drift, 2), className="text-end"),
                    html.Td(
                        f"{fmt.pct(book.cash_weight)} / {fmt.pct(book.target_cash_weight)}",
                        className="text-end",
                    ),
                    html.Td(fmt.usd(book.cash_to_invest_usd), className="text-end"),
                    html.Td(
                        turnover_text(book.annual_turnover),
                        title=f"traded {fmt.usd(book.traded_usd)}{since}",
                        className="text-end",
                    ),
                    _alerts_cell(book.alerts, book.breaches),
                ],
                className="pc-book-row",
            )
        )
    total = html.Tr(
        [
            html.Th("All portfolios"),
            html.Th(fmt.usd(overview.aum_usd), className="text-end"),
            _pnl_cell(overview.pnl_today_usd, overview.pnl_today_pct),
            _pnl_cell(overview.pnl_period_usd, overview.pnl_period_pct),
            html.Td(fmt.EMPTY, className="text-end text-muted"),
            html.Td(fmt.EMPTY, className="text-end text-muted"),
            html.Th(fmt.usd(overview.cash_to_invest_usd), className="text-end"),
            html.Td(fmt.EMPTY, className="text-end text-muted"),
            _alerts_cell(overview.alerts, overview.breaches),
        ],
        className="pc-book-total",
    )
    return html.Div(
        dbc.Table(
            [header, html.Tbody([*rows, total])], hover=True, size="sm", className="pc-table mb-0"
        ),
        className="pc-table-wrap",
    )


ALERT_ROWS_SHOWN = 20


def alerts_table(
    alerts: Sequence[RiskAlertView], names: Mapping[str, str], colours: Mapping[str, str]
) -> html.Div:
    """The open risk alerts, newest first (at most ``ALERT_ROWS_SHOWN``; the Risk page has all)."""
    if not alerts:
        return html.Div("No open risk alerts.", className="text-muted")
    newest = sorted(alerts, key=lambda a: a.raised_on or date.min, reverse=True)
    header = html.Thead(
        html.Tr(
            [
                html.Th(name)
                for name in ("Portfolio", "Level", "Limit", "What", "Raised (market date)", "Ack.")
            ]
        )
    )
    rows = [
        html.Tr(
            [
                html.Td(
                    portfolio_label(
                        names.get(alert.portfolio_id, alert.portfolio_id),
                        colours.get(alert.portfolio_id, "#6c757d"),
                    )
                ),
                html.Td(
                    dbc.Badge(
                        alert.level,
                        color="danger" if alert.level == "breach" else "warning",
                        text_color=None if alert.level == "breach" else "dark",
                    )
                ),
                html.Td(alert.limit),
                html.Td(alert.message, className="pc-wrap"),
                html.Td(fmt.day(alert.raised_on)),
                html.Td(alert.acknowledged_by or "no", className="text-muted"),
            ]
        )
        for alert in newest[:ALERT_ROWS_SHOWN]
    ]
    more = len(newest) - ALERT_ROWS_SHOWN
    note = (
        [html.Small(f"and {more:,} more on the Risk page", className="text-muted")]
        if more > 0
        else []
    )
    return html.Div(
        [
            dbc.Table([header, html.Tbody(rows)], hover=True, size="sm", className="pc-table mb-0"),
            *note,
        ],
        className="pc-table-wrap pc-scroll",
    )
