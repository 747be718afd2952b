"""The cost model: commission with a minimum, half-spread, square-root impact, and the market
statistics it reads. Expected values are worked by hand in the comments."""

import math
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.model import Side, to_cash, to_price
from engine.trading.costs import (
    MIN_RETURNS_FOR_VOLATILITY,
    SHORT_HISTORY_VOLATILITY,
    VOLATILITY_FLOOR,
    CostModel,
    UnknownLiquidityError,
    market_stats,
)

# 5 bps half-spread, 1 bp commission with a USD 1 minimum, impact coefficient 1.
MODEL = CostModel(half_spread_bps=5.0, commission_bps=1.0, min_commission_usd=Decimal("1"))
PRICE = Decimal("50")
SIGMA = 0.02
ADV = 1_000_000.0
ONE_PCT_OF_ADV = 10_000


def test_impact_is_sigma_times_root_participation() -> None:
    # 2 % daily volatility, 1 % of ADV: 0.02 * sqrt(0.01) = 0.002 of price, i.e. 20 bps.
    assert MODEL.impact_fraction(ONE_PCT_OF_ADV, SIGMA, ADV) == pytest.approx(0.002)
    # Four times the shares, twice the impact; the coefficient scales it linearly.
    assert MODEL.impact_fraction(4 * ONE_PCT_OF_ADV, SIGMA, ADV) == pytest.approx(0.004)
    doubled = CostModel(5.0, 1.0, Decimal("1"), impact_coefficient=2.0)
    assert doubled.impact_fraction(ONE_PCT_OF_ADV, SIGMA, ADV) == pytest.approx(0.004)


def test_buy_estimate_matches_hand_computation() -> None:
    # Notional 10,000 x 50 = 500,000. Concession 5 + 20 = 25 bps: fill at 50 x 1.0025 = 50.125.
    # Spread 500,000 x 0.0005 = 250; impact 500,000 x 0.002 = 1,000.
    # Commission 1 bp of the fill notional 501,250 = 50.125, banker's rounding to 50.12.
    estimate = MODEL.estimate(Side.BUY, ONE_PCT_OF_ADV, PRICE, SIGMA, ADV)
    assert MODEL.fill_price(Side.BUY, PRICE, ONE_PCT_OF_ADV, SIGMA, ADV) == Decimal("50.1250")
    assert estimate.spread_usd == Decimal("250.00")
    assert estimate.impact_usd == Decimal("1000.00")
    assert estimate.commission_usd == Decimal("50.12")
    assert estimate.total_usd == Decimal("1300.12")
    assert estimate.total_bps == pytest.approx(1300.12 / 500_000 * 10_000)


def test_sell_is_filled_below_the_market_and_costs_the_same_concession() -> None:
    # Fill at 50 x 0.9975 = 49.875; commission on 498,750 is 49.875, rounded to 49.88.
    estimate = MODEL.estimate(Side.SELL, ONE_PCT_OF_ADV, PRICE, SIGMA, ADV)
    assert MODEL.fill_price(Side.SELL, PRICE, ONE_PCT_OF_ADV, SIGMA, ADV) == Decimal("49.8750")
    assert (estimate.spread_usd, estimate.impact_usd) == (Decimal("250.00"), Decimal("1000.00"))
    assert estimate.commission_usd == Decimal("49.88")
    assert estimate.total_usd == Decimal("1299.88")


def test_buy_fills_above_and_sell_below_the_market_price() -> None:
    for quantity in (1, 500, 50_000):
        assert MODEL.fill_price(Side.BUY, PRICE, quantity, SIGMA, ADV) > PRICE
        assert MODEL.fill_price(Side.SELL, PRICE, quantity, SIGMA, ADV) < PRICE


def test_minimum_commission_applies_to_small_notionals_only() -> None:
    # 10 x 50 = 500: 1 bp is 0.05, below the USD 1 minimum. 1,000,000 x 1 bp = 100.
    assert MODEL.commission(Decimal("500")) == Decimal("1.00")
    assert MODEL.commission(Decimal("1000000")) == Decimal("100.00")
    small = MODEL.estimate(Side.BUY, 10, PRICE, SIGMA, ADV)
    assert small.commission_usd == Decimal("1.00")


def test_zero_quantity_costs_nothing_even_without_liquidity_data() -> None:
    estimate = MODEL.estimate(Side.BUY, 0, PRICE, SIGMA, math.nan)
    assert estimate.total_usd == estimate.commission_usd == Decimal("0")
    assert estimate.total_bps == 0.0
    assert MODEL.impact_fraction(0, SIGMA, math.nan) == 0.0


@pytest.mark.parametrize("adv", [math.nan, 0.0, -5.0])
def test_unknown_liquidity_is_refused_not_guessed(adv: float) -> None:
    with pytest.raises(UnknownLiquidityError, match="adv_shares"):
        MODEL.estimate(Side.BUY, 100, PRICE, SIGMA, adv)
    with pytest.raises(UnknownLiquidityError, match="adv_shares"):
        MODEL.fill_price(Side.SELL, PRICE, 100, SIGMA, adv)


def test_bad_inputs_name_the_field() -> None:
    with pytest.raises(ValueError, match="market_price_usd"):
        MODEL.fill_price(Side.BUY, Decimal("NaN"), 100, SIGMA, ADV)
    with pytest.raises(ValueError, match="daily_volatility"):
        MODEL.impact_fraction(100, math.nan, ADV)
    with pytest.raises(ValueError, match="quantity_shares"):
        MODEL.impact_fraction(-1, SIGMA, ADV)
    with pytest.raises(ValueError, match="half_spread_bps"):
        CostModel(-1.0, 1.0, Decimal("1"))
    with pytest.raises(ValueError, match="min_commission_usd"):
        CostModel(5.0, 1.0, Decimal("-1"))


@given(
    side=st.sampled_from(Side),
    quantity=st.integers(min_value=1, max_value=2_000_000),
    price_cents=st.integers(min_value=1, max_value=500_000),
    volatility=st.floats(min_value=0.0, max_value=0.1),
    adv=st.floats(min_value=1.0, max_value=1e8),
)
def test_estimate_is_what_the_fill_costs_to_the_cent(
    side: Side, quantity: int, price_cents: int, volatility: float, adv: float
) -> None:
    price = Decimal(price_cents) / 100
    fill = MODEL.fill_price(side, price, quantity, volatility, adv)
    # What the fill costs: the price given up against the market, plus the commission charged.
    given_up = (fill - price) * quantity if side is Side.BUY else (price - fill) * quantity
    cost_of_fill = to_cash(given_up) + MODEL.commission(fill * quantity)
    estimate = MODEL.estimate(side, quantity, price, volatility, adv)
    assert estimate.total_usd == cost_of_fill
    assert estimate.spread_usd + estimate.impact_usd + estimate.commission_usd == cost_of_fill


def test_vectorised_estimate_agrees_with_the_exact_one() -> None:
    quantity = np.array([10, 10_000, 250_000, -10_000])
    prices = np.array([50.0, 50.0, 12.34, 50.0])
    volatility = np.array([0.02, 0.02, 0.035, 0.02])
    adv = np.array([1e6, 1e6, 3e6, 1e6])
    bps = MODEL.estimate_bps(quantity, prices, volatility, adv)
    exact = [
        # Volatility and ADV stay numpy scalars, as a caller indexing MarketStats passes them.
        MODEL.estimate(Side.BUY, abs(int(q)), to_price(float(p)), v, a).total_bps
        for q, p, v, a in zip(quantity, prices, volatility, adv, strict=True)
    ]
    # Up to cent and tick rounding, which weigh most on the smallest order (USD 500).
    np.testing.assert_allclose(bps, exact, rtol=5e-3)
    # 10 shares of 50: spread 5 bps, impact 0.02 x sqrt(10 / 1e6) = 0.632 bps, and the USD 1
    # minimum commission on USD 500 is 20 bps. 1 % of ADV: 5 + 20 + 1 bps.
    assert bps[0] == pytest.approx(5 + 0.632456 + 20, abs=1e-4)
    assert bps[1] == pytest.approx(5 + 20 + 1)


def test_vectorised_estimate_ranks_unknowns_as_documented() -> None:
    bps = MODEL.estimate_bps(
        np.array([0, 100, 100, 100]),
        np.array([50.0, np.nan, 50.0, 50.0]),
        np.array([0.02, 0.02, 0.02, np.nan]),
        np.array([np.nan, 1e6, np.nan, 1e6]),
    )
    assert bps[0] == 0.0  # no shares, no cost
    assert np.isnan(bps[1])  # no price: nothing to trade at
    assert bps[2] == np.inf and bps[3] == np.inf  # unknown liquidity or volatility


def test_market_stats_volatility_is_the_sample_std_of_log_returns() -> None:
    rng = np.random.default_rng(7)
    log_returns = rng.normal(0.0, 0.015, size=(30, 2))
    closes = 100.0 * np.exp(np.vstack([np.zeros((1, 2)), np.cumsum(log_returns, axis=0)]))
    volumes = np.full(closes.shape, 1_000.0)
    stats = market_stats(closes, volumes, lookback_days=20)
    expected = np.std(log_returns[-20:], axis=0, ddof=1)
    np.testing.assert_allclose(stats.daily_volatility, expected)


def test_market_stats_skips_returns_touching_a_missing_price() -> None:
    # Alternating +/- log(1.1) returns; a NaN on day 5 removes the two returns that touch it.
    closes = np.where(np.arange(12) % 2 == 0, 100.0, 110.0)[:, None]
    closes[5, 0] = np.nan
    returns = np.diff(np.log(closes[:, 0]))
    expected = np.std(returns[np.isfinite(returns)], ddof=1)
    stats = market_stats(closes, np.ones_like(closes), lookback_days=11)
    assert stats.daily_volatility[0] == pytest.approx(expected)


def test_market_stats_floor_and_short_history_fallback() -> None:
    flat = np.full((21, 1), 100.0)  # a stale, forward-filled price: no movement at all
    short = np.full((MIN_RETURNS_FOR_VOLATILITY, 1), np.nan)
    short[:, 0] = np.linspace(100.0, 120.0, MIN_RETURNS_FOR_VOLATILITY)  # one return too few
    closes = np.hstack([flat, np.vstack([np.full((21 - len(short), 1), np.nan), short])])
    stats = market_stats(closes, np.ones_like(closes))
    np.testing.assert_array_equal(
        stats.daily_volatility, [VOLATILITY_FLOOR, SHORT_HISTORY_VOLATILITY]
    )


def test_market_stats_adv_is_the_mean_observed_volume_or_unknown() -> None:
    closes = np.full((4, 4), 10.0)
    volumes = np.array(
        [
            [9e9, 100.0, np.nan, 0.0],  # outside a 3-day lookback
            [100.0, np.nan, np.nan, 0.0],
            [200.0, 300.0, np.nan, 0.0],
            [300.0, 500.0, np.nan, 0.0],
        ]
    )
    stats = market_stats(closes, volumes, lookback_days=3)
    np.testing.assert_array_equal(stats.adv_shares[:2], [200.0, 400.0])
    assert np.isnan(stats.adv_shares[2]) and np.isnan(stats.adv_shares[3])


def test_market_stats_rejects_mismatched_windows() -> None:
    with pytest.raises(ValueError, match="same days x instruments"):
        market_stats(np.ones((5, 2)), np.ones((5, 3)))
    with pytest.raises(ValueError, match="lookback_days"):
        market_stats(np.ones((5, 2)), np.ones((5, 2)), lookback_days=0)
