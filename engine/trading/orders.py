"""Order generation: target weights minus current holdings, in whole shares, cash-feasible."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np

from engine.model import Order, Side, TargetWeights, to_price


class OrderGenerator:
    """Turns a portfolio's target weights into orders.

    Target shares are ``floor(w * NAV / price)``; trades smaller than ``min_trade_weight`` of NAV
    are skipped unless they close a position (no churn on rounding noise). Sells come first, since
    they fund the buys; the buys are scaled down together so that their estimated cost, at the
    decision price plus the cost allowance, never exceeds the cash after the sells.
    """

    def __init__(self, min_trade_weight: float, cost_allowance_bps: float) -> None:
        self.min_trade_weight = min_trade_weight
        self.cost_allowance = cost_allowance_bps / 10_000.0

    def generate(
        self,
        target: TargetWeights,
        symbols: tuple[str, ...],
        held_shares: np.ndarray,
        cash_usd: Decimal,
        prices: np.ndarray,
        timestamp: date,
        order_id_prefix: str,
    ) -> list[Order]:
        tradable = np.isfinite(prices) & (prices > 0)
        safe_prices = np.where(tradable, prices, 1.0)
        nav = float(cash_usd) + float(np.sum(np.where(tradable, held_shares * safe_prices, 0.0)))
        target_shares = np.where(
            tradable, np.floor(target.weights * nav / safe_prices), held_shares
        ).astype(np.int64)
        delta = target_shares - held_shares
        closes_position = (target_shares == 0) & (held_shares > 0)
        large_enough = np.abs(delta) * safe_prices >= self.min_trade_weight * nav
        delta = np.where(tradable & (large_enough | closes_position), delta, 0)

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
                        target.portfolio_id,
                        symbols[i],
                        side,
                        quantity,
                        to_price(float(prices[i])),
                        timestamp,
                    )
                )
        return orders
