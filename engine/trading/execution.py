"""The execution desk: from the cycle's new orders to fills, over as many days as liquidity asks.

**Planning** (at the decision close, ``plan``): orders on one instrument from different portfolios
pointing opposite ways are crossed internally (``netting.cross``): the crossed part never reaches
the market. What is left is planned by ``scheduling.plan_execution`` from its size against the
instrument's average daily volume and its urgency (signal strength, whether it reduces the
position, size against ADV): Immediate, TWAP, VWAP or POV over days, each day under the
participation cap. Orders are ranked risk-reducing first, then by urgency, and numbered in that
order. A part the cap cannot place within the longest schedule is not ordered (the reason says
so): the next rebalance asks again.

**Execution** (each following close, ``execute``): on an order's first day its crossed part fills
at the close (the mid, no spread, impact or commission) against the other side; a crossed part
whose counterparty cannot pay any more goes to the market instead. Then each order's slice for
the day (its schedule to date, less what already filled) is gathered with the other orders on the
same instrument and side into one block; the block fills up to the participation cap of the day's
traded volume, at the cost model's price for the block's size, and the fill is allocated back to
the orders pro rata in whole shares. A buy is cut to what its portfolio's cash pays; a sell in a
long-only portfolio to what it holds. What a day leaves unfilled rolls into the next day's slice;
past the end of its schedule the rest of the order is cancelled.

Everything here is a pure function of the state and the day's market data, so the engine's
events are the same whether it ran straight through or restarted.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

import numpy as np

from engine.model import Order, Side, to_cash, to_price
from engine.trading.costs import CostModel, MarketStats, UnknownLiquidityError
from engine.trading.netting import Intent, allocate_fill, cross, make_blocks
from engine.trading.scheduling import (
    ExecutionPolicy,
    participation_fill,
    plan_execution,
    rank_orders,
    urgency,
)
from engine.trading.shortfall import (
    ExecutedFill,
    ExecutionRecord,
    Shortfall,
    crossing_saving_usd,
    shortfall,
)

CROSS_ONLY = "CROSS"


@dataclass(slots=True)
class OrderProgress:
    """A working order's plan and what has happened to it; part of the engine state."""

    algorithm: str
    reason: str
    schedule: tuple[int, ...]  # market shares per trading day from the first execution day
    cross_shares: int  # planned to cross internally on the first day
    created_cycle: int
    estimated_cost_bps: float
    filled_shares: int = 0
    market_filled_shares: int = 0
    cross_unmatched: int = 0  # crossed shares that found no counterparty: the market takes them
    fills: list[ExecutedFill] = field(default_factory=list)

    def payload(self) -> dict[str, object]:
        return {
            "algorithm": self.algorithm,
            "reason": self.reason,
            "schedule": list(self.schedule),
            "cross_shares": self.cross_shares,
            "cycle": self.created_cycle,
            # Unknown liquidity leaves no estimate: null, since JSON has no NaN.
            "estimated_cost_bps": round(self.estimated_cost_bps, 3)
            if math.isfinite(self.estimated_cost_bps)
            else None,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, object]) -> OrderProgress:
        schedule = payload.get("schedule")
        # null (no estimate) is NaN; a zero estimate (an order crossed whole) stays zero.
        bps = payload.get("estimated_cost_bps")
        return cls(
            str(payload.get("algorithm", "IMMEDIATE")),
            str(payload.get("reason", "")),
            tuple(int(x) for x in schedule) if isinstance(schedule, list) else (),
            int(payload.get("cross_shares", 0)),  # type: ignore[call-overload]
            int(payload.get("cycle", 0)),  # type: ignore[call-overload]
            float("nan") if bps is None else float(bps),  # type: ignore[arg-type]
        )


class PlannedOrder(NamedTuple):
    order: Order
    progress: OrderProgress
    urgency: float
    risk_reducing: bool


class DayFill(NamedTuple):
    order: Order
    quantity_shares: int
    price_usd: Decimal
    market_price_usd: Decimal
    commission_usd: Decimal
    venue: str  # "internal cross" or "market"
    block_id: str | None = None


@dataclass(frozen=True, slots=True)
class CrossRecord:
    symbol: str
    quantity_shares: int
    price_usd: Decimal
    orders: dict[str, int]  # order id -> signed shares crossed
    unmatched: dict[str, int]  # order id -> crossed shares that go to the market instead
    savings_usd: dict[str, Decimal]  # portfolio id -> spread and impact avoided


@dataclass(frozen=True, slots=True)
class BlockRecord:
    block_id: str
    symbol: str
    side: Side
    planned_shares: int
    filled_shares: int
    price_usd: Decimal | None
    children: dict[str, int]


class Completion(NamedTuple):
    order: Order
    state: str  # "FILLED" or "CANCELLED"
    reason: str
    quality: Shortfall


@dataclass(slots=True)
class DayResult:
    crosses: list[CrossRecord] = field(default_factory=list)
    fills: list[DayFill] = field(default_factory=list)
    blocks: list[BlockRecord] = field(default_factory=list)
    completions: list[Completion] = field(default_factory=list)


class ExecutionDesk:
    def __init__(self, cost_model: CostModel, policy: ExecutionPolicy, crossing: bool) -> None:
        self.cost_model = cost_model
        self.policy = policy
        self.crossing = crossing

    # -- at the decision close ------------------------------------------------------------------
    def plan(
        self,
        orders: Sequence[Order],
        held: Mapping[tuple[str, str], int],
        strength: Mapping[tuple[str, str], float],
        stats: MarketStats,
        symbol_index: Mapping[str, int],
        cycle: int,
    ) -> list[PlannedOrder]:
        """Crossing, schedules and ranking for the cycle's new orders (ids are given after)."""
        crossed: dict[tuple[str, str], int] = {}
        if self.crossing and orders:
            # Only an instrument both bought and sold can cross: the others are left out of
            # ``cross`` (their intents, all one way, would cross nothing).
            sides: dict[str, set[Side]] = {}
            for order in orders:
                sides.setdefault(order.symbol, set()).add(order.side)
            result = cross(
                [Intent.from_order(order) for order in orders if len(sides[order.symbol]) == 2]
            )
            crossed = {(c.portfolio_id, c.symbol): abs(c.quantity) for c in result.crosses}
        # Every order's estimated cost at once: its market part against its instrument's
        # volatility and ADV. Plain Python lists from here: the loop below reads one value per
        # order, and a numpy scalar costs several times a float in every test and operation.
        at = np.array([symbol_index[order.symbol] for order in orders], dtype=np.int64)
        cross_list = [crossed.get((order.portfolio_id, order.symbol), 0) for order in orders]
        market_list = [
            order.quantity_shares - cross_shares
            for order, cross_shares in zip(orders, cross_list, strict=True)
        ]
        adv_at = stats.adv_shares[at]
        estimated_bps = self.cost_model.estimate_bps(
            np.array(market_list, dtype=float),
            np.array([float(order.decision_price_usd) for order in orders]),
            stats.daily_volatility[at],
            adv_at,
        ).tolist()
        adv_list = adv_at.tolist()
        planned = []
        for k, order in enumerate(orders):
            adv = adv_list[k]
            cross_shares = cross_list[k]
            market = market_list[k]
            key = (order.portfolio_id, order.symbol)
            before = held.get(key, 0)
            signed = order.quantity_shares if order.side is Side.BUY else -order.quantity_shares
            reduces = abs(before + signed) < abs(before)
            size = market / adv if math.isfinite(adv) and adv > 0 else math.nan
            score = min(abs(strength.get(key, 0.0)), 1.0)
            order_urgency = urgency(score, reduces, size) if market else 1.0
            if market:
                plan = plan_execution(market, adv, order_urgency, self.policy)
                algorithm, reason, schedule = str(plan.algorithm), plan.reason, plan.schedule
                if plan.unscheduled_shares:
                    reason += (
                        f"; {plan.unscheduled_shares:,} shares beyond what the cap allows in "
                        f"{self.policy.max_intervals} days are left for the next rebalance"
                    )
            else:
                algorithm, reason, schedule = (
                    CROSS_ONLY,
                    "crossed whole against other portfolios",
                    (),
                )
            quantity = cross_shares + sum(schedule)
            if quantity == 0:
                continue
            bps = estimated_bps[k]
            progress = OrderProgress(
                algorithm,
                reason,
                schedule,
                cross_shares,
                cycle,
                # As OrderCreated records it, since the state keeps this very object.
                round(bps, 3) if math.isfinite(bps) else math.nan,
            )
            planned.append(
                PlannedOrder(_with_quantity(order, quantity), progress, order_urgency, reduces)
            )
        return rank_orders(planned, lambda p: p.urgency, lambda p: p.risk_reducing)

    # -- each following close -------------------------------------------------------------------
    def execute(
        self,
        working: Mapping[str, tuple[Order, OrderProgress]],
        cycle: int,
        close: np.ndarray,
        volume: np.ndarray,
        stats: MarketStats,
        symbol_index: Mapping[str, int],
        cash_usd: Mapping[str, Decimal],
        held: Mapping[tuple[str, str], int],
        short_allowed: Collection[str],
        arrival_close: Mapping[str, np.ndarray],
        block_prefix: str,
    ) -> DayResult:
        """One day of execution for every working order (see the module docstring).

        ``arrival_close[order_id]`` is the close of the order's first execution day."""
        day = DayResult()
        cash = dict(cash_usd)
        holding = dict(held)
        filled_today: dict[str, int] = {}
        extra: dict[str, int] = {}  # crossed shares that go to the market from today

        prices: dict[str, Decimal | None] = {}

        def price_of(symbol: str) -> Decimal | None:
            # Once per instrument and day: many orders (and blocks, and completions) share one.
            if symbol not in prices:
                raw = float(close[symbol_index[symbol]])
                prices[symbol] = to_price(raw) if math.isfinite(raw) and raw > 0 else None
            return prices[symbol]

        def book(order: Order, fill: DayFill) -> None:
            signed = fill.quantity_shares if order.side is Side.BUY else -fill.quantity_shares
            gross = to_cash(fill.price_usd * fill.quantity_shares)
            buy = order.side is Side.BUY
            cash[order.portfolio_id] += (
                -(gross + fill.commission_usd) if buy else gross - fill.commission_usd
            )
            key = (order.portfolio_id, order.symbol)
            holding[key] = holding.get(key, 0) + signed
            filled_today[order.order_id] = (
                filled_today.get(order.order_id, 0) + fill.quantity_shares
            )
            day.fills.append(fill)

        # 1. Internal crosses on the orders' first day.
        first_day = [
            (order, progress)
            for order, progress in working.values()
            if progress.cross_shares and cycle - progress.created_cycle == 1
        ]
        by_symbol: dict[str, list[tuple[Order, OrderProgress]]] = {}
        for order, progress in first_day:
            by_symbol.setdefault(order.symbol, []).append((order, progress))
        for symbol in sorted(by_symbol):
            price = price_of(symbol)
            group = by_symbol[symbol]
            intents = []
            for order, progress in group:
                want = progress.cross_shares
                if price is None:
                    want = 0
                elif order.side is Side.BUY:
                    want = min(want, max(int(cash[order.portfolio_id] / price), 0))
                elif order.portfolio_id not in short_allowed:
                    want = min(want, max(holding.get((order.portfolio_id, symbol), 0), 0))
                sign = 1 if order.side is Side.BUY else -1
                intents.append(Intent(order.order_id, symbol, sign * want))
            matched = {c.portfolio_id: c.quantity for c in cross(intents).crosses}
            crossed = sum(q for q in matched.values() if q > 0)
            unmatched = {
                o.order_id: p.cross_shares - abs(matched.get(o.order_id, 0)) for o, p in group
            }
            savings: dict[str, Decimal] = {}
            if crossed and price is not None:
                i = symbol_index[symbol]
                for order, _ in group:
                    shares = abs(matched.get(order.order_id, 0))
                    if not shares:
                        continue
                    book(
                        order,
                        DayFill(order, shares, price, price, Decimal("0.00"), "internal cross"),
                    )
                    try:
                        saving = crossing_saving_usd(
                            shares,
                            price,
                            float(stats.daily_volatility[i]),
                            float(stats.adv_shares[i]),
                            self.cost_model,
                        )
                    except UnknownLiquidityError:
                        saving = to_cash(shares * price * self.cost_model.half_spread)
                    savings[order.portfolio_id] = (
                        savings.get(order.portfolio_id, Decimal(0)) + saving
                    )
            day.crosses.append(
                CrossRecord(
                    symbol,
                    crossed,
                    price if price is not None else Decimal(0),
                    {k: v for k, v in matched.items() if v},
                    {k: v for k, v in unmatched.items() if v},
                    savings,
                )
            )
            # Not applied to the state here: the CrossExecuted event carries it to the fold.
            extra.update({k: v for k, v in unmatched.items() if v})

        # 2. Today's market slices, in blocks per instrument and side (sells first: they fund).
        slices = []
        for order, progress in working.values():
            d = cycle - progress.created_cycle - 1
            unmatched = progress.cross_unmatched + extra.get(order.order_id, 0)
            market_total = order.quantity_shares - progress.cross_shares + unmatched
            left = market_total - progress.market_filled_shares
            through = sum(progress.schedule[: d + 1]) + unmatched
            planned = min(left, through - progress.market_filled_shares)
            if planned > 0 and price_of(order.symbol) is not None:
                slices.append(_with_quantity(order, planned))
        blocks = make_blocks(slices, block_prefix)
        blocks.sort(key=lambda b: b.side is Side.BUY)  # stable: sells first
        orders_by_id = {order.order_id: order for order, _ in working.values()}
        for block in blocks:
            i = symbol_index[block.symbol]
            market = price_of(block.symbol)
            assert market is not None  # slices were only made for priced instruments
            can = participation_fill(
                block.quantity, block.quantity, float(volume[i]), self.policy.participation_cap
            )
            allocation = allocate_fill(block, can) if can else {}
            price = None
            if can:
                try:
                    price = self.cost_model.fill_price(
                        block.side,
                        market,
                        can,
                        float(stats.daily_volatility[i]),
                        float(stats.adv_shares[i]),
                    )
                except UnknownLiquidityError:
                    allocation = {}
            children = {}
            for order_id, shares in allocation.items():
                order = orders_by_id[order_id]
                if price is None or shares <= 0:
                    continue
                if order.side is Side.BUY:
                    shares = min(shares, self._affordable(price, cash[order.portfolio_id], shares))
                elif order.portfolio_id not in short_allowed:
                    shares = min(shares, max(holding.get((order.portfolio_id, order.symbol), 0), 0))
                if shares <= 0:
                    continue
                commission = self.cost_model.commission(price * shares)
                book(
                    order,
                    DayFill(order, shares, price, market, commission, "market", block.block_id),
                )
                children[order_id] = shares
            day.blocks.append(
                BlockRecord(
                    block.block_id,
                    block.symbol,
                    block.side,
                    block.quantity,
                    sum(children.values()),
                    price,
                    children,
                )
            )

        # 3. Orders that are done: filled, or past the end of their schedule.
        today: dict[str, list[DayFill]] = {}
        for f in day.fills:
            today.setdefault(f.order.order_id, []).append(f)
        # Orders decided in the same cycle share their first execution day, so their arrival
        # prices are one row of closes: each instrument's is worked out once.
        arrival_prices: dict[tuple[int, str], Decimal | None] = {}
        for order_id, (order, progress) in working.items():
            done = progress.filled_shares + filled_today.get(order_id, 0)
            d = cycle - progress.created_cycle - 1
            market_days = max(len(progress.schedule), 1)
            if done >= order.quantity_shares:
                state, reason = "FILLED", "filled"
            elif d >= market_days - 1:
                state = "CANCELLED"
                reason = (
                    f"{order.quantity_shares - done:,} shares not filled within the "
                    f"{market_days}-day schedule: too little volume under the "
                    f"{self.policy.participation_cap:.0%} participation cap"
                )
            else:
                continue
            fills = [
                *progress.fills,
                *(
                    ExecutedFill(
                        f.quantity_shares,
                        f.price_usd,
                        f.market_price_usd,
                        f.venue == "internal cross",
                    )
                    for f in today.get(order_id, ())
                ),
            ]
            last = price_of(order.symbol) or order.decision_price_usd
            key = (progress.created_cycle, order.symbol)
            if key not in arrival_prices:
                arrival_row = arrival_close.get(order_id)
                raw = (
                    float(arrival_row[symbol_index[order.symbol]])
                    if arrival_row is not None
                    else math.nan
                )
                arrival_prices[key] = to_price(raw) if math.isfinite(raw) else None
            arrival = arrival_prices[key]
            if arrival is None:
                arrival = last
            record = ExecutionRecord(
                order.side,
                order.quantity_shares,
                order.decision_price_usd,
                arrival,
                last,
                tuple(fills),
            )
            day.completions.append(
                Completion(order, state, reason, shortfall(record, self.cost_model))
            )
        return day

    def _affordable(self, price: Decimal, cash: Decimal, wanted: int) -> int:
        """Largest quantity <= ``wanted`` whose notional plus commission fits in ``cash``."""
        model = self.cost_model
        if price <= 0 or cash <= 0:
            return 0
        quantity = min(wanted, int(cash / (price * (1 + model.commission_rate))))
        while (
            quantity > 0 and to_cash(price * quantity) + model.commission(price * quantity) > cash
        ):
            quantity -= 1
        return max(quantity, 0)


def _with_quantity(order: Order, quantity_shares: int) -> Order:
    """The order for ``quantity_shares`` (itself if unchanged): built directly, since
    ``Order._replace`` (through a dict) costs several times as much and this runs for every
    order and slice."""
    if quantity_shares == order.quantity_shares:
        return order
    return Order(
        order.order_id,
        order.portfolio_id,
        order.symbol,
        order.side,
        quantity_shares,
        order.decision_price_usd,
        order.created,
    )
