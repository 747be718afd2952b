"""The orders stage: each rebalancing portfolio's orders, whole-share targets minus holdings,
sells first and cash-feasible (engine/trading/orders.py). A rebalance replaces what the last one
left working (``OrderCancelled``); a HALTED portfolio makes none.

Keeps no state of its own.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.cycle.allocation import Target
from engine.cycle.context import MarketClose, PortfolioMandate, Universe
from engine.cycle.controls import cancel_order, working_orders
from engine.cycle.recorder import Emitter
from engine.model import Order
from engine.state.engine_state import EngineState


class OrdersStage:
    def __init__(self, universe: Universe, mandates: tuple[PortfolioMandate, ...]) -> None:
        self.universe = universe
        self.mandates = mandates

    def run(
        self,
        cycle: int,
        market: MarketClose,
        state: EngineState,
        targets: Mapping[str, Target],
        emit: Emitter,
    ) -> dict[str, list[Order]]:
        """The orders made, by portfolio (not yet checked by the risk gate)."""
        made: dict[str, list[Order]] = {}
        ledger, symbols = state.ledger, self.universe.symbols
        for mandate in self.mandates:
            pid = mandate.portfolio_id
            target = targets.get(pid)
            if target is None:  # not due, or nothing to trade
                continue
            if state.trading_state(pid) == "HALTED":
                continue
            for order in working_orders(state, pid):
                cancel_order(state, order, "replaced by the rebalance", emit)
            made[pid] = mandate.order_generator.generate(
                pid,
                target.shares,
                symbols,
                ledger.shares_vector(pid, symbols),
                ledger.cash_usd(pid),
                market.close,
                market.today,
                f"{pid}-{cycle:08d}",
            )
        return made
