"""The gate stage: the pre-trade risk gate (engine/risk/gate.py) on each portfolio's new orders.
Each order passes, is scaled down (the note travels with the order to ``OrderCreated``) or is
rejected (``OrderRejected`` naming the limit, the value and the threshold).

Keeps no state of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from engine.cycle.context import MarketClose, PortfolioMandate, Universe, book_of, json_float
from engine.cycle.recorder import Emitter
from engine.model import Order
from engine.risk.gate import Book, GateDecision, RiskGate, RiskModel
from engine.risk.manager import RiskManager
from engine.snapshot import GateDecisionView
from engine.state.engine_state import EngineState


def gate_payload(decision: GateDecision) -> dict[str, object]:
    """A gate decision as it is recorded with an order."""
    return {
        "limit": decision.limit,
        "requested_shares": decision.requested_shares,
        "approved_shares": decision.approved_shares,
        "value": None if decision.value is None else json_float(decision.value),
        "threshold": decision.threshold,
        "reason": decision.reason,
    }


@dataclass(frozen=True, slots=True)
class GateResult:
    """Orders approved (whole or scaled), in order; the scaling decisions by (portfolio,
    symbol); and a view of every decision that was not a plain pass."""

    approved: tuple[Order, ...] = ()
    scaled: Mapping[tuple[str, str], GateDecision] = field(default_factory=dict)
    decisions: tuple[GateDecisionView, ...] = ()


class GateStage:
    def __init__(
        self,
        universe: Universe,
        mandates: tuple[PortfolioMandate, ...],
        risk_manager: RiskManager,
        gate: RiskGate | None = None,
    ) -> None:
        self.universe = universe
        self.mandates = mandates
        self.risk_manager = risk_manager
        self.gate = gate or RiskGate()

    def book(self, state: EngineState, portfolio_id: str, close: np.ndarray) -> Book:
        """The portfolio as the gate sees it at ``close``."""
        return book_of(state.ledger, portfolio_id, self.universe, self.risk_manager, close)

    def check(
        self,
        state: EngineState,
        mandate: PortfolioMandate,
        orders: list[Order],
        close: np.ndarray,
        model: RiskModel | None,
    ) -> list[GateDecision]:
        """The gate's decisions on ``orders`` of ``mandate``'s portfolio at ``close``."""
        pid = mandate.portfolio_id
        limits = self.risk_manager.limits(state, pid)
        if model is not None and "tracking_error" in limits:
            model = replace(model, benchmark=mandate.benchmark)
        book = self.book(state, pid, close)
        return self.gate.check(orders, book, limits, state.trading_state(pid), model)

    def run(
        self,
        cycle: int,
        market: MarketClose,
        state: EngineState,
        orders: Mapping[str, list[Order]],
        model: RiskModel | None,
        emit: Emitter,
    ) -> GateResult:
        approved: list[Order] = []
        scaled: dict[tuple[str, str], GateDecision] = {}
        views: list[GateDecisionView] = []
        for mandate in self.mandates:
            pid = mandate.portfolio_id
            made = orders.get(pid)
            if not made:
                continue
            decisions = self.check(state, mandate, made, market.close, model)
            approved.extend(d.order for d in decisions if d.approved)
            for k, decision in enumerate(decisions):
                if decision.action == "passed":
                    continue
                order = decision.order
                if decision.action == "scaled":
                    scaled[(pid, order.symbol)] = decision
                else:
                    order = order._replace(order_id=f"{pid}-{cycle:08d}-G{k:04d}")
                    emit(
                        "OrderRejected",
                        {
                            "order_id": order.order_id,
                            "symbol": order.symbol,
                            "side": order.side.value,
                            "quantity_shares": order.quantity_shares,
                            "decision_price_usd": str(order.decision_price_usd),
                            "reason": decision.reason,
                            "check": "pre-trade",
                            **gate_payload(decision),
                        },
                        pid,
                    )
                views.append(
                    GateDecisionView(
                        market.today,
                        pid,
                        order.order_id,
                        order.symbol,
                        order.side.value,
                        decision.requested_shares,
                        decision.approved_shares,
                        decision.action,
                        decision.limit or "",
                        decision.value,
                        decision.threshold,
                        decision.reason,
                    )
                )
        return GateResult(tuple(approved), scaled, tuple(views))
