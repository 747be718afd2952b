"""Tables of the Risk page's analysis: Euler risk attribution by holding (reconciled with the
portfolio's figures), stress results and the risk audit trail."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from dash import html

from components import formatting as fmt
from components.colours import NEGATIVE, POSITIVE
from components.tables import (
    RECENT_ROWS,
    Cell,
    Column,
    PortfolioLabels,
    build_table,
    shown_of,
)
from engine.snapshot import (
    InstrumentRiskView,
    RiskAuditView,
    RiskView,
    StressView,
)

# Risk attribution --------------------------------------------------------------------------------

ATTRIBUTION_COLUMNS = (
    Column("instrument"),
    Column("sector"),
    Column("weight", numeric=True),
    Column("marginal volatility", numeric=True),
    Column("component volatility", numeric=True),
    Column("share", numeric=True),
    Column("marginal VaR 99%", numeric=True),
    Column("component VaR 99%", numeric=True),
    Column("share", numeric=True),
    Column("component CVaR 99% (hist.)", numeric=True),
    Column("share", numeric=True),
)
# Risk figures read to the hundredth of a percent of NAV, as in the figures card; shares to the
# tenth of a percent of their total.
ATTRIBUTION_DECIMALS = 2
SHARE_DECIMALS = 1
# How far the components' sum may sit from the portfolio's figure and still read as equal (a
# rounding difference, far below what the table shows).
SUM_TOLERANCE = 1e-9


def _risk_pct(fraction: float) -> str:
    return fmt.pct(fraction, ATTRIBUTION_DECIMALS) if math.isfinite(fraction) else fmt.EMPTY


def _share(component: float, total: float) -> str:
    """A component's share of its total; none of a total of zero (nothing to share)."""
    if not (math.isfinite(component) and math.isfinite(total)) or total == 0.0:
        return fmt.EMPTY
    return fmt.pct(component / total, SHARE_DECIMALS)


def attribution_totals(attribution: Sequence[InstrumentRiskView]) -> tuple[float, float, float]:
    """The sums of the component volatility, VaR 99% and historical CVaR 99%."""
    return (
        math.fsum(a.component_volatility for a in attribution),
        math.fsum(a.component_var_99 for a in attribution),
        math.fsum(a.component_cvar_99_historical for a in attribution),
    )


def _reconciliation(risk: RiskView, sums: tuple[float, float, float]) -> html.Small:
    """One line under the table: the portfolio's own figures, and whether the totals equal them."""
    portfolio = (risk.volatility_annual, risk.var_99_parametric, risk.cvar_99_historical)
    figures = (
        f"annual volatility {_risk_pct(portfolio[0])}, 1-day 99% VaR (parametric) "
        f"{_risk_pct(portfolio[1])}, 1-day 99% CVaR (historical) {_risk_pct(portfolio[2])}"
    )
    equal = all(
        math.isclose(total, figure, rel_tol=SUM_TOLERANCE, abs_tol=SUM_TOLERANCE)
        for total, figure in zip(sums, portfolio, strict=True)
    )
    verdict = (
        "the totals above equal them"
        if equal
        else "the totals above do not add up to them; see the figures card"
    )
    return html.Small(
        f"The portfolio at the close of {fmt.day(risk.market_date)}: {figures}; {verdict}.",
        className=f"d-block mt-1 {'text-muted' if equal else 'text-danger'} pc-attribution-check",
    )


def attribution_table(risk: RiskView | None) -> html.Div:
    """Each holding's Euler risk attribution, largest |component VaR| first (the engine's order):
    weight, marginal and component annual volatility, marginal and component 1-day 99% VaR
    (parametric), component 1-day 99% CVaR (historical), all in percent of NAV, and each
    component's share of the portfolio's figure; a total row whose components add up to the
    portfolio's volatility, VaR and CVaR (a negative component is a hedge)."""
    if risk is None:
        return html.Div(
            "No risk measured yet: the engine measures it after each close.",
            className="text-muted",
        )
    attribution = risk.attribution
    totals = (risk.volatility_annual, risk.var_99_parametric, risk.cvar_99_historical)
    rows: list[list[Any]] = [
        [
            Cell(a.symbol, class_name="fw-semibold"),
            a.sector,
            _risk_pct(a.weight),
            _risk_pct(a.marginal_volatility),
            _risk_pct(a.component_volatility),
            _share(a.component_volatility, totals[0]),
            _risk_pct(a.marginal_var_99),
            _risk_pct(a.component_var_99),
            _share(a.component_var_99, totals[1]),
            _risk_pct(a.component_cvar_99_historical),
            _share(a.component_cvar_99_historical, totals[2]),
        ]
        for a in attribution
    ]
    if not attribution:
        return build_table(ATTRIBUTION_COLUMNS, rows, empty="Nothing held: no risk to attribute.")
    sums = attribution_totals(attribution)

    def total(text: str) -> Cell:
        return Cell(text, class_name="fw-semibold pc-total")

    rows.append(
        [
            total("total"),
            "",
            total(_risk_pct(math.fsum(a.weight for a in attribution))),
            "",
            total(_risk_pct(sums[0])),
            total(_share(sums[0], totals[0])),
            "",
            total(_risk_pct(sums[1])),
            total(_share(sums[1], totals[1])),
            total(_risk_pct(sums[2])),
            total(_share(sums[2], totals[2])),
        ]
    )
    table = build_table(ATTRIBUTION_COLUMNS, rows, empty="")
    return html.Div([table, _reconciliation(risk, sums)])


# Stress ------------------------------------------------------------------------------------------

STRESS_COLUMNS = (
    Column("scenario"),
    Column("kind"),
    Column("window"),
    Column("P&L on holdings (% of NAV)", numeric=True),
    Column("P&L on the proposed allocation (% of NAV)", numeric=True),
)


def _pnl(fraction: float | None) -> Cell | str:
    if fraction is None or not math.isfinite(fraction):
        return fmt.EMPTY
    colour = NEGATIVE if fraction < 0 else POSITIVE
    return Cell(f"{fraction * 100:+.2f}%", style={"color": colour})


def stress_table(stress: Sequence[StressView]) -> html.Div:
    """Each stress scenario's P&L on the holdings and on the latest proposed allocation, in
    percent of NAV (a loss negative, red), worst first. Shocks to single names the portfolio
    neither holds nor proposes move nothing: they read as one line, not one row each."""
    idle = [s for s in stress if _idle_instrument_shock(s)]
    shown = [s for s in stress if not _idle_instrument_shock(s)]
    rows: list[list[Any]] = [
        [
            Cell(s.scenario, class_name="fw-semibold"),
            s.kind,
            s.window,
            _pnl(s.pnl_holdings),
            _pnl(s.pnl_proposed),
        ]
        for s in sorted(shown, key=lambda s: (s.pnl_holdings, s.scenario))
    ]
    if idle:
        names = sorted(s.scenario.split(" ")[0] for s in idle)
        listed = ", ".join(names[:IDLE_NAMES_LISTED]) + (
            ", ..." if len(names) > IDLE_NAMES_LISTED else ""
        )
        rows.append(
            [
                Cell(
                    f"{len(idle)} names not held: no P&L",
                    class_name="text-muted pc-stress-idle",
                ),
                "instrument",
                "",
                Cell(listed, class_name="text-muted small pc-wrap"),
                "",
            ]
        )
    return build_table(STRESS_COLUMNS, rows, empty="No stress results yet.")


# Names listed in the line that collapses the shocks to names not held.
IDLE_NAMES_LISTED = 12


def _idle_instrument_shock(stress: StressView) -> bool:
    """A single-name shock that moves neither the holdings nor the proposed allocation."""
    return (
        stress.kind == "instrument"
        and stress.pnl_holdings == 0.0
        and (stress.pnl_proposed is None or stress.pnl_proposed == 0.0)
    )


# The audit trail of risk controls ----------------------------------------------------------------

AUDIT_COLUMNS = (
    Column("recorded at (UTC, wall clock)"),
    Column("market date"),
    Column("portfolio"),
    Column("action"),
    Column("actor"),
    Column("detail"),
)


def risk_audit_table(
    audit: Sequence[RiskAuditView], labels: PortfolioLabels, *, limit: int = RECENT_ROWS
) -> html.Div:
    """Limit changes, trading state changes and acknowledgements, newest first."""
    shown = sorted(reversed(audit), key=lambda a: a.recorded_at, reverse=True)[:limit]
    rows = [
        [
            fmt.moment(a.recorded_at),
            fmt.day(a.market_date),
            labels(a.portfolio_id),
            Cell(a.action, class_name="fw-semibold"),
            a.actor,
            Cell(a.detail, class_name="pc-wrap"),
        ]
        for a in shown
    ]
    table = build_table(AUDIT_COLUMNS, rows, empty="No change to the risk controls yet.")
    return shown_of(table, len(shown), len(audit))
