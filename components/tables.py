"""The table builder and the tables of the Overview, Allocation, Events and Risk figures.

``build_table(columns, rows, empty=...)`` is the one way a table is made: a spec of ``Column``s
(header, numeric or not) and rows of plain values or ``Cell``s (a value with its own class or
style). Each table is a column spec plus the rows it maps from snapshot views or events (newest
first where timed); the Signals and Trades pages' tables are in ``signal_tables.py`` and
``trade_tables.py``, the Risk page's in ``risk.py`` and ``risk_tables.py``.

Numbers are right-aligned and formatted for a person (money to the cent, shares whole); the exact
values stay in the engine and the JSON API. Each cell is a Dash component, which costs about 15 us
to build and send: live tables show a bounded number of rows, and style a cell rather than wrap
its text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import dash_bootstrap_components as dbc
from dash import html

from components import formatting as fmt
from components.colours import NEGATIVE, POSITIVE
from engine.allocation.impact import AllocationImpact
from engine.model import Side
from engine.risk.metrics import drawdown_basis
from engine.signals.book import ALL_PORTFOLIOS
from engine.snapshot import (
    AllocationView,
    PortfolioView,
    RiskView,
    SleeveView,
    WeightOverrideView,
)

# Rows a live table shows: enough to follow what just happened, few enough to redraw each second.
RECENT_ROWS = 50


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


def build_table(
    columns: Sequence[Column], rows: Sequence[Sequence[Any]], *, empty: str
) -> html.Div:
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


def shown_of(table: html.Div, shown: int, total: int) -> html.Div:
    """``table`` with a note of how many of ``total`` rows it shows, when it does not show all."""
    if total <= shown:
        return table
    return html.Div([table, html.Small(f"showing {shown} of {total:,}", className="text-muted")])


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


def side_cell(side: Side) -> Cell:
    return Cell(side.value, class_name=f"pc-side pc-side-{side.value.lower()}")


def score_cell(value: float) -> Cell:
    colour = POSITIVE if value > 0 else NEGATIVE if value < 0 else None
    return Cell(f"{value:+.2f}", style={"color": colour} if colour else None)


IMPACT_COLUMNS = (Column(""), Column("now", numeric=True), Column("proposed", numeric=True))


def impact_table(impact: AllocationImpact | None) -> html.Div:
    """The latest proposal against the current holdings: return, risk, turnover, cost, changes."""
    if impact is None:
        return build_table(
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
    return build_table(IMPACT_COLUMNS, rows, empty="")


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
    if allocation.solver:
        header.append(html.Span(f" · sized by {allocation.solver}", className="text-muted"))
    children: list[Any] = [html.Div(header, className="mb-1")]
    if allocation.reason:
        colour = "text-danger" if allocation.status == "infeasible" else "text-muted"
        children.append(html.Div(allocation.reason, className=f"small {colour} mb-2"))
    if allocation.solver_fallback:
        # The fast solver did not give a usable answer: the reference one did (a slower cycle).
        children.append(
            html.Div(
                f"PIQP gave no usable answer ({allocation.solver_fallback}); Clarabel sized it.",
                className="small text-warning mb-2",
            )
        )
    children.append(
        build_table(
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
    return build_table(SLEEVE_COLUMNS, rows, empty="One book: this portfolio has no sleeves.")


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
    return build_table(CASH_COLUMNS, rows, empty="")


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
    return build_table(
        WEIGHT_OVERRIDE_COLUMNS,
        rows,
        empty="No weight overrides: the allocation sets every weight.",
    )


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
        # One definition, the one the max_drawdown limit is checked against (its window named).
        (
            html.Span(
                f"drawdown now ({risk.drawdown_window_days}-day peak)",
                title=f"Drawdown {drawdown_basis(risk.drawdown_window_days)}, at the latest close",
                className="pc-drawdown-label",
            ),
            pct(risk.drawdown),
        ),
        (
            html.Span(
                f"drawdown, deepest in {risk.drawdown_window_days} days",
                title=f"The deepest drawdown {drawdown_basis(risk.drawdown_window_days)}",
                className="pc-drawdown-label",
            ),
            pct(risk.max_drawdown),
        ),
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
                f"at the close of {fmt.day(risk.market_date)}; drawdown "
                f"{drawdown_basis(risk.drawdown_window_days)}, as its limit",
                className="text-muted small mb-2",
            ),
            dbc.Row(
                [
                    dbc.Col(build_table(RISK_EXPOSURE_COLUMNS, exposures, empty=""), md=5),
                    dbc.Col(build_table(RISK_VAR_COLUMNS, losses, empty=""), md=7),
                ]
            ),
        ]
    )
