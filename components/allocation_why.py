"""Why a portfolio sits where it does against its target, and its holdings as grid rows.

Pure functions over the read model (the portfolio's view, its risk view, the pre-trade gate's
decisions): the Allocation page says what holds a book away from its target (a trading state,
the gate, a risk budget, a limit in breach, a turnover cap or no-trade band, an infeasible
allocation) instead of a bare "ok".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dash import html

from components import formatting as fmt
from components.grid import money_column, percent_column, shares_column, text_column
from engine.snapshot import GateDecisionView, PortfolioView, RiskView

# Below this distance from the target (half the sum of |weight - target|, cash included) a book
# reads as on target: a rebalance would trade less than this share of its NAV.
ON_TARGET = 0.02
# Binding constraint families that slow a book on its way to the target rather than shape it.
PACING_FAMILIES = ("turnover", "min_trade", "band", "no_trade")


def distance_from_target(portfolio: PortfolioView) -> float:
    """Half the sum of |weight - target weight| over the names and cash: the share of NAV a
    rebalance to the target would trade (0 on target, 1 all of it)."""
    names = sum(abs(p.weight - p.target_weight) for p in portfolio.positions)
    cash = abs(portfolio.cash_weight - portfolio.target_cash_weight)
    return (names + cash) / 2.0


def reasons_off_target(
    portfolio: PortfolioView,
    risk: RiskView | None,
    gate_decisions: Sequence[GateDecisionView],
) -> list[str]:
    """What holds the portfolio away from its target, most binding first; empty when nothing
    the engine knows of does (it then trades toward the target at its next rebalance)."""
    reasons: list[str] = []
    state = portfolio.trading_state
    if state == "HALTED":
        reasons.append(
            f"Trading state HALTED{_because(portfolio.halt_reason)}: no order passes, so the "
            "book stays as it is until it is made ACTIVE again."
        )
    elif state == "REDUCING":
        reasons.append(
            f"Trading state REDUCING{_because(portfolio.halt_reason)}: only orders that reduce "
            "a position pass, so it cannot buy toward its target."
        )
    allocation = portfolio.allocation
    if allocation is not None and allocation.status != "ok":
        reasons.append(
            f"The latest allocation was {allocation.status}"
            + (f": {allocation.reason}" if allocation.reason else ".")
        )
    mine = [d for d in gate_decisions if d.portfolio_id == portfolio.portfolio_id]
    if mine:
        latest = max(d.market_date for d in mine)
        last = [d for d in mine if d.market_date == latest]
        rejected = sum(1 for d in last if d.action == "rejected")
        scaled = sum(1 for d in last if d.action == "scaled")
        limits = ", ".join(sorted({d.limit for d in last}))
        reasons.append(
            f"The pre-trade risk gate rejected {rejected} and scaled down {scaled} of its "
            f"orders on {fmt.day(latest)} ({limits})."
        )
    if risk is not None:
        if risk.budget_scaling is not None:
            limit, factor = risk.budget_scaling
            reasons.append(
                f"The allocation was scaled to {factor * 100:.0f}% of its size to fit the "
                f"{limit} budget."
            )
        breached = [limit.name for limit in risk.limits if limit.level == "breach"]
        if breached:
            reasons.append(f"Limits in breach: {', '.join(breached)}.")
    if allocation is not None:
        pacing = [b for b in allocation.binding if any(f in b for f in PACING_FAMILIES)]
        if pacing:
            reasons.append(f"Trading is paced by {'; '.join(pacing)}.")
    return reasons


def _because(reason: str | None) -> str:
    return f" ({reason})" if reason else ""


def why_panel(
    portfolio: PortfolioView,
    risk: RiskView | None,
    gate_decisions: Sequence[GateDecisionView],
) -> html.Div:
    """How far the book is from its target, and why (or that nothing holds it back)."""
    distance = distance_from_target(portfolio)
    reasons = reasons_off_target(portfolio, risk, gate_decisions)
    headline = (
        f"{fmt.pct(distance, 1)} of NAV from its target "
        f"(cash {fmt.pct(portfolio.cash_weight, 1)} against a target of "
        f"{fmt.pct(portfolio.target_cash_weight, 1)})"
    )
    if not reasons:
        verdict = (
            "On target."
            if distance < ON_TARGET
            else "Nothing holds it back: it trades toward the target at its next rebalance."
        )
        return html.Div(
            [html.Div(headline, className="fw-semibold"), html.Div(verdict, className="small")],
            className="pc-why",
        )
    return html.Div(
        [
            html.Div(f"{headline}, because:", className="fw-semibold"),
            html.Ul([html.Li(reason) for reason in reasons], className="small mb-0"),
        ],
        className="pc-why",
    )


def holding_grid_columns() -> list[dict[str, Any]]:
    """The holdings grid: the instrument pinned, then what is held, at what price, and how its
    weight stands against the target."""
    price = money_column("price_usd", "price (USD)", decimals=2)
    price["headerTooltip"] = "The latest close, held or not"
    return [
        text_column("symbol", "instrument", pinned=True, width=130),
        text_column("sector", "sector"),
        shares_column("quantity_shares", "shares"),
        price,
        money_column("market_value_usd", "market value"),
        percent_column("weight", "weight"),
        percent_column("target_weight", "target"),
        percent_column("drift", "weight - target"),
    ]


def holding_grid_rows(portfolio: PortfolioView) -> list[dict[str, Any]]:
    """One plain row per instrument held or targeted, largest value first then by target."""
    positions = sorted(
        (p for p in portfolio.positions if p.quantity_shares or p.target_weight),
        key=lambda p: (p.market_value_usd, p.target_weight),
        reverse=True,
    )
    return [
        {
            "symbol": p.symbol,
            "sector": p.sector,
            "quantity_shares": p.quantity_shares,
            "price_usd": float(p.price_usd) if p.price_usd else None,
            "market_value_usd": float(p.market_value_usd),
            "weight": p.weight,
            "target_weight": p.target_weight,
            "drift": p.weight - p.target_weight,
        }
        for p in positions
    ]


def holdings_footer(portfolio: PortfolioView) -> html.Small:
    """Under the grid: the cash and the NAV the holdings add up to."""
    return html.Small(
        f"cash {fmt.usd(portfolio.cash_usd)} ({fmt.pct(portfolio.cash_weight, 2)}, target "
        f"{fmt.pct(portfolio.target_cash_weight, 2)}) · NAV {fmt.usd(portfolio.nav_usd)}",
        className="text-muted d-block mt-1 pc-holdings-footer",
    )
