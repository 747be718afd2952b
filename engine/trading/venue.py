"""The simulated venue: a cash-account broker that fills orders at the next tick's price.

An order made at the close of day ``t`` is filled at day ``t+1``'s close plus (buy) or minus (sell)
the half-spread and its market impact (engine/trading/costs.py), never at the price the decision
saw: no look-ahead. Commission is ``max(min_commission, commission_bps * notional)``, rounded to
the cent. Sells are filled before
buys, and a buy larger than the cash then available is cut to the shares the cash can pay for
(a partial fill), so a portfolio's cash can never go negative.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from engine.model import Fill, MarketTick, Order, Side, to_cash, to_price
from engine.trading.costs import CostModel, MarketStats, UnknownLiquidityError


@dataclass(frozen=True, slots=True)
class Rejection:
    order: Order
    reason: str


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    fills: tuple[Fill, ...]
    rejections: tuple[Rejection, ...]


class SimulatedVenue:
    """Fills at the next tick's close with the cost model's price concession (half-spread plus
    square-root market impact for the order's size against the instrument's volatility and
    average daily volume) and commission: the same model that estimates costs before trading."""

    def __init__(self, cost_model: CostModel) -> None:
        self.cost_model = cost_model

    def _affordable_shares(self, price: Decimal, cash: Decimal, wanted: int) -> int:
        """Largest quantity <= wanted whose notional plus commission fits in ``cash``."""
        if price <= 0 or cash <= 0:
            return 0
        model = self.cost_model
        # The two closed forms (minimum commission, proportional commission) bound the answer;
        # cent rounding can leave it one or two shares high, which the loop takes off.
        at_min_commission = int((cash - model.min_commission_usd) / price)
        at_rate = int(cash / (price * (1 + model.commission_rate)))
        quantity = min(wanted, max(at_min_commission, at_rate, 0))
        while (
            quantity > 0 and to_cash(price * quantity) + model.commission(price * quantity) > cash
        ):
            quantity -= 1
        return quantity

    def execute(
        self,
        orders: Sequence[Order],
        tick: MarketTick,
        symbol_index: Mapping[str, int],
        cash_usd: Mapping[str, Decimal],
        held_shares: Mapping[tuple[str, str], int],
        stats: MarketStats,
        short_allowed: Collection[str] = frozenset(),
    ) -> ExecutionReport:
        """Fills ``orders`` at this tick's prices, sells first, with ``stats`` (volatility and
        ADV per instrument) pricing their impact. A sell beyond the holding is refused unless
        its portfolio is in ``short_allowed``; a buy is cut to what cash pays; an instrument
        without a price or any known volume is not traded."""
        cash = dict(cash_usd)
        fills: list[Fill] = []
        rejections: list[Rejection] = []
        ordered = sorted(orders, key=lambda order: order.side is Side.BUY)  # stable: sells first
        for order in ordered:
            i = symbol_index[order.symbol]
            raw_price = tick.close[i]
            if not np.isfinite(raw_price) or raw_price <= 0:
                rejections.append(
                    Rejection(order, f"no market price for {order.symbol} on {tick.timestamp}")
                )
                continue
            market = to_price(float(raw_price))
            volatility, adv = float(stats.daily_volatility[i]), float(stats.adv_shares[i])

            def price_for(
                quantity: int,
                side: Side = order.side,
                market: Decimal = market,
                volatility: float = volatility,
                adv: float = adv,
            ) -> Decimal:
                return self.cost_model.fill_price(side, market, quantity, volatility, adv)

            quantity = order.quantity_shares
            try:
                price = price_for(quantity)
            except UnknownLiquidityError:
                rejections.append(
                    Rejection(order, f"no traded volume known for {order.symbol}: impact unknown")
                )
                continue
            if order.side is Side.SELL:
                held = held_shares.get((order.portfolio_id, order.symbol), 0)
                if quantity > held and order.portfolio_id not in short_allowed:
                    rejections.append(
                        Rejection(order, f"sell of {quantity} shares exceeds the {held} held")
                    )
                    continue
            else:
                # Priced for the whole order, which a smaller fill never exceeds per share.
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
                price = price_for(quantity)
            fill = Fill(
                f"{order.order_id}-F",
                order.order_id,
                order.portfolio_id,
                order.symbol,
                order.side,
                quantity,
                price,
                self.cost_model.commission(price * quantity),
                tick.timestamp,
            )
            cash[order.portfolio_id] += fill.cash_change_usd
            fills.append(fill)
        return ExecutionReport(tuple(fills), tuple(rejections))
