"""Order generation: whole-share targets minus current holdings, cash-feasible."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np

from engine.model import Order, Side, to_price


class OrderGenerator:
    """Turns a portfolio's whole-share targets into orders.

    The targets come rounded from the allocation stage, which keeps the mandate's limits and
    skips trades below the minimum size (engine/allocation/rounding.py). Sells come first, since
    they fund the buys (a sell beyond the holding opens a short in a long/short book); the buys
    are scaled down together so that their estimated cost, at the decision price plus the cost
    allowance, never exceeds the cash after the sells.
    """

    def __init__(self, cost_allowance_bps: float) -> None:
        self.cost_allowance = cost_allowance_bps / 10_000.0

    def generate(
        self,
        portfolio_id: str,
        target_shares: np.ndarray,
        symbols: tuple[str, ...],
        held_shares: np.ndarray,
        cash_usd: Decimal,
        prices: np.ndarray,
        timestamp: date,
        order_id_prefix: str,
    ) -> list[Order]:
        tradable = np.isfinite(prices) & (prices > 0)
        safe_prices = np.where(tradable, prices, 1.0)
        delta = np.where(tradable, target_shares - held_shares, 0).astype(np.int64)

        sells = np.flatnonzero(delta < 0)
        buys = np.flatnonzero(delta > 0)
        sell_proceeds = float(np.sum(-delta[sells] * safe_prices[sells])) * (
            1 - self.cost_allowance
        )
        buy_cost = float(np.sum(delta[buys] * safe_prices[buys])) * (1 + self.cost_allowance)
        available = float(cash_usd) + sell_proceeds
        if buy_cost > available > 0:
            delta[buys] = np.floor(delta[buys] * (available / buy_cost)).astype(np.int64)
        elif buy_cost > 0 and available <= 0:
            delta[buys] = 0

        orders = []
        for side, indices in ((Side.SELL, sells), (Side.BUY, buys)):
            for i in indices:
                quantity = int(abs(delta[i]))
                if quantity == 0:
                    continue
                orders.append(
                    Order(
                        f"{order_id_prefix}-{len(orders):04d}",
                        portfolio_id,
                        symbols[i],
                        side,
                        quantity,
                        to_price(float(prices[i])),
                        timestamp,
                    )
                )
        return orders
