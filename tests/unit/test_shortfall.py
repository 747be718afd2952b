"""Implementation shortfall: Perold's paper-versus-real loss, split into delay, timing, spread,
impact, commission and opportunity cost that add up to the total to the cent."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.model import Side, to_cash
from engine.trading.costs import CostModel, UnknownLiquidityError
from engine.trading.shortfall import (
    ExecutedFill,
    ExecutionRecord,
    Shortfall,
    aggregate,
    crossing_saving_usd,
    shortfall,
)

MODEL = CostModel(half_spread_bps=5.0, commission_bps=1.0, min_commission_usd=Decimal("1"))
D = Decimal


def _components(result: Shortfall) -> Decimal:
    return (
        result.delay_usd
        + result.timing_usd
        + result.spread_usd
        + result.impact_usd
        + result.commission_usd
        + result.opportunity_usd
    )


def test_partially_filled_buy_matches_hand_computation() -> None:
    # Buy 1,000 decided at 100.00; arrives at 100.50; 400 fill at 101.10 (market 101.00) and
    # 300 at 100.90 (market 100.80); 300 never fill and the price ends at 102.00.
    record = ExecutionRecord(
        Side.BUY,
        1_000,
        decision_price_usd=D("100.00"),
        arrival_price_usd=D("100.50"),
        last_price_usd=D("102.00"),
        fills=(
            ExecutedFill(400, D("101.10"), D("101.00")),
            ExecutedFill(300, D("100.90"), D("100.80")),
        ),
    )
    result = shortfall(record, MODEL)
    assert result.delay_usd == D("350.00")  # 700 x 0.50
    assert result.timing_usd == D("290.00")  # 400 x 0.50 + 300 x 0.30
    assert result.spread_usd == D("35.32")  # (40,400 + 30,240) x 5 bps
    assert result.impact_usd == D("34.68")  # concession 400 x 0.10 + 300 x 0.10 = 70, less spread
    assert result.commission_usd == D("7.07")  # 1 bp of 40,440 -> 4.04; of 30,270 -> 3.03
    assert result.opportunity_usd == D("600.00")  # 300 x 2.00
    # Paper: 1,000 at 100 = 100,000. Real: 440 + 270 over decision, 7.07 fees, 600 missed.
    assert result.total_usd == D("1317.07")
    assert _components(result) == result.total_usd
    assert result.decision_notional_usd == D("100000.00")
    assert result.total_bps == pytest.approx(131.707)
    assert result.opportunity_bps == pytest.approx(60.0)


def test_sell_costs_are_positive_when_the_price_moves_against_the_seller() -> None:
    # Sell 500 decided at 50.00; arrives at 49.90; all fill at 49.80 with the market at 49.85.
    record = ExecutionRecord(
        Side.SELL,
        500,
        D("50.00"),
        D("49.90"),
        D("49.00"),
        (ExecutedFill(500, D("49.80"), D("49.85")),),
    )
    result = shortfall(record, MODEL)
    assert result.delay_usd == D("50.00")  # 500 x 0.10
    assert result.timing_usd == D("25.00")  # 500 x 0.05
    assert result.spread_usd == D("12.46")  # 24,925 x 5 bps = 12.4625
    assert result.impact_usd == D("12.54")  # concession 500 x 0.05 = 25, less spread
    assert result.commission_usd == D("2.49")  # 1 bp of 24,900
    assert result.opportunity_usd == D("0.00")  # nothing left unfilled: the last price is moot
    assert result.total_usd == D("102.49") == _components(result)


def test_favourable_moves_are_negative_costs() -> None:
    # A buy whose price falls after the decision: the delay and the missed shares are gains.
    record = ExecutionRecord(
        Side.BUY,
        200,
        D("20.00"),
        D("19.50"),
        D("19.00"),
        (ExecutedFill(100, D("19.51"), D("19.50")),),
    )
    result = shortfall(record, MODEL)
    assert result.delay_usd == D("-50.00")
    assert result.opportunity_usd == D("-100.00")
    assert result.total_usd < 0
    assert _components(result) == result.total_usd


def test_an_order_that_never_fills_is_all_opportunity_cost() -> None:
    record = ExecutionRecord(Side.BUY, 100, D("10.00"), D("10.10"), D("10.40"))
    result = shortfall(record, MODEL)
    assert result.total_usd == result.opportunity_usd == D("40.00")
    assert result.delay_usd == result.commission_usd == result.impact_usd == 0


prices = st.integers(min_value=100, max_value=1_000_000).map(lambda ticks: D(ticks) / 10_000)


@st.composite
def execution_records(draw: st.DrawFn) -> ExecutionRecord:
    quantity = draw(st.integers(min_value=1, max_value=100_000))
    fills = []
    remaining = quantity
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        if remaining == 0:
            break
        shares = draw(st.integers(min_value=1, max_value=remaining))
        remaining -= shares
        fills.append(ExecutedFill(shares, draw(prices), draw(prices)))
    return ExecutionRecord(
        draw(st.sampled_from(Side)),
        quantity,
        draw(prices),
        draw(prices),
        draw(prices),
        tuple(fills),
    )


@given(execution_records())
def test_components_add_up_to_the_paper_minus_real_difference(record: ExecutionRecord) -> None:
    result = shortfall(record, MODEL)
    assert _components(result) == result.total_usd
    # Perold's definition, independently: the paper portfolio trades every ordered share at the
    # decision price for free; the real one pays its fills and commissions and holds only the
    # filled shares. Both are marked at the last price; the shortfall is paper gain - real gain.
    sign = 1 if record.side is Side.BUY else -1
    last = record.last_price_usd
    paper_gain = sign * record.quantity_ordered_shares * (last - record.decision_price_usd)
    real_gain = -sum(
        (
            sign * fill.quantity_shares * (fill.fill_price_usd - last)
            + MODEL.commission(fill.fill_price_usd * fill.quantity_shares)
            for fill in record.fills
        ),
        start=D(0),
    )
    assert result.total_usd == to_cash(paper_gain - real_gain)


def test_aggregate_sums_dollars_and_weights_bps_by_decision_notional() -> None:
    buy = shortfall(
        ExecutionRecord(
            Side.BUY,
            1_000,
            D("100"),
            D("100.5"),
            D("101"),
            (ExecutedFill(1_000, D("101"), D("100.9")),),
        ),
        MODEL,
    )
    sell = shortfall(
        ExecutionRecord(
            Side.SELL, 300, D("20"), D("19.9"), D("19"), (ExecutedFill(100, D("19.8"), D("19.85")),)
        ),
        MODEL,
    )
    total = aggregate([buy, sell])
    assert total.decision_notional_usd == D("106000")
    for field in ("delay", "timing", "spread", "impact", "commission", "opportunity", "total"):
        assert getattr(total, f"{field}_usd") == getattr(buy, f"{field}_usd") + getattr(
            sell, f"{field}_usd"
        )
    weighted = (buy.total_bps * 100_000 + sell.total_bps * 6_000) / 106_000
    assert total.total_bps == pytest.approx(weighted)
    assert _components(total) == total.total_usd


def test_aggregate_of_no_orders_is_zero() -> None:
    total = aggregate([])
    assert total.total_usd == 0 and total.total_bps == 0.0


def test_crossing_saves_the_spread_and_impact_the_venue_would_charge() -> None:
    # 10,000 shares at 50 with 2 % volatility and 1,000,000 ADV: spread 250 + impact 1,000.
    saving = crossing_saving_usd(10_000, D("50"), 0.02, 1_000_000.0, MODEL)
    assert saving == D("1250.00")
    venue = MODEL.estimate(Side.BUY, 10_000, D("50"), 0.02, 1_000_000.0)
    assert saving == venue.spread_usd + venue.impact_usd
    assert crossing_saving_usd(0, D("50"), 0.02, float("nan"), MODEL) == 0
    with pytest.raises(UnknownLiquidityError):
        crossing_saving_usd(100, D("50"), 0.02, float("nan"), MODEL)


def test_records_that_cannot_have_happened_are_refused() -> None:
    with pytest.raises(ValueError, match=r"fills: 150 shares filled exceed the 100 ordered"):
        ExecutionRecord(
            Side.BUY, 100, D("10"), D("10"), D("10"), (ExecutedFill(150, D("10"), D("10")),)
        )
    with pytest.raises(ValueError, match="arrival_price_usd"):
        ExecutionRecord(Side.BUY, 100, D("10"), D("NaN"), D("10"))
    with pytest.raises(ValueError, match=r"fills\[0\]"):
        ExecutionRecord(
            Side.BUY, 100, D("10"), D("10"), D("10"), (ExecutedFill(0, D("10"), D("10")),)
        )
    with pytest.raises(ValueError, match="quantity_ordered_shares"):
        ExecutionRecord(Side.SELL, 0, D("10"), D("10"), D("10"))
