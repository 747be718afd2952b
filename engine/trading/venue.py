"""The simulated venue: a cash-account broker that fills orders at the next tick's price.

An order made at the close of day ``t`` is filled at day ``t+1``'s close plus (buy) or minus (sell)
the half-spread, never at the price the decision saw: no look-ahead. Commission is
``max(min_commission, commission_bps * notional)``, rounded to the cent. Sells are filled before
buys, and a buy larger than the cash then available is cut to the shares the cash can pay for
(a partial fill), so a portfolio's cash can never go negative.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from engine.model import Fill, MarketTick, Order, Side, to_cash, to_price


@dataclass(frozen=True, slots=True)
class Rejection:
    order: Order
    reason: str


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    fills: tuple[Fill, ...]
    rejections: tuple[Rejection, ...]


class SimulatedVenue:
    def __init__(
        self, half_spread_bps: float, commission_bps: float, min_commission_usd: Decimal
    ) -> None:
        self.half_spread = Decimal(str(half_spread_bps)) / Decimal(10_000)
        self.commission_rate = Decimal(str(commission_bps)) / Decimal(10_000)
        self.min_commission_usd = to_cash(min_commission_usd)

    def fill_price(self, side: Side, market_price_usd: Decimal) -> Decimal:
        sign = 1 if side is Side.BUY else -1
        return to_price(market_price_usd * (1 + sign * self.half_spread))

    def commission(self, notional_usd: Decimal) -> Decimal:
        return max(self.min_commission_usd, to_cash(notional_usd * self.commission_rate))

    def _affordable_shares(self, price: Decimal, cash: Decimal, wanted: int) -> int:
        """Largest quantity <= wanted whose notional plus commission fits in ``cash``."""
        if price <= 0 or cash <= 0:
            return 0
        # The two closed forms (minimum commission, proportional commission) bound the answer;
        # cent rounding can leave it one or two shares high, which the loop takes off.
        at_min_commission = int((cash - self.min_commission_usd) / price)
        at_rate = int(cash / (price * (1 + self.commission_rate)))
        quantity = min(wanted, max(at_min_commission, at_rate, 0))
        while quantity > 0 and to_cash(price * quantity) + self.commission(price * quantity) > cash:
            quantity -= 1
        return quantity

    def execute(
        self,
        orders: Sequence[Order],
        tick: MarketTick,
        symbol_index: Mapping[str, int],
        cash_usd: Mapping[str, Decimal],
        held_shares: Mapping[tuple[str, str], int],
        short_allowed: Collection[str] = frozenset(),
    ) -> ExecutionReport:
        """Fills ``orders`` at this tick's prices, sells first. A sell beyond the holding is
        refused unless its portfolio is in ``short_allowed``; a buy is cut to what cash pays."""
        cash = dict(cash_usd)
        fills: list[Fill] = []
        rejections: list[Rejection] = []
        ordered = sorted(orders, key=lambda order: order.side is Side.BUY)  # stable: sells first
        for order in ordered:
            raw_price = tick.close[symbol_index[order.symbol]]
            if not np.isfinite(raw_price) or raw_price <= 0:
                rejections.append(
                    Rejection(order, f"no market price for {order.symbol} on {tick.timestamp}")
                )
                continue
            price = self.fill_price(order.side, to_price(float(raw_price)))
            quantity = order.quantity_shares
            if order.side is Side.SELL:
                held = held_shares.get((order.portfolio_id, order.symbol), 0)
                if quantity > held and order.portfolio_id not in short_allowed:
                    rejections.append(
                        Rejection(order, f"sell of {quantity} shares exceeds the {held} held")
                    )
                    continue
            else:
                quantity = self._affordable_shares(price, cash[order.portfolio_id], quantity)
                if quantity == 0:
                    rejections.append(
                        Rejection(
                            order,
                            f"insufficient cash: USD {cash[order.portfolio_id]} cannot pay for one "
                            f"share at USD {price}",
                        )
                    )
                    continue
            fill = Fill(
                f"{order.order_id}-F",
                order.order_id,
                order.portfolio_id,
                order.symbol,
                order.side,
                quantity,
                price,
                self.commission(price * quantity),
                tick.timestamp,
            )
            cash[order.portfolio_id] += fill.cash_change_usd
            fills.append(fill)
        return ExecutionReport(tuple(fills), tuple(rejections))
