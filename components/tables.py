"""Table builders: snapshot rows or events in, a Bootstrap table out (newest first where timed).

Numbers are right-aligned and formatted for a person (money to the cent, shares whole); the exact
values stay in the engine and the JSON API. Each cell is a Dash component, which costs about 15 us
to build and send: live tables show a bounded number of rows, and style a cell rather than wrap
its text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import dash_bootstrap_components as dbc
from dash import html

from components import formatting as fmt
from components.colours import NEGATIVE, POSITIVE
from engine.allocation.impact import AllocationImpact
from engine.model import Conflict, Event, Fill, Order, Side
from engine.signals.book import ALL_PORTFOLIOS, Override
from engine.snapshot import (
    AllocationView,
    BlockView,
    ConflictCount,
    CrossView,
    ExecutionQualityView,
    PortfolioView,
    RejectedSignal,
    RiskView,
    SignalRow,
    SleeveView,
    SourceQualityView,
    WeightOverrideView,
    WorkingOrderView,
)

# Rows a live table shows: enough to follow what just happened, few enough to redraw each second.
RECENT_ROWS = 50

# A payload longer than this is cut on screen; the full text is in the cell's tooltip.
PAYLOAD_DISPLAY_CHARS = 400

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    numeric: bool = False


@dataclass(frozen=True, slots=True)
class Cell:
    """A cell that needs its own class or style (a coloured side, a portfolio's colour bar).

    Styling the ``<td>`` itself, rather than wrapping the text in a span, keeps one component per
    cell.
    """

    content: Any
    class_name: str | None = None
    style: dict[str, str] | None = None


def _td(cell: Any, align: str | None) -> html.Td:
    if not isinstance(cell, Cell):
        return html.Td(cell, className=align)
    class_name = " ".join(name for name in (align, cell.class_name) if name) or None
    return html.Td(cell.content, className=class_name, style=cell.style)


def _table(columns: Sequence[Column], rows: Sequence[Sequence[Any]], *, empty: str) -> html.Div:
    align = ["text-end" if column.numeric else None for column in columns]
    header = html.Thead(
        html.Tr([html.Th(c.header, className=a) for c, a in zip(columns, align, strict=True)])
    )
    if rows:
        body = html.Tbody(
            [html.Tr([_td(cell, a) for cell, a in zip(row, align, strict=True)]) for row in rows]
        )
    else:
        body = html.Tbody(
            html.Tr(html.Td(empty, colSpan=len(columns), className="text-muted text-center"))
        )
    return html.Div(
        dbc.Table([header, body], striped=True, hover=True, size="sm", className="pc-table mb-0"),
        className="pc-table-wrap",
    )


def newest_first(items: Sequence[T], key: Callable[[T], Any]) -> list[T]:
    """Newest first by ``key``; items with the same key keep reverse arrival order.

    The snapshot lists recent orders and fills in the order they happened, so within one market
    day the later one is the one further down the tuple.
    """
    return sorted(reversed(items), key=key, reverse=True)


def portfolio_label(name: str, colour: str) -> html.Span:
    """A portfolio's name behind a swatch of its colour, as it appears on every page."""
    return html.Span(
        [html.Span(className="pc-swatch", style={"backgroundColor": colour}), name],
        className="pc-portfolio-label",
    )


ALL_PORTFOLIOS_LABEL = "All portfolios"


class PortfolioLabels:
    """Cells naming a portfolio, with a bar of its colour at the left, for tables that mix them."""

    def __init__(self, portfolios: Sequence[PortfolioView], colours: Mapping[str, str]) -> None:
        self._names = {view.portfolio_id: view.name for view in portfolios}
        self._styles = {
            # A border, not an inset shadow: Bootstrap draws the row stripes with the shadow.
            portfolio_id: {"borderLeft": f"4px solid {colour}", "paddingLeft": "0.5rem"}
            for portfolio_id, colour in colours.items()
        }

    def __call__(self, portfolio_id: str | None) -> Cell | str:
        if portfolio_id is None:
            return fmt.EMPTY
        if portfolio_id == ALL_PORTFOLIOS:
            return ALL_PORTFOLIOS_LABEL
        return Cell(
            self._names.get(portfolio_id, portfolio_id),
            class_name="pc-portfolio-cell",
            style=self._styles.get(portfolio_id),
        )


def _side(side: Side) -> Cell:
    return Cell(side.value, class_name=f"pc-side pc-side-{side.value.lower()}")


def _score(value: float) -> Cell:
    colour = POSITIVE if value > 0 else NEGATIVE if value < 0 else None
    return Cell(f"{value:+.2f}", style={"color": colour} if colour else None)


ORDER_COLUMNS = (
    Column("date"),
    Column("order"),
    Column("portfolio"),
    Column("symbol"),
    Column("side"),
    Column("shares", numeric=True),
    Column("decision price (USD)", numeric=True),
    Column("notional (USD)", numeric=True),
)


def orders_table(
    orders: Sequence[Order], labels: PortfolioLabels, *, limit: int = RECENT_ROWS
) -> html.Div:
    rows = [
        [
            fmt.day(order.created),
            order.order_id,
            labels(order.portfolio_id),
            order.symbol,
            _side(order.side),
            fmt.shares(order.quantity_shares),
            fmt.price(order.decision_price_usd),
            fmt.usd(order.decision_price_usd * order.quantity_shares),
        ]
        for order in newest_first(orders, key=lambda order: order.created)[:limit]
    ]
    return _table(ORDER_COLUMNS, rows, empty="No orders yet")


FILL_COLUMNS = (
    Column("date"),
    Column("fill"),
    Column("order"),
    Column("portfolio"),
    Column("symbol"),
    Column("side"),
    Column("shares", numeric=True),
    Column("price (USD)", numeric=True),
    Column("notional (USD)", numeric=True),
    Column("commission (USD)", numeric=True),
)


def fills_table(
    fills: Sequence[Fill], labels: PortfolioLabels, *, limit: int = RECENT_ROWS
) -> html.Div:
    rows = [
        [
            fmt.day(fill.timestamp),
            fill.fill_id,
            fill.order_id,
            labels(fill.portfolio_id),
            fill.symbol,
            _side(fill.side),
            fmt.shares(fill.quantity_shares),
            fmt.price(fill.price_usd),
            fmt.usd(fill.notional_usd),
            fmt.usd(fill.commission_usd),
        ]
        for fill in newest_first(fills, key=lambda fill: fill.timestamp)[:limit]
    ]
    return _table(FILL_COLUMNS, rows, empty="No fills yet")


HOLDING_COLUMNS = (
    Column("symbol"),
    Column("sector"),
    Column("shares", numeric=True),
    Column("price (USD)", numeric=True),
    Column("value (USD)", numeric=True),
    Column("weight", numeric=True),
    Column("target", numeric=True),
)


def holdings_table(portfolio: PortfolioView) -> html.Div:
    """Held or targeted positions, largest value first, then cash and the NAV they add up to."""
    positions = sorted(
        (p for p in portfolio.positions if p.quantity_shares or p.target_weight),
        key=lambda p: (p.market_value_usd, p.target_weight),
        reverse=True,
    )
    rows: list[list[Any]] = [
        [
            p.symbol,
            p.sector,
            fmt.shares(p.quantity_shares),
            fmt.price(p.price_usd),
            fmt.usd(p.market_value_usd),
            fmt.pct(p.weight, 2),
            fmt.pct(p.target_weight, 2),
        ]
        for p in positions
    ]
    rows.append(
        [
            html.Em("cash"),
            "",
            "",
            "",
            fmt.usd(portfolio.cash_usd),
            fmt.pct(portfolio.cash_weight, 2),
            fmt.pct(portfolio.target_cash_weight, 2),
        ]
    )
    rows.append([html.Strong("NAV"), "", "", "", html.Strong(fmt.usd(portfolio.nav_usd)), "", ""])
    return _table(HOLDING_COLUMNS, rows, empty="No holdings")


SIGNAL_COLUMNS = (
    Column("portfolio"),
    Column("symbol"),
    Column("score", numeric=True),
    Column("confidence", numeric=True),
)
LINEAGE_COLUMN = Column("lineage (share of the score)")


def lineage_text(lineage: Sequence[tuple[str, float]]) -> str:
    """Each raw view's share of a coordinated score, largest first: ``momentum/3m 40%, ...``."""
    if not lineage:
        return fmt.EMPTY
    ranked = sorted(lineage, key=lambda item: item[1], reverse=True)
    return ", ".join(f"{key} {share:.0%}" for key, share in ranked)


def coordinated_signals_table(
    rows: Sequence[SignalRow], labels: PortfolioLabels, *, lineage: bool = False
) -> html.Div:
    """Views held with some confidence, per portfolio, strongest (|score| x confidence) first;
    with ``lineage``, the share of each raw ``source/horizon`` view in the score."""
    portfolio_order = {
        origin: index for index, origin in enumerate(dict.fromkeys(r.origin for r in rows))
    }
    ranked = sorted(
        (row for row in rows if row.confidence > 0),
        key=lambda row: (portfolio_order[row.origin], -abs(row.score) * row.confidence),
    )
    table_rows = [
        [labels(row.origin), row.symbol, _score(row.score), fmt.pct(row.confidence, 0)]
        + ([lineage_text(row.lineage)] if lineage else [])
        for row in ranked
    ]
    columns = (*SIGNAL_COLUMNS, LINEAGE_COLUMN) if lineage else SIGNAL_COLUMNS
    return _table(columns, table_rows, empty="No coordinated signals yet")


CONFLICT_COUNT_COLUMNS = (
    Column("portfolio"),
    Column("conflicts in the latest cycle", numeric=True),
    Column("this session", numeric=True),
)


def conflict_counts_table(counts: Sequence[ConflictCount], labels: PortfolioLabels) -> html.Div:
    """Instruments on which a portfolio's sources disagreed in direction: in the latest cycle, and
    summed over this session's rebalancing cycles."""
    rows = [[labels(c.portfolio_id), f"{c.latest_cycle:,}", f"{c.session_total:,}"] for c in counts]
    return _table(CONFLICT_COUNT_COLUMNS, rows, empty="No portfolios")


CONFLICT_COLUMNS = (
    Column("portfolio"),
    Column("instrument"),
    Column("policy"),
    Column("what each source said (score @ confidence, weight)"),
    Column("result", numeric=True),
    Column("resolution"),
)


def _source_view_lines(conflict: Conflict) -> list[Any]:
    lines: list[Any] = []
    for view in conflict.views:
        if lines:
            lines.append(html.Br())
        lines.append(
            f"{view.source} {view.score:+.2f} @ {view.confidence:.0%}, weight {view.weight:.2f}"
        )
    return lines


def conflicts_table(
    conflicts: Sequence[Conflict], labels: PortfolioLabels, *, limit: int = RECENT_ROWS
) -> html.Div:
    """The latest cycle's conflicts, portfolio by portfolio: each source's view, then what the
    policy made of them (score @ confidence) and why."""
    rows = [
        [
            labels(c.portfolio_id),
            c.symbol,
            c.policy,
            Cell(_source_view_lines(c), class_name="pc-views"),
            Cell(f"{c.score:+.2f} @ {c.confidence:.0%}"),
            c.resolution,
        ]
        for c in conflicts[:limit]
    ]
    table = _table(CONFLICT_COLUMNS, rows, empty="No conflicts in the latest cycle")
    if len(conflicts) <= limit:
        return table
    return html.Div(
        [table, html.Small(f"showing {limit} of {len(conflicts):,}", className="text-muted")]
    )


REJECTED_COLUMNS = (
    Column("time (UTC)"),
    Column("source"),
    Column("signal id"),
    Column("instrument"),
    Column("field"),
    Column("reason"),
    Column("value"),
    Column("channel"),
    Column("actor"),
)


def rejected_signals_table(
    rejections: Sequence[RejectedSignal], *, limit: int = RECENT_ROWS
) -> html.Div:
    """Signals the engine refused, newest first, each with the field and the rule it broke."""
    rows = [
        [
            fmt.moment(r.received_at),
            r.source or fmt.EMPTY,
            r.signal_id or fmt.EMPTY,
            r.instrument or fmt.EMPTY,
            Cell(r.field, class_name="fw-semibold"),
            Cell(r.reason, class_name="pc-wrap"),
            Cell(r.value or fmt.EMPTY, class_name="pc-wrap"),
            r.channel or fmt.EMPTY,
            r.actor,
        ]
        for r in newest_first(rejections, key=lambda r: r.received_at)[:limit]
    ]
    return _table(REJECTED_COLUMNS, rows, empty="No signal rejected yet")


QUALITY_COLUMNS = (
    Column("source"),
    Column("kind"),
    Column("priority", numeric=True),
    Column("horizons"),
    Column("rolling IC", numeric=True),
    Column("hit rate", numeric=True),
    Column("coverage", numeric=True),
    Column("observations", numeric=True),
    Column("weight multiplier", numeric=True),
)


def _measured(value: float, text: str) -> str:
    """NaN means the source has not been measured yet (too few matured views)."""
    return text if math.isfinite(value) else fmt.EMPTY


def source_quality_table(
    sources: Sequence[SourceQualityView], colours_by_source: Mapping[str, str]
) -> html.Div:
    """Each source's configured priority and measured quality; ``—`` where not measured yet."""
    rows = [
        [
            Cell(
                [
                    html.Span(
                        className="pc-swatch",
                        style={"backgroundColor": colours_by_source.get(q.source, "#ADB5BD")},
                    ),
                    q.source,
                ],
                class_name="pc-portfolio-label",
            ),
            q.kind,
            f"{q.priority:g}",
            ", ".join(q.horizons) or "any",
            _measured(q.ic, f"{q.ic:+.3f}"),
            _measured(q.hit_rate, fmt.pct(q.hit_rate)),
            _measured(q.coverage, fmt.pct(q.coverage)),
            f"{q.observations:,}",
            _measured(q.multiplier, f"{q.multiplier:.2f}×"),
        ]
        for q in sources
    ]
    return _table(QUALITY_COLUMNS, rows, empty="No signal sources configured")


OVERRIDE_COLUMNS = (
    Column("override"),
    Column("action"),
    Column("portfolio"),
    Column("instrument"),
    Column("score", numeric=True),
    Column("confidence", numeric=True),
    Column("set on (market date)"),
    Column("last day"),
    Column("actor"),
    Column("reason"),
    Column(""),
)


def overrides_table(
    overrides: Sequence[Override],
    labels: PortfolioLabels,
    lift_button_id: Callable[[str], dict[str, str]],
) -> html.Div:
    """Active pins and vetoes, each with a Lift button whose id ``lift_button_id`` names."""
    rows = [
        [
            html.Code(o.override_id),
            Cell(o.kind, class_name="fw-semibold"),
            labels(o.portfolio_id),
            o.symbol,
            _score(o.score) if o.kind == "pin" else fmt.EMPTY,
            fmt.pct(o.confidence, 0) if o.kind == "pin" else fmt.EMPTY,
            fmt.day(o.set_on),
            fmt.day(o.expires_on) if o.expires_on else "until lifted",
            o.actor,
            Cell(o.reason, class_name="pc-wrap"),
            dbc.Button(
                "Lift",
                id=lift_button_id(o.override_id),
                size="sm",
                color="secondary",
                outline=True,
                className="py-0",
            ),
        ]
        for o in overrides
    ]
    return _table(OVERRIDE_COLUMNS, rows, empty="No active overrides")


OVERRIDE_AUDIT_COLUMNS = (
    Column("time (UTC)"),
    Column("actor"),
    Column("action"),
    Column("override"),
    Column("portfolio"),
    Column("instrument"),
    Column("reason"),
)
LIFTED_PREFIX = "lifted: "


def _audit_action(event: Event) -> tuple[str, str]:
    """What happened to the override, and why, as a person says it."""
    payload = event.payload
    kind = payload.get("kind", "override")
    reason = str(payload.get("reason", ""))
    if event.type == "OverrideSet":
        if kind == "pin":
            return (
                f"pin set ({payload['score']:+.2f} @ {payload['confidence']:.0%})",
                reason,
            )
        return f"{kind} set", reason
    if reason.startswith(LIFTED_PREFIX):
        return f"{kind} lifted", reason.removeprefix(LIFTED_PREFIX)
    return f"{kind} expired", reason


def override_audit_table(
    events: Sequence[Event], labels: PortfolioLabels, *, limit: int = RECENT_ROWS
) -> html.Div:
    """``OverrideSet`` and ``OverrideExpired`` events, newest first (by sequence number).

    An override for every portfolio is stored without a portfolio id, so an event without one
    reads "All portfolios".
    """
    ordered = sorted(events, key=lambda event: event.seq or 0, reverse=True)[:limit]
    rows = []
    for event in ordered:
        action, reason = _audit_action(event)
        rows.append(
            [
                fmt.moment(event.timestamp),
                event.actor,
                Cell(action, class_name="fw-semibold"),
                html.Code(event.payload.get("override_id", fmt.EMPTY)),
                labels(event.portfolio_id or ALL_PORTFOLIOS),
                event.payload.get("instrument", fmt.EMPTY),
                Cell(reason, class_name="pc-wrap"),
            ]
        )
    return _table(OVERRIDE_AUDIT_COLUMNS, rows, empty="No override set yet")


EVENT_COLUMNS = (
    Column("seq", numeric=True),
    Column("time"),
    Column("type"),
    Column("portfolio"),
    Column("actor"),
    Column("payload"),
)


def _payload(payload: dict[str, Any]) -> html.Code:
    text = fmt.compact_json(payload)
    if len(text) <= PAYLOAD_DISPLAY_CHARS:
        return html.Code(text, className="pc-payload")
    shown = text[: PAYLOAD_DISPLAY_CHARS - 1] + "…"
    return html.Code(shown, title=text, className="pc-payload")


def events_table(events: Sequence[Event], labels: PortfolioLabels) -> html.Div:
    """Events in the order given (the store returns newest first), payload as one line of JSON."""
    rows = [
        [
            event.seq if event.seq is not None else fmt.EMPTY,
            fmt.moment(event.timestamp),
            event.type,
            labels(event.portfolio_id),
            event.actor,
            _payload(event.payload),
        ]
        for event in events
    ]
    return _table(EVENT_COLUMNS, rows, empty="No events match these filters")


IMPACT_COLUMNS = (Column(""), Column("now", numeric=True), Column("proposed", numeric=True))


def impact_table(impact: AllocationImpact | None) -> html.Div:
    """The latest proposal against the current holdings: return, risk, turnover, cost, changes."""
    if impact is None:
        return _table(
            IMPACT_COLUMNS, [], empty="No proposal yet (one is assessed at each rebalance)."
        )
    rows = [
        (
            "expected return (a year, from the signals)",
            fmt.pct(impact.current_expected_return_annual),
            fmt.pct(impact.expected_return_annual),
        ),
        (
            "ex-ante volatility (a year)",
            fmt.pct(impact.current_volatility_annual),
            fmt.pct(impact.volatility_annual),
        ),
        (
            "tracking error to the universe, equally weighted",
            "",
            fmt.pct(impact.tracking_error_annual),
        ),
        ("turnover (sum of weight changes)", "", fmt.pct(impact.turnover)),
        (
            "estimated cost (spread and commission)",
            "",
            f"{fmt.usd(impact.estimated_cost_usd)} ({impact.estimated_cost_bps:.1f} bps of NAV)",
        ),
    ]
    rows += [
        (f"change: {c.symbol}", fmt.pct(c.current), fmt.pct(c.target)) for c in impact.top_changes
    ]
    return _table(IMPACT_COLUMNS, rows, empty="")


ALLOCATION_STATUS_COLOURS = {"ok": "success", "fallback": "warning", "infeasible": "danger"}
BINDING_COLUMNS = (Column("constraint at its limit"), Column("instruments"))


def _binding_row(binding: str) -> list[Any]:
    """``max_weight: AAPL, MSFT`` as the constraint family and the names it holds back."""
    family, _, names = binding.partition(": ")
    return [Cell(family, class_name="fw-semibold"), names or fmt.EMPTY]


def allocation_outcome(allocation: AllocationView | None) -> html.Div:
    """How the latest allocation came out: status badge, model, market date, the reason when it
    is not ``ok``, and the constraints that bind in the whole-share target."""
    if allocation is None:
        return html.Div(
            "No allocation yet: the first one is made at the first rebalance.",
            className="text-muted",
        )
    header: list[Any] = [
        dbc.Badge(
            allocation.status,
            color=ALLOCATION_STATUS_COLOURS.get(allocation.status, "secondary"),
            className="pc-status me-2",
        ),
        html.Span(allocation.model, className="fw-semibold"),
        html.Span(f" · market date {fmt.day(allocation.market_date)}", className="text-muted"),
    ]
    children: list[Any] = [html.Div(header, className="mb-1")]
    if allocation.reason:
        colour = "text-danger" if allocation.status == "infeasible" else "text-muted"
        children.append(html.Div(allocation.reason, className=f"small {colour} mb-2"))
    children.append(
        _table(
            BINDING_COLUMNS,
            [_binding_row(binding) for binding in allocation.binding],
            empty="No constraint binds: the target sits inside every limit.",
        )
    )
    return html.Div(children)


SLEEVE_COLUMNS = (
    Column("sleeve"),
    Column("capital (% of NAV)", numeric=True),
    Column("model"),
    Column("sources"),
    Column("largest contributions (% of NAV)"),
)
SLEEVE_TOP_CONTRIBUTIONS = 3


def sleeves_table(
    sleeves: Sequence[SleeveView], *, top: int = SLEEVE_TOP_CONTRIBUTIONS
) -> html.Div:
    """Each sleeve's capital, model and sources, with its ``top`` largest contributions to the
    portfolio's weights (by size: a short counts as much as a long)."""
    rows = []
    for sleeve in sleeves:
        largest = sorted(sleeve.contributions, key=lambda item: abs(item[1]), reverse=True)[:top]
        rows.append(
            [
                Cell(sleeve.sleeve_id, class_name="fw-semibold"),
                fmt.pct(sleeve.capital),
                sleeve.model,
                ", ".join(sleeve.sources) or fmt.EMPTY,
                ", ".join(f"{symbol} {fmt.pct(weight, 2)}" for symbol, weight in largest)
                or fmt.EMPTY,
            ]
        )
    return _table(SLEEVE_COLUMNS, rows, empty="One book: this portfolio has no sleeves.")


CASH_COLUMNS = (Column(""), Column("value", numeric=True))


def signed_usd(amount: Decimal) -> str:
    """Money with its sign always shown (a receivable ``+$10.00``, a payable ``-$10.00``)."""
    return f"+{fmt.usd(amount)}" if amount > 0 else fmt.usd(amount)


def cash_table(portfolio: PortfolioView) -> html.Div:
    """Cash and where it stands: settled, pending (signed, each settlement date), interest earned
    and its rate, and the cash weight against its target.

    Before the engine reports the cash detail, only the cash balance and weights are shown.
    """
    rows: list[list[Any]] = [[html.Strong("cash"), html.Strong(fmt.usd(portfolio.cash_usd))]]
    cash = portfolio.cash
    if cash is not None:
        rows.append(["settled", fmt.usd(cash.settled_usd)])
        rows.append(["pending settlement (+ to receive, - to pay)", signed_usd(cash.pending_usd)])
        rows += [
            [Cell(f"settles {fmt.day(day)}", class_name="ps-4 text-muted"), signed_usd(amount)]
            for day, amount in sorted(cash.settlements)
        ]
        rows.append(["interest income to date", fmt.usd(cash.interest_income_usd)])
        rows.append(["interest rate (a year)", fmt.pct(cash.interest_rate_annual, 2)])
    rows.append(["cash weight", fmt.pct(portfolio.cash_weight, 2)])
    rows.append(["target cash weight", fmt.pct(portfolio.target_cash_weight, 2)])
    return _table(CASH_COLUMNS, rows, empty="")


WEIGHT_OVERRIDE_COLUMNS = (
    Column("instrument"),
    Column("action"),
    Column("weight (% of NAV)", numeric=True),
    Column("set on (market date)"),
    Column("actor"),
    Column("reason"),
    Column(""),
)


def weight_overrides_table(
    overrides: Sequence[WeightOverrideView],
    lift_button_id: Callable[[str, str], dict[str, str]],
) -> html.Div:
    """A portfolio's pinned and excluded instruments, by symbol, each with a Lift button whose id
    ``lift_button_id(portfolio_id, symbol)`` names."""
    rows = [
        [
            o.symbol,
            Cell("exclude" if o.weight is None else "pin", class_name="fw-semibold"),
            fmt.EMPTY if o.weight is None else fmt.pct(o.weight, 2),
            fmt.day(o.set_on),
            o.actor,
            Cell(o.reason, class_name="pc-wrap"),
            dbc.Button(
                "Lift",
                id=lift_button_id(o.portfolio_id, o.symbol),
                size="sm",
                color="secondary",
                outline=True,
                className="py-0",
            ),
        ]
        for o in sorted(overrides, key=lambda o: o.symbol)
    ]
    return _table(
        WEIGHT_OVERRIDE_COLUMNS,
        rows,
        empty="No weight overrides: the allocation sets every weight.",
    )


# Trades: the working-order blotter, crosses, blocks and execution quality ----------------------

# The blotter shows every working order up to this many; past it, the newest, and says so.
WORKING_ROWS = 100
ORDER_STATE_COLOURS = {"NEW": "secondary", "PARTIALLY_FILLED": "info"}
TRADING_STATE_COLOURS = {"ACTIVE": "success", "REDUCING": "warning", "HALTED": "danger"}


def _side_text(side: str) -> Cell:
    """A side given as text (``"BUY"``), coloured like ``_side``."""
    return Cell(side, class_name=f"pc-side pc-side-{side.lower()}")


def _bps(value: float) -> str:
    """Basis points to one decimal; ``—`` when not measured (NaN)."""
    return f"{value:,.1f}" if math.isfinite(value) else fmt.EMPTY


def _shown_of(table: html.Div, shown: int, total: int) -> html.Div:
    if total <= shown:
        return table
    return html.Div([table, html.Small(f"showing {shown} of {total:,}", className="text-muted")])


def trading_state_badge(state: str, halt_reason: str | None = None) -> html.Span:
    """A portfolio's trading state (ACTIVE, REDUCING, HALTED) as a badge, with why it is not
    active when the engine says."""
    children: list[Any] = [
        dbc.Badge(
            state,
            color=TRADING_STATE_COLOURS.get(state, "secondary"),
            className="pc-status",
        )
    ]
    if halt_reason and state != "ACTIVE":
        children.append(html.Span(f" {halt_reason}", className="text-danger"))
    return html.Span(children, className="pc-trading-state")


def filled_progress(filled_shares: int, quantity_shares: int) -> list[Any]:
    """``1,200 / 5,000`` over a thin bar of the filled share of the order."""
    filled_pct = 100.0 * filled_shares / quantity_shares if quantity_shares else 0.0
    return [
        f"{fmt.shares(filled_shares)} / {fmt.shares(quantity_shares)}",
        dbc.Progress(
            value=filled_pct,
            color="success",
            style={"height": "4px"},
            className="mt-1",
        ),
    ]


WORKING_ORDER_COLUMNS = (
    Column("created"),
    Column("order"),
    Column("portfolio"),
    Column("symbol"),
    Column("side"),
    Column("filled / shares", numeric=True),
    Column("state"),
    Column("algorithm (why)"),
    Column("crossed shares", numeric=True),
    Column("est. cost (bps)", numeric=True),
    Column(""),
)


def working_orders_table(
    orders: Sequence[WorkingOrderView],
    labels: PortfolioLabels,
    cancel_button_id: Callable[[str], dict[str, str]],
    *,
    limit: int = WORKING_ROWS,
) -> html.Div:
    """The blotter: orders still working, newest first, each with its fill progress, state,
    the algorithm chosen and why, the shares crossed internally, the cost model's estimate and
    a Cancel button whose id ``cancel_button_id(order_id)`` names."""
    shown = newest_first(orders, key=lambda order: order.created)[:limit]
    rows = [
        [
            fmt.day(o.created),
            html.Code(o.order_id),
            labels(o.portfolio_id),
            o.symbol,
            _side_text(o.side),
            filled_progress(o.filled_shares, o.quantity_shares),
            dbc.Badge(o.state, color=ORDER_STATE_COLOURS.get(o.state, "secondary")),
            Cell(
                [html.Span(o.algorithm, className="fw-semibold"), html.Br(), o.reason],
                class_name="pc-wrap small",
            ),
            fmt.shares(o.crossed_shares) if o.crossed_shares else fmt.EMPTY,
            _bps(o.estimated_cost_bps),
            dbc.Button(
                "Cancel",
                id=cancel_button_id(o.order_id),
                size="sm",
                color="danger",
                outline=True,
                className="py-0",
            ),
        ]
        for o in shown
    ]
    table = _table(WORKING_ORDER_COLUMNS, rows, empty="No working orders: nothing left to trade.")
    return _shown_of(table, len(shown), len(orders))


def signed_portfolio_shares(
    portfolios: Sequence[tuple[str, int]],
    names: Mapping[str, str],
    colours: Mapping[str, str],
) -> list[Any]:
    """Each portfolio of a cross behind its colour, with its signed shares (+ bought, - sold),
    buyers first."""
    ranked = sorted(portfolios, key=lambda item: item[1], reverse=True)
    return [
        html.Span(
            [
                html.Span(
                    className="pc-swatch", style={"backgroundColor": colours.get(pid, "#ADB5BD")}
                ),
                f"{names.get(pid, pid)} {shares:+,}",
            ],
            className="pc-portfolio-label me-2",
        )
        for pid, shares in ranked
    ]


CROSS_COLUMNS = (
    Column("date"),
    Column("symbol"),
    Column("shares", numeric=True),
    Column("mid price (USD)", numeric=True),
    Column("portfolios (signed shares)"),
    Column("saving (USD)", numeric=True),
)


def crosses_table(
    crosses: Sequence[CrossView],
    names: Mapping[str, str],
    colours: Mapping[str, str],
    *,
    limit: int = RECENT_ROWS,
) -> html.Div:
    """Shares crossed internally between portfolios at the mid, newest first, with each
    portfolio's side and the spread and impact the venue would have charged (the saving)."""
    rows = [
        [
            fmt.day(c.market_date),
            c.symbol,
            fmt.shares(c.quantity_shares),
            fmt.price(c.price_usd),
            signed_portfolio_shares(c.portfolios, names, colours),
            fmt.usd(c.saving_usd),
        ]
        for c in newest_first(crosses, key=lambda c: c.market_date)[:limit]
    ]
    return _table(
        CROSS_COLUMNS, rows, empty="No crosses yet: no two portfolios traded against each other."
    )


BLOCK_COLUMNS = (
    Column("block"),
    Column("date"),
    Column("symbol"),
    Column("side"),
    Column("shares", numeric=True),
    Column("filled", numeric=True),
    Column("fill rate", numeric=True),
    Column("child orders", numeric=True),
)


def blocks_table(blocks: Sequence[BlockView], *, limit: int = RECENT_ROWS) -> html.Div:
    """The day's blocks sent to the venue, newest first: the children's slices on one instrument
    and side as one order, and how much of it filled."""
    rows = [
        [
            html.Code(b.block_id),
            fmt.day(b.market_date),
            b.symbol,
            _side_text(b.side),
            fmt.shares(b.quantity_shares),
            fmt.shares(b.filled_shares),
            fmt.pct(b.filled_shares / b.quantity_shares if b.quantity_shares else None, 0),
            f"{b.children:,}",
        ]
        for b in newest_first(blocks, key=lambda b: b.market_date)[:limit]
    ]
    return _table(BLOCK_COLUMNS, rows, empty="No blocks yet")


EXECUTION_QUALITY_COLUMNS = (
    Column("portfolio"),
    Column("orders", numeric=True),
    Column("decision notional (USD)", numeric=True),
    Column("delay (bps)", numeric=True),
    Column("spread (bps)", numeric=True),
    Column("impact (bps)", numeric=True),
    Column("commission (bps)", numeric=True),
    Column("opportunity (bps)", numeric=True),
    Column("total (bps)", numeric=True),
    Column("total (USD)", numeric=True),
    Column("crossing saving (USD)", numeric=True),
)


def execution_quality_table(
    quality: Sequence[ExecutionQualityView], labels: PortfolioLabels
) -> html.Div:
    """Implementation shortfall of each portfolio's completed orders, split into its parts
    (basis points of the decision notional; a cost is positive), and what crossing saved."""
    rows = [
        [
            labels(q.portfolio_id),
            f"{q.orders:,}",
            fmt.usd(q.decision_notional_usd),
            _bps(q.delay_bps),
            _bps(q.spread_bps),
            _bps(q.impact_bps),
            _bps(q.commission_bps),
            _bps(q.opportunity_bps),
            Cell(_bps(q.total_bps), class_name="fw-semibold"),
            fmt.usd(q.total_usd),
            fmt.usd(q.crossing_saving_usd),
        ]
        for q in quality
    ]
    return _table(EXECUTION_QUALITY_COLUMNS, rows, empty="No completed orders yet to measure.")


# The Risk page ------------------------------------------------------------------------------------

RISK_EXPOSURE_COLUMNS = (Column("exposure and risk"), Column("% of NAV", numeric=True))
RISK_VAR_COLUMNS = (
    Column("1-day loss"),
    Column("parametric (% of NAV)", numeric=True),
    Column("historical (% of NAV)", numeric=True),
)
RISK_DECIMALS = 2


def risk_figures(risk: RiskView | None) -> html.Div:
    """A portfolio's exposures and risk at the latest close, in percent of NAV: gross and net
    exposure, annual volatility, current and maximum drawdown, then the 1-day VaR and CVaR at 95%
    and 99%, parametric next to historical (losses, positive)."""
    if risk is None:
        return html.Div(
            "No risk measured yet: the engine measures it after each close.",
            className="text-muted",
        )

    def pct(fraction: float) -> str:
        return fmt.pct(fraction, RISK_DECIMALS)

    exposures = [
        ("gross exposure", pct(risk.gross_exposure)),
        ("net exposure", pct(risk.net_exposure)),
        ("volatility (annual)", pct(risk.volatility_annual)),
        ("drawdown (current)", pct(risk.drawdown)),
        ("drawdown (maximum)", pct(risk.max_drawdown)),
    ]
    losses = [
        ("VaR 95%", pct(risk.var_95_parametric), pct(risk.var_95_historical)),
        ("VaR 99%", pct(risk.var_99_parametric), pct(risk.var_99_historical)),
        ("CVaR 95%", pct(risk.cvar_95_parametric), pct(risk.cvar_95_historical)),
        ("CVaR 99%", pct(risk.cvar_99_parametric), pct(risk.cvar_99_historical)),
    ]
    return html.Div(
        [
            html.Div(
                f"at the close of {fmt.day(risk.market_date)}", className="text-muted small mb-2"
            ),
            dbc.Row(
                [
                    dbc.Col(_table(RISK_EXPOSURE_COLUMNS, exposures, empty=""), md=5),
                    dbc.Col(_table(RISK_VAR_COLUMNS, losses, empty=""), md=7),
                ]
            ),
        ]
    )
