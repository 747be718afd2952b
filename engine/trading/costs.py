"""The transaction cost model: commission, half-spread and square-root market impact.

One ``CostModel`` both estimates what a trade will cost before it is sent and prices the fill
when it is simulated, so that the allocation, the order generator and the venue can never
disagree about what a trade costs (the cvxportfolio rule, see STYLE.md).

A trade of ``q`` shares at market price ``P`` is filled at ``P * (1 + s * (h + I))`` with
``s = +1`` for a buy and ``-1`` for a sell, ``h`` the half-spread and ``I`` the market impact, both
fractions of price. Impact follows the square-root law (Almgren, Thum, Hauptmann and Li 2005,
"Direct estimation of equity market impact"; Tóth et al. 2011, "Anomalous price impact and the
critical nature of liquidity in financial markets"):

    I = Y * sigma * sqrt(q / ADV)

with ``sigma`` the daily volatility of log returns, ``ADV`` the average daily volume in shares and
``Y`` a coefficient of order one. Commission is ``max(minimum, rate * fill notional)`` per fill,
rounded to the cent. Volatility and ADV are estimated from the market data by ``market_stats``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from engine.model import Side, to_cash, to_price

BPS_PER_UNIT = 10_000

VOLATILITY_FLOOR = 0.005
"""Lowest daily volatility (0.5 %, about 8 % a year) the model will use. Forward-filled or
suspended prices show no movement, and a zero volatility would make impact free; few single
stocks trade below this."""

SHORT_HISTORY_VOLATILITY = 0.03
"""Daily volatility (3 %, about 48 % a year) assumed when there are too few returns to estimate
one, e.g. a new listing. Deliberately high: overstating the cost of an unknown instrument is the
safe error."""

MIN_RETURNS_FOR_VOLATILITY = 5
"""Fewer valid daily returns than this in the window and the volatility is
``SHORT_HISTORY_VOLATILITY`` instead of a sample estimate too noisy to trust."""


class UnknownLiquidityError(ValueError):
    """A trade cannot be costed because its instrument's average daily volume is unknown.

    A ``ValueError`` so that callers that already reject bad input keep doing so; a venue should
    turn it into a rejection naming the instrument rather than guess the liquidity.
    """


@dataclass(frozen=True, slots=True, eq=False)
class MarketStats:
    """Per-instrument inputs of the impact model, aligned with the universe.

    ``daily_volatility`` is the standard deviation of daily log returns (a fraction, never NaN:
    see ``market_stats`` for the floor and the short-history fallback). ``adv_shares`` is the mean
    daily volume in shares, NaN where no volume was observed ("unknown liquidity"): the scalar
    cost methods refuse such a trade and ``CostModel.estimate_bps`` ranks it as infinitely costly.
    """

    daily_volatility: np.ndarray
    adv_shares: np.ndarray


def market_stats(
    close_window: np.ndarray, volume_window: np.ndarray, lookback_days: int = 20
) -> MarketStats:
    """Daily volatility and ADV of every instrument from the last ``lookback_days`` days.

    ``close_window`` (USD per share) and ``volume_window`` (shares) are days x instruments, oldest
    first, NaN where an instrument has no data that day. Volatility is the sample standard
    deviation of the last ``lookback_days`` log returns; a return touching a missing or
    non-positive price is skipped, so a gap loses one or two returns rather than the instrument.
    It is raised to ``VOLATILITY_FLOOR``, and is ``SHORT_HISTORY_VOLATILITY`` where fewer than
    ``MIN_RETURNS_FOR_VOLATILITY`` returns remain. ADV is the mean of the finite volumes of the
    last ``lookback_days`` days; it is NaN where none is finite or their mean is not positive.
    """
    if close_window.ndim != 2 or close_window.shape != volume_window.shape:
        raise ValueError(
            f"close_window {close_window.shape} and volume_window {volume_window.shape} must be "
            "the same days x instruments shape"
        )
    if lookback_days < 1:
        raise ValueError(f"lookback_days: {lookback_days} must be at least 1")

    closes = close_window[-(lookback_days + 1) :]
    positive = np.where(closes > 0, closes, np.nan)  # NaN compares False: stays missing
    log_returns = np.diff(np.log(positive), axis=0)
    valid = np.isfinite(log_returns)
    count = valid.sum(axis=0)
    returns = np.where(valid, log_returns, 0.0)
    mean = returns.sum(axis=0) / np.maximum(count, 1)
    squares = np.where(valid, (returns - mean) ** 2, 0.0).sum(axis=0)
    sample_volatility = np.sqrt(squares / np.maximum(count - 1, 1))
    daily_volatility = np.where(
        count >= MIN_RETURNS_FOR_VOLATILITY,
        np.maximum(sample_volatility, VOLATILITY_FLOOR),
        SHORT_HISTORY_VOLATILITY,
    )

    volumes = volume_window[-lookback_days:]
    observed = np.isfinite(volumes)
    observed_days = observed.sum(axis=0)
    total_volume = np.where(observed, volumes, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_volume = total_volume / observed_days
    adv_shares = np.where((observed_days > 0) & (mean_volume > 0), mean_volume, np.nan)
    return MarketStats(daily_volatility=daily_volatility, adv_shares=adv_shares)


@dataclass(frozen=True, slots=True)
class CostEstimate:
    """What a trade costs, in USD to the cent, and in basis points of its notional at the market
    price. ``spread_usd + impact_usd`` is exactly the fill's price concession
    ``|fill price - market price| * shares``, so the estimate is what the fill will cost."""

    commission_usd: Decimal
    spread_usd: Decimal
    impact_usd: Decimal
    total_usd: Decimal
    total_bps: float


class CostModel:
    """Commission, half-spread and square-root impact: the one cost model of the engine.

    ``half_spread_bps`` and ``commission_bps`` are basis points of notional;
    ``min_commission_usd`` is charged per fill when the proportional commission is smaller;
    ``impact_coefficient`` is ``Y`` in ``Y * sigma * sqrt(q / ADV)`` (dimensionless, about 1 in
    the empirical studies cited in the module docstring).
    """

    def __init__(
        self,
        half_spread_bps: float,
        commission_bps: float,
        min_commission_usd: Decimal,
        impact_coefficient: float = 1.0,
    ) -> None:
        for field_name, value in (
            ("half_spread_bps", half_spread_bps),
            ("commission_bps", commission_bps),
            ("impact_coefficient", impact_coefficient),
        ):
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"CostModel.{field_name}: {value} must be finite and >= 0")
        if min_commission_usd < 0:
            raise ValueError(f"CostModel.min_commission_usd: {min_commission_usd} must be >= 0")
        self.half_spread_bps = half_spread_bps
        self.commission_bps = commission_bps
        self.impact_coefficient = impact_coefficient
        # Decimal copies for the ledger arithmetic; str() keeps 5.0 bps exactly 0.0005.
        self.half_spread = Decimal(str(half_spread_bps)) / BPS_PER_UNIT
        self.commission_rate = Decimal(str(commission_bps)) / BPS_PER_UNIT
        self.min_commission_usd = to_cash(min_commission_usd)

    def impact_fraction(
        self, quantity_shares: int, daily_volatility: float, adv_shares: float
    ) -> float:
        """Market impact as a fraction of price: ``Y * sigma * sqrt(q / ADV)``.

        Zero shares move nothing, whatever the liquidity. Otherwise an unknown (NaN) or
        non-positive ADV raises ``UnknownLiquidityError``: guessing would understate the cost of
        exactly the trades most likely to move the price.
        """
        if quantity_shares < 0:
            raise ValueError(f"quantity_shares: {quantity_shares} must be >= 0")
        if quantity_shares == 0:
            return 0.0
        if not math.isfinite(daily_volatility) or daily_volatility < 0:
            raise ValueError(f"daily_volatility: {daily_volatility} must be finite and >= 0")
        if not math.isfinite(adv_shares) or adv_shares <= 0:
            raise UnknownLiquidityError(
                f"adv_shares: {adv_shares} is not a positive volume; the impact of "
                f"{quantity_shares} shares cannot be estimated"
            )
        # float(): numpy scalars from MarketStats would otherwise leak into the Decimal maths.
        return float(
            self.impact_coefficient * daily_volatility * math.sqrt(quantity_shares / adv_shares)
        )

    def price_concession(
        self, quantity_shares: int, daily_volatility: float, adv_shares: float
    ) -> Decimal:
        """Half-spread plus impact, as an exact fraction of the market price: how far from the
        market a trade of ``quantity_shares`` is filled, in either direction."""
        impact = self.impact_fraction(quantity_shares, daily_volatility, adv_shares)
        # repr() gives the shortest decimal that round-trips the float, not its binary expansion.
        return self.half_spread + Decimal(repr(impact))

    def commission(self, notional_usd: Decimal) -> Decimal:
        """Commission of one fill of ``notional_usd``: the rate, but never below the minimum."""
        return max(self.min_commission_usd, to_cash(notional_usd * self.commission_rate))

    def fill_price(
        self,
        side: Side,
        market_price_usd: Decimal,
        quantity_shares: int,
        daily_volatility: float,
        adv_shares: float,
    ) -> Decimal:
        """The price a trade is filled at: ``P * (1 +/- (half-spread + impact))``, above the
        market for a buy and below it for a sell, rounded to the ledger's price tick."""
        if not market_price_usd.is_finite() or market_price_usd <= 0:
            raise ValueError(f"market_price_usd: {market_price_usd} must be a positive price")
        concession = self.price_concession(quantity_shares, daily_volatility, adv_shares)
        sign = 1 if side is Side.BUY else -1
        return to_price(market_price_usd * (1 + sign * concession))

    def estimate(
        self,
        side: Side,
        quantity_shares: int,
        price_usd: Decimal,
        daily_volatility: float,
        adv_shares: float,
    ) -> CostEstimate:
        """What trading ``quantity_shares`` at market price ``price_usd`` will cost.

        Priced from ``fill_price`` itself, so that the estimate is to the cent what the simulated
        fill costs: the price concession at the fill price plus the commission on the fill's
        notional. The concession is split into the half-spread on the market notional and impact,
        which takes the rest (including the sub-cent rounding of the fill price to its tick).
        Zero shares cost nothing: no order, no fill, no commission.
        """
        zero = to_cash(0)
        if quantity_shares == 0:
            return CostEstimate(zero, zero, zero, zero, 0.0)
        fill = self.fill_price(side, price_usd, quantity_shares, daily_volatility, adv_shares)
        notional = price_usd * quantity_shares
        concession_usd = to_cash(abs(fill - price_usd) * quantity_shares)
        spread_usd = to_cash(notional * self.half_spread)
        commission_usd = self.commission(fill * quantity_shares)
        total_usd = concession_usd + commission_usd
        return CostEstimate(
            commission_usd=commission_usd,
            spread_usd=spread_usd,
            impact_usd=concession_usd - spread_usd,
            total_usd=total_usd,
            total_bps=float(total_usd / notional) * BPS_PER_UNIT,
        )

    def estimate_bps(
        self,
        quantity_shares: np.ndarray,
        prices_usd: np.ndarray,
        daily_volatility: np.ndarray,
        adv_shares: np.ndarray,
    ) -> np.ndarray:
        """Total cost in basis points of notional for many trades at once, in floats.

        For ranking and screening before trading, where ``estimate``'s exact Decimal arithmetic
        is too slow; it agrees with ``estimate(...).total_bps`` up to cent and tick rounding.
        Arguments broadcast together; ``quantity_shares`` may be signed (net orders): a sell costs
        what a buy of the same size does. The result is 0 where no shares trade, NaN where there is
        no positive price (nothing to trade at), and +inf where the volatility or the ADV is
        unknown, so an uncosted trade ranks as the most expensive rather than the cheapest.
        """
        quantity = np.abs(np.asarray(quantity_shares, dtype=float))
        prices = np.asarray(prices_usd, dtype=float)
        volatility = np.asarray(daily_volatility, dtype=float)
        adv = np.asarray(adv_shares, dtype=float)
        quantity, prices, volatility, adv = np.broadcast_arrays(quantity, prices, volatility, adv)

        priced = np.isfinite(prices) & (prices > 0)
        costed = np.isfinite(volatility) & (volatility >= 0) & np.isfinite(adv) & (adv > 0)
        trading = quantity > 0
        computable = priced & costed & trading
        safe_adv = np.where(computable, adv, 1.0)
        notional = np.where(computable, quantity * prices, 1.0)

        impact = self.impact_coefficient * volatility * np.sqrt(quantity / safe_adv)
        commission = np.maximum(
            float(self.min_commission_usd), notional * self.commission_bps / BPS_PER_UNIT
        )
        fraction = self.half_spread_bps / BPS_PER_UNIT + impact + commission / notional
        bps = np.where(computable, fraction * BPS_PER_UNIT, np.inf)
        bps = np.where(priced, bps, np.nan)
        return np.where(trading, bps, 0.0)
