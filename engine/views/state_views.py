"""Views of the event-sourced ``EngineState`` that any reader of the events can build: the
live engine's snapshot and the Pulsar follower's are made of these, so both show a portfolio,
a working order or an alert the same way."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from engine.model import CENT
from engine.signals.book import Override
from engine.snapshot import (
    CashView,
    ExecutionQualityView,
    PositionView,
    RiskAlertView,
    WeightOverrideView,
    WorkingOrderView,
)
from engine.state.engine_state import EngineState


def position_views(
    state: EngineState,
    portfolio_id: str,
    nav_usd: Decimal,
    sectors: Mapping[str, str],
    prices_usd: Mapping[str, Decimal],
) -> tuple[PositionView, ...]:
    """Every instrument the portfolio holds or targets, valued at ``prices_usd`` (per share;
    zero where not given), with its weight of ``nav_usd`` and its target weight."""
    held = state.ledger.holdings_of(portfolio_id)
    targets = state.targets.get(portfolio_id, {})
    zero = Decimal(0)
    views = []
    # Called for every portfolio on every snapshot: each position is valued as
    # Position.market_value_usd does (to the cent, banker's rounding) without making one.
    for symbol in sorted(held.keys() | targets.keys()):
        quantity = held.get(symbol, 0)
        price = prices_usd.get(symbol, zero)
        value = (price * quantity).quantize(CENT, rounding=ROUND_HALF_EVEN)
        views.append(
            PositionView(
                symbol,
                sectors.get(symbol, "Unknown"),
                quantity,
                price,
                value,
                float(value / nav_usd) if nav_usd else 0.0,
                targets.get(symbol, 0.0),
            )
        )
    return tuple(views)


def cash_view(state: EngineState, portfolio_id: str, interest_rate_annual: float) -> CashView:
    ledger = state.ledger
    return CashView(
        ledger.settled_cash_usd(portfolio_id),
        ledger.pending_settlement_usd(portfolio_id),
        tuple(ledger.pending_settlements(portfolio_id)),
        ledger.interest_income_usd(portfolio_id),
        interest_rate_annual,
    )


def weight_override_views(state: EngineState, portfolio_id: str) -> tuple[WeightOverrideView, ...]:
    return tuple(
        WeightOverrideView(
            portfolio_id,
            symbol,
            None if o["weight"] is None else float(o["weight"]),
            str(o["reason"]),
            str(o["actor"]),
            date.fromisoformat(o["set_on"]) if o["set_on"] else None,
        )
        for symbol, o in sorted(state.weight_overrides.get(portfolio_id, {}).items())
    )


def working_order_views(state: EngineState) -> tuple[WorkingOrderView, ...]:
    views = []
    for order_id, order in state.pending_orders.items():
        progress = state.order_progress[order_id]
        views.append(
            WorkingOrderView(
                order_id,
                order.portfolio_id,
                order.symbol,
                order.side.value,
                order.quantity_shares,
                progress.filled_shares,
                "PARTIALLY_FILLED" if progress.filled_shares else "NEW",
                progress.algorithm,
                progress.reason,
                progress.schedule,
                progress.cross_shares,
                order.created,
                order.decision_price_usd,
                progress.estimated_cost_bps,
            )
        )
    return tuple(views)


def execution_quality_views(state: EngineState) -> tuple[ExecutionQualityView, ...]:
    """Each portfolio's implementation shortfall so far, in basis points of what it decided."""
    views = []
    for pid, totals in sorted(state.execution_quality.items()):
        notional = totals["decision_notional_usd"]

        def bps(name: str, notional: Decimal = notional, totals: dict = totals) -> float:
            return float(totals[name] / notional * 10_000) if notional else 0.0

        views.append(
            ExecutionQualityView(
                pid,
                int(totals["orders"]),
                notional,
                bps("delay_usd"),
                bps("spread_usd"),
                bps("impact_usd"),
                bps("commission_usd"),
                bps("opportunity_usd"),
                bps("total_usd"),
                totals["total_usd"],
                totals["crossing_saving_usd"],
            )
        )
    return tuple(views)


def risk_alert_views(state: EngineState) -> tuple[RiskAlertView, ...]:
    """The open risk alerts, oldest first."""
    return tuple(
        RiskAlertView(
            alert_id,
            a["portfolio_id"],
            a["limit"],
            a["level"],
            a["value"] if a["value"] is not None else float("nan"),
            a["threshold"],
            a["utilisation"] if a["utilisation"] is not None else float("nan"),
            date.fromisoformat(a["market_date"]),
            a["message"],
            a["acknowledged_by"],
            a["acknowledged_note"],
        )
        for alert_id, a in sorted(
            state.risk_alerts.items(), key=lambda item: item[1]["market_date"]
        )
    )


def active_overrides(state: EngineState) -> tuple[Override, ...]:
    """The signal overrides in force, by instrument."""
    return tuple(sorted(state.overrides.values(), key=lambda o: (o.symbol, o.override_id)))
