"""The trades stage: the approved orders are netted against each other for internal crossing,
scheduled, given an algorithm and ranked (engine/trading/execution.py), then recorded
(``OrderCreated``) numbered in execution priority: risk-reducing first, then by urgency. An order
in an instrument with no traded volume known is rejected (its impact cannot be worked out).

Keeps no state of its own.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from engine.cycle.context import MarketClose, Universe
from engine.cycle.coordination import Coordinated
from engine.cycle.gate import gate_payload
from engine.cycle.recorder import Emitter
from engine.model import Order
from engine.risk.gate import GateDecision
from engine.state.engine_state import CreatedOrder, EngineState
from engine.trading.execution import ExecutionDesk


class TradesStage:
    def __init__(self, universe: Universe, desk: ExecutionDesk) -> None:
        self.universe = universe
        self.desk = desk

    def run(
        self,
        cycle: int,
        market: MarketClose,
        state: EngineState,
        approved: tuple[Order, ...],
        scaled: Mapping[tuple[str, str], GateDecision],
        coordinated: Coordinated,
        emit: Emitter,
    ) -> tuple[Order, ...]:
        """The orders created, in execution priority."""
        if not approved:
            return ()
        index = self.universe.symbol_index
        strength: dict[tuple[str, str], float] = {}
        # Each portfolio's score x confidence for the whole universe at once, as floats: one
        # numpy product per portfolio instead of two scalar reads and a product per order.
        by_portfolio: dict[str, list[float]] = {}
        for order in approved:
            pid = order.portfolio_id
            if pid not in by_portfolio:
                signals = coordinated.portfolios[pid]
                by_portfolio[pid] = (signals.score * signals.confidence).tolist()
            strength[(pid, order.symbol)] = by_portfolio[pid][index[order.symbol]]
        stats = market.stats
        planned = self.desk.plan(
            list(approved), state.ledger.holdings(), strength, stats, index, cycle
        )
        # Whether each instrument's traded volume is known, once for all orders.
        volume_known = (np.isfinite(stats.adv_shares) & (stats.adv_shares > 0)).tolist()
        counters: dict[str, int] = {}
        created = []
        for item in planned:
            pid = item.order.portfolio_id
            k = counters[pid] = counters.get(pid, 0) + 1
            planned_order = item.order
            # Built directly, not with Order._replace (a dict round trip): this runs per order.
            order = Order(
                f"{pid}-{cycle:08d}-{k - 1:04d}",
                pid,
                planned_order.symbol,
                planned_order.side,
                planned_order.quantity_shares,
                planned_order.decision_price_usd,
                planned_order.created,
            )
            created.append(order)
            emit(
                "OrderCreated",
                {
                    "order_id": order.order_id,
                    "symbol": order.symbol,
                    "side": order.side.value,
                    "quantity_shares": order.quantity_shares,
                    "decision_price_usd": str(order.decision_price_usd),
                    "market_date": order.created.isoformat(),
                    "urgency": round(item.urgency, 4),
                    "risk_reducing": item.risk_reducing,
                    **item.progress.payload(),
                    **(
                        {"risk_check": gate_payload(note)}
                        if (note := scaled.get((pid, order.symbol)))
                        else {}
                    ),
                },
                pid,
                record=CreatedOrder(order, item.progress),
            )
            if not volume_known[index[order.symbol]]:
                # No traded volume known: neither its impact nor a participation cap can be
                # worked out, so it does not go to the market.
                emit(
                    "OrderRejected",
                    {
                        "order_id": order.order_id,
                        "symbol": order.symbol,
                        "side": order.side.value,
                        "quantity_shares": order.quantity_shares,
                        "reason": f"no traded volume known for {order.symbol}: impact unknown",
                    },
                    pid,
                )
        return tuple(created)
