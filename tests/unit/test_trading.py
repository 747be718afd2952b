"""Order generation and the simulated venue: whole shares, sells first, cash never negative."""

from datetime import date
from decimal import Decimal

import numpy as np
import pytest

from engine.model import MarketTick, Order, Side, TargetWeights
from engine.trading.orders import OrderGenerator
from engine.trading.venue import SimulatedVenue

DAY = date(2024, 1, 2)
SYMBOLS = ("AAA", "BBB", "CCC")


def _target(weights: list[float]) -> TargetWeights:
    array = np.array(weights)
    return TargetWeights("p1", DAY, array, 1 - array.sum())


def test_orders_are_whole_shares_of_target_minus_holdings_sells_first() -> None:
    generator = OrderGenerator(min_trade_weight=0.0, cost_allowance_bps=0.0)
    orders = generator.generate(
        _target([0.5, 0.0, 0.3]),
        SYMBOLS,
        held_shares=np.array([0, 100, 0]),
        cash_usd=Decimal("9000"),
        prices=np.array([30.0, 10.0, 7.0]),
        timestamp=DAY,
        order_id_prefix="c1",
    )
    # NAV = 9000 + 100 * 10 = 10000: AAA floor(5000 / 30) = 166, CCC floor(3000 / 7) = 428.
    assert [(o.side, o.symbol, o.quantity_shares) for o in orders] == [
        (Side.SELL, "BBB", 100),
        (Side.BUY, "AAA", 166),
        (Side.BUY, "CCC", 428),
    ]
    assert len({o.order_id for o in orders}) == 3


def test_buys_are_scaled_down_so_cash_after_sells_covers_them() -> None:
    generator = OrderGenerator(min_trade_weight=0.0, cost_allowance_bps=50.0)
    orders = generator.generate(
        _target([0.5, 0.5, 0.0]),
        SYMBOLS,
        held_shares=np.array([0, 0, 0]),
        cash_usd=Decimal("10000"),
        prices=np.array([10.0, 10.0, 10.0]),
        timestamp=DAY,
        order_id_prefix="c1",
    )
    cost = sum(o.quantity_shares * 10.0 * 1.005 for o in orders if o.side is Side.BUY)
    assert cost <= 10000
    assert all(o.quantity_shares > 490 for o in orders)


def test_small_trades_are_skipped_but_exits_are_not() -> None:
    generator = OrderGenerator(min_trade_weight=0.01, cost_allowance_bps=0.0)
    orders = generator.generate(
        _target([0.505, 0.0, 0.0]),
        SYMBOLS,
        held_shares=np.array([500, 1, 0]),
        cash_usd=Decimal("4990"),
        prices=np.array([10.0, 10.0, 10.0]),
        timestamp=DAY,
        order_id_prefix="c1",
    )
    # AAA would buy 5 shares (0.5% of NAV): skipped. BBB's one share is an exit: kept.
    assert [(o.side, o.symbol, o.quantity_shares) for o in orders] == [(Side.SELL, "BBB", 1)]


def test_untradable_instruments_get_no_orders() -> None:
    generator = OrderGenerator(0.0, 0.0)
    orders = generator.generate(
        _target([0.3, 0.3, 0.3]),
        SYMBOLS,
        np.array([0, 10, 0]),
        Decimal("1000"),
        np.array([np.nan, 10.0, 10.0]),
        DAY,
        "c1",
    )
    assert {o.symbol for o in orders} == {"BBB", "CCC"}


def _order(side: Side, quantity: int, symbol: str = "AAA") -> Order:
    return Order(f"o-{side}-{symbol}", "p1", symbol, side, quantity, Decimal("10"), DAY)


def _tick(prices: list[float]) -> MarketTick:
    return MarketTick(date(2024, 1, 3), np.array(prices), np.full(len(prices), 1e6))


VENUE = SimulatedVenue(half_spread_bps=5.0, commission_bps=10.0, min_commission_usd=Decimal("1"))
INDEX = {symbol: i for i, symbol in enumerate(SYMBOLS)}


def test_buy_fills_at_next_price_plus_half_spread_with_commission() -> None:
    report = VENUE.execute(
        [_order(Side.BUY, 100)], _tick([20.0, 1.0, 1.0]), INDEX, {"p1": Decimal("5000")}, {}
    )
    (fill,) = report.fills
    assert fill.price_usd == Decimal("20.0100")  # 20 * (1 + 5 bps)
    assert fill.commission_usd == Decimal("2.00")  # 10 bps of 2001.00
    assert fill.cash_change_usd == Decimal("-2003.00")


def test_sell_fills_below_the_price_and_minimum_commission_applies() -> None:
    report = VENUE.execute(
        [_order(Side.SELL, 10)],
        _tick([20.0, 1.0, 1.0]),
        INDEX,
        {"p1": Decimal(0)},
        {("p1", "AAA"): 10},
    )
    (fill,) = report.fills
    assert fill.price_usd == Decimal("19.9900")
    assert fill.commission_usd == Decimal("1.00")  # 10 bps of 199.90 is 0.20: minimum wins
    assert fill.cash_change_usd == Decimal("198.90")


def test_buy_beyond_cash_is_partially_filled_and_cash_stays_non_negative() -> None:
    cash = Decimal("1000.00")
    report = VENUE.execute([_order(Side.BUY, 100)], _tick([20.0, 1, 1]), INDEX, {"p1": cash}, {})
    (fill,) = report.fills
    # 49 shares cost 980.49 + 1.00 commission; 50 would cost 1000.50 + 1.00.
    assert fill.quantity_shares == 49
    assert cash + fill.cash_change_usd >= 0
    assert cash + fill.cash_change_usd < fill.price_usd


def test_sells_fund_buys_in_the_same_batch() -> None:
    orders = [_order(Side.BUY, 50, "BBB"), _order(Side.SELL, 100, "AAA")]
    report = VENUE.execute(
        orders, _tick([10.0, 10.0, 1.0]), INDEX, {"p1": Decimal("0")}, {("p1", "AAA"): 100}
    )
    assert [f.side for f in report.fills] == [Side.SELL, Side.BUY]
    assert sum(f.cash_change_usd for f in report.fills) >= 0


@pytest.mark.parametrize(
    ("order", "prices", "held", "reason"),
    [
        (_order(Side.SELL, 10), [20.0, 1, 1], {}, "exceeds the 0 held"),
        (_order(Side.BUY, 10), [float("nan"), 1, 1], {}, "no market price for AAA"),
        (_order(Side.BUY, 10), [2000.0, 1, 1], {}, "insufficient cash"),
    ],
)
def test_orders_that_cannot_be_filled_are_rejected_with_a_reason(
    order: Order, prices: list[float], held: dict, reason: str
) -> None:
    report = VENUE.execute([order], _tick(prices), INDEX, {"p1": Decimal("100")}, held)
    assert report.fills == ()
    assert reason in report.rejections[0].reason


def test_an_order_of_zero_shares_cannot_exist() -> None:
    with pytest.raises(ValueError, match="quantity_shares: 0 must be a positive whole number"):
        _order(Side.BUY, 0)
