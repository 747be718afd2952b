"""The orders stage: each rebalancing portfolio's orders, whole-share targets minus holdings,
sells first and cash-feasible (engine/trading/orders.py). A rebalance replaces what the last one
left working (``OrderCancelled``); a HALTED portfolio makes none. A buy of a name sold at a loss
inside the portfolio's wash-sale window is dropped (``WashSaleBlocked``).

Keeps no state of its own.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.cycle.allocation import Target
from engine.cycle.context import MarketClose, PortfolioMandate, Universe
from engine.cycle.controls import cancel_order, working_orders
from engine.cycle.recorder import Emitter
from engine.model import Order, Side
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
            orders = mandate.order_generator.generate(
                pid,
                target.shares,
                symbols,
                ledger.shares_vector(pid, symbols),
                ledger.cash_usd(pid),
                market.close,
                market.today,
                f"{pid}-{cycle:08d}",
            )
            made[pid] = self._wash_sales_out(mandate, orders, state, market, emit)
        return made

    @staticmethod
    def _wash_sales_out(
        mandate: PortfolioMandate,
        orders: list[Order],
        state: EngineState,
        market: MarketClose,
        emit: Emitter,
    ) -> list[Order]:
        """``orders`` less the buys of names sold at a loss inside the wash-sale window
        (engine/rebalancing/tax.py), each recorded as ``WashSaleBlocked``."""
        rules, pid = mandate.tax, mandate.portfolio_id
        if not rules.wash_sale_days:
            return orders
        kept = []
        for order in orders:
            sold = state.ledger.last_loss_sale(pid, order.symbol)
            until = rules.wash_sale_until(sold, market.today) if order.side is Side.BUY else None
            if until is None:
                kept.append(order)
                continue
            emit(
                "WashSaleBlocked",
                {
                    "market_date": market.today.isoformat(),
                    "symbol": order.symbol,
                    "quantity_shares": order.quantity_shares,
                    "sold_at_a_loss_on": sold.isoformat() if sold else None,
                    "blocked_until": until.isoformat(),
                },
                pid,
            )
        return kept
