"""Implementation shortfall (Perold 1988, "The implementation shortfall: paper versus reality").

The shortfall of an order is what the real portfolio lost against a paper portfolio that traded
every ordered share at the decision price, for free. For an order of ``Q`` shares decided at
``P_d``, filled ``q_j`` shares at ``p_j`` (market price ``m_j`` at the fill) with commission
``c_j``, the unfilled ``Q - sum q_j`` marked at the last price ``P_last``, and ``s = +1`` for a buy
and ``-1`` for a sell:

    shortfall = s * sum_j q_j (p_j - P_d) + sum_j c_j + s * (Q - sum_j q_j) (P_last - P_d)

It splits exactly into:

- delay: ``s * sum_j q_j (P_a - P_d)``, the move between the decision and the order's arrival at
  the venue at ``P_a``;
- timing: ``s * sum_j q_j (m_j - P_a)``, the market's move while the order was being worked;
- spread: ``sum_j q_j m_j h``, the cost model's half-spread ``h`` on each fill's market notional;
- impact: the rest of the fills' price concession ``s * sum_j q_j (p_j - m_j)``, i.e. what the
  fills paid beyond the half-spread (the cost model's square-root impact, in the simulation);
- commission: ``sum_j c_j``, from the cost model, as the venue charges it;
- opportunity: ``s * (Q - sum_j q_j) (P_last - P_d)``, the move missed on the unfilled shares.

All are USD, positive when they cost the portfolio; basis points are of the decision notional
``Q * P_d``. Every component is rounded to the cent except impact, which is the total (rounded to
the cent) less the others, so that the components add up to the total exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import NamedTuple

from engine.model import CENT, Side, to_cash
from engine.trading.costs import BPS_PER_UNIT, CostModel


class ExecutedFill(NamedTuple):
    """One fill of an order: shares, the price paid or received, and the market price then (USD).

    ``internal``: crossed against another portfolio at the mid, so it paid no spread and no
    commission."""

    quantity_shares: int
    fill_price_usd: Decimal
    market_price_usd: Decimal
    internal: bool = False


@dataclass(frozen=True, slots=True)
class ExecutionRecord:
    """How one order was executed: what was decided, what reached the market and what filled.

    ``decision_price_usd`` is the price the decision saw, ``arrival_price_usd`` the market price
    when the order reached the venue, ``last_price_usd`` the price when the order was closed (the
    mark for shares never filled).
    """

    side: Side
    quantity_ordered_shares: int
    decision_price_usd: Decimal
    arrival_price_usd: Decimal
    last_price_usd: Decimal
    fills: tuple[ExecutedFill, ...] = ()

    def __post_init__(self) -> None:
        if self.quantity_ordered_shares <= 0:
            raise ValueError(
                f"ExecutionRecord.quantity_ordered_shares: {self.quantity_ordered_shares} must be "
                "a positive whole number"
            )
        # Finite first, because ordering a NaN raises in ``decimal``; inline, since a record is
        # built for every order completed.
        for field_name, price in (
            ("decision_price_usd", self.decision_price_usd),
            ("arrival_price_usd", self.arrival_price_usd),
            ("last_price_usd", self.last_price_usd),
        ):
            if not (price.is_finite() and price > 0):
                raise ValueError(f"ExecutionRecord.{field_name}: {price} must be a positive price")
        filled = 0
        for index, (quantity, fill_price, market_price, _) in enumerate(self.fills):
            filled += quantity
            if not (
                quantity > 0
                and fill_price.is_finite()
                and fill_price > 0
                and market_price.is_finite()
                and market_price > 0
            ):
                fill = self.fills[index]
                raise ValueError(
                    f"ExecutionRecord.fills[{index}]: {fill} needs positive shares and prices"
                )
        if filled > self.quantity_ordered_shares:
            raise ValueError(
                f"ExecutionRecord.fills: {filled} shares filled exceed the "
                f"{self.quantity_ordered_shares} ordered"
            )

    @property
    def filled_shares(self) -> int:
        return sum(fill.quantity_shares for fill in self.fills)

    @property
    def unfilled_shares(self) -> int:
        return self.quantity_ordered_shares - self.filled_shares


@dataclass(frozen=True, slots=True)
class Shortfall:
    """Implementation shortfall of an order or a portfolio, in USD, cost positive.

    ``total_usd`` equals the sum of the six components exactly. The ``*_bps`` properties divide by
    ``decision_notional_usd`` (the paper portfolio's trade value), so an aggregate's basis points
    are the notional-weighted mean of its orders'.
    """

    decision_notional_usd: Decimal
    delay_usd: Decimal
    timing_usd: Decimal
    spread_usd: Decimal
    impact_usd: Decimal
    commission_usd: Decimal
    opportunity_usd: Decimal
    total_usd: Decimal

    def _bps(self, amount_usd: Decimal) -> float:
        if self.decision_notional_usd == 0:
            return 0.0
        return float(amount_usd / self.decision_notional_usd) * BPS_PER_UNIT

    @property
    def delay_bps(self) -> float:
        return self._bps(self.delay_usd)

    @property
    def spread_bps(self) -> float:
        return self._bps(self.spread_usd)

    @property
    def impact_bps(self) -> float:
        return self._bps(self.impact_usd)

    @property
    def commission_bps(self) -> float:
        return self._bps(self.commission_usd)

    @property
    def opportunity_bps(self) -> float:
        return self._bps(self.opportunity_usd)

    @property
    def total_bps(self) -> float:
        return self._bps(self.total_usd)


def shortfall(record: ExecutionRecord, cost_model: CostModel) -> Shortfall:
    """Perold's shortfall of one executed order, split as the module docstring describes."""
    sign = 1 if record.side is Side.BUY else -1
    decision = record.decision_price_usd
    arrival = record.arrival_price_usd

    paid_over_decision = Decimal(0)  # exact: shares times prices to 1/10,000
    market_move = Decimal(0)
    spread = Decimal(0)
    commission_usd = to_cash(0)
    filled = 0
    for quantity, fill_price, market_price, internal in record.fills:
        filled += quantity
        paid_over_decision += quantity * (fill_price - decision)
        market_move += quantity * (market_price - arrival)
        if not internal:
            spread += quantity * market_price * cost_model.half_spread
            commission_usd += cost_model.commission(fill_price * quantity)
    opportunity = (record.quantity_ordered_shares - filled) * (record.last_price_usd - decision)

    # Each amount is already a Decimal: quantize is to_cash without its conversion (this runs
    # for every order completed).
    total_usd = (sign * (paid_over_decision + opportunity) + commission_usd).quantize(
        CENT, ROUND_HALF_EVEN
    )
    delay_usd = (sign * filled * (arrival - decision)).quantize(CENT, ROUND_HALF_EVEN)
    timing_usd = (sign * market_move).quantize(CENT, ROUND_HALF_EVEN)
    spread_usd = spread.quantize(CENT, ROUND_HALF_EVEN)
    opportunity_usd = (sign * opportunity).quantize(CENT, ROUND_HALF_EVEN)
    impact_usd = total_usd - delay_usd - timing_usd - spread_usd - commission_usd - opportunity_usd
    return Shortfall(
        decision_notional_usd=decision * record.quantity_ordered_shares,
        delay_usd=delay_usd,
        timing_usd=timing_usd,
        spread_usd=spread_usd,
        impact_usd=impact_usd,
        commission_usd=commission_usd,
        opportunity_usd=opportunity_usd,
        total_usd=total_usd,
    )


def aggregate(shortfalls: Iterable[Shortfall]) -> Shortfall:
    """A portfolio's (or a desk's) shortfall: every USD amount and the decision notional summed,
    so the basis points are weighted by each order's decision notional. Buys and sells both
    count their notional as positive; no orders give all zeros."""
    items = list(shortfalls)

    def total(field_name: str) -> Decimal:
        return sum((getattr(item, field_name) for item in items), start=Decimal(0))

    return Shortfall(
        decision_notional_usd=total("decision_notional_usd"),
        delay_usd=to_cash(total("delay_usd")),
        timing_usd=to_cash(total("timing_usd")),
        spread_usd=to_cash(total("spread_usd")),
        impact_usd=to_cash(total("impact_usd")),
        commission_usd=to_cash(total("commission_usd")),
        opportunity_usd=to_cash(total("opportunity_usd")),
        total_usd=to_cash(total("total_usd")),
    )


def crossing_saving_usd(
    quantity_shares: int,
    price_usd: Decimal,
    daily_volatility: float,
    adv_shares: float,
    cost_model: CostModel,
) -> Decimal:
    """What crossing ``quantity_shares`` internally at the mid ``price_usd`` saves one side of the
    cross: the half-spread and impact the venue would have charged it, in USD to the cent.

    The buyer and the seller each save this much, so the book saves twice it. Commission is left
    out: whether an internal cross carries a ticket charge is the desk's policy, not the market's.
    An unknown ADV raises ``UnknownLiquidityError``, as for any other cost estimate.
    """
    if quantity_shares == 0:
        return to_cash(0)
    concession = cost_model.price_concession(quantity_shares, daily_volatility, adv_shares)
    return to_cash(quantity_shares * price_usd * concession)
