"""Order generation and the simulated venue: whole shares, sells first, cash never negative."""

from datetime import date
from decimal import Decimal

import numpy as np
import pytest

from engine.model import MarketTick, Order, Side
from engine.trading.costs import CostModel, MarketStats
from engine.trading.orders import OrderGenerator
from engine.trading.venue import ExecutionReport, SimulatedVenue

DAY = date(2024, 1, 2)
SYMBOLS = ("AAA", "BBB", "CCC")


def _generate(
    target: list[int], held: list[int], cash: str, prices: list[float], allowance: float = 0.0
) -> list[Order]:
    return OrderGenerator(cost_allowance_bps=allowance).generate(
        "p1",
        np.array(target),
        SYMBOLS,
        np.array(held),
        Decimal(cash),
        np.array(prices),
        DAY,
        "c1",
    )


def test_orders_are_target_minus_holdings_sells_first() -> None:
    orders = _generate([166, 0, 428], [0, 100, 0], "9000", [30.0, 10.0, 7.0])
    assert [(o.side, o.symbol, o.quantity_shares) for o in orders] == [
        (Side.SELL, "BBB", 100),
        (Side.BUY, "AAA", 166),
        (Side.BUY, "CCC", 428),
    ]
    assert len({o.order_id for o in orders}) == 3


def test_buys_are_scaled_down_so_cash_after_sells_covers_them() -> None:
    orders = _generate([500, 500, 0], [0, 0, 0], "10000", [10.0, 10.0, 10.0], allowance=50.0)
    cost = sum(o.quantity_shares * 10.0 * 1.005 for o in orders if o.side is Side.BUY)
    assert cost <= 10000
    assert all(o.quantity_shares > 490 for o in orders)


def test_a_target_below_zero_sells_through_the_holding() -> None:
    # Long 10 to short 5: one sell of 15 (the venue and ledger decide whether shorts are allowed).
    orders = _generate([-5, 0, 0], [10, 0, 0], "1000", [10.0, 10.0, 10.0])
    assert [(o.side, o.symbol, o.quantity_shares) for o in orders] == [(Side.SELL, "AAA", 15)]


def test_untradable_instruments_get_no_orders() -> None:
    orders = _generate([30, 30, 30], [0, 10, 0], "1000", [np.nan, 10.0, 10.0])
    assert {o.symbol for o in orders} == {"BBB", "CCC"}


def _order(side: Side, quantity: int, symbol: str = "AAA") -> Order:
    return Order(f"o-{side}-{symbol}", "p1", symbol, side, quantity, Decimal("10"), DAY)


def _tick(prices: list[float]) -> MarketTick:
    return MarketTick(date(2024, 1, 3), np.array(prices), np.full(len(prices), 1e6))


# Without impact, the fills below are the spread and commission alone (hand-computed).
VENUE = SimulatedVenue(CostModel(5.0, 10.0, Decimal("1"), impact_coefficient=0.0))
STATS = MarketStats(np.full(3, 0.02), np.full(3, 1e6))  # 2% a day, 1,000,000 shares a day
INDEX = {symbol: i for i, symbol in enumerate(SYMBOLS)}


def _execute(
    orders: list[Order],
    tick: MarketTick,
    index: dict[str, int],
    cash: dict[str, Decimal],
    held: dict[tuple[str, str], int],
    short_allowed: frozenset[str] = frozenset(),
    venue: SimulatedVenue = VENUE,
) -> ExecutionReport:
    return venue.execute(orders, tick, index, cash, held, STATS, short_allowed)


def test_buy_fills_at_next_price_plus_half_spread_with_commission() -> None:
    report = _execute(
        [_order(Side.BUY, 100)], _tick([20.0, 1.0, 1.0]), INDEX, {"p1": Decimal("5000")}, {}
    )
    (fill,) = report.fills
    assert fill.price_usd == Decimal("20.0100")  # 20 * (1 + 5 bps)
    assert fill.commission_usd == Decimal("2.00")  # 10 bps of 2001.00
    assert fill.cash_change_usd == Decimal("-2003.00")


def test_sell_fills_below_the_price_and_minimum_commission_applies() -> None:
    report = _execute(
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
    report = _execute([_order(Side.BUY, 100)], _tick([20.0, 1, 1]), INDEX, {"p1": cash}, {})
    (fill,) = report.fills
    # 49 shares cost 980.49 + 1.00 commission; 50 would cost 1000.50 + 1.00.
    assert fill.quantity_shares == 49
    assert cash + fill.cash_change_usd >= 0
    assert cash + fill.cash_change_usd < fill.price_usd


def test_sells_fund_buys_in_the_same_batch() -> None:
    orders = [_order(Side.BUY, 50, "BBB"), _order(Side.SELL, 100, "AAA")]
    report = _execute(
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
    report = _execute([order], _tick(prices), INDEX, {"p1": Decimal("100")}, held)
    assert report.fills == ()
    assert reason in report.rejections[0].reason


def test_an_order_of_zero_shares_cannot_exist() -> None:
    with pytest.raises(ValueError, match="quantity_shares: 0 must be a positive whole number"):
        _order(Side.BUY, 0)


def test_a_sell_beyond_the_holding_opens_a_short_only_where_shorts_are_allowed() -> None:
    order = _order(Side.SELL, 15)
    long_only = _execute([order], _tick([20.0, 1, 1]), INDEX, {"p1": Decimal(0)}, {})
    assert not long_only.fills and "exceeds the 0 held" in long_only.rejections[0].reason
    long_short = _execute(
        [order], _tick([20.0, 1, 1]), INDEX, {"p1": Decimal(0)}, {}, frozenset({"p1"})
    )
    (fill,) = long_short.fills
    assert fill.quantity_shares == 15 and fill.cash_change_usd > 0


def test_a_large_order_pays_square_root_impact_on_top_of_the_spread() -> None:
    venue = SimulatedVenue(CostModel(5.0, 10.0, Decimal("1"), impact_coefficient=1.0))
    # 10,000 shares of 1,000,000 a day at 2% daily volatility: impact 0.02 * sqrt(0.01) = 20 bps.
    report = _execute(
        [_order(Side.BUY, 10_000)],
        _tick([20.0, 1, 1]),
        INDEX,
        {"p1": Decimal("1000000")},
        {},
        venue=venue,
    )
    (fill,) = report.fills
    assert fill.price_usd == Decimal("20.0500")  # 20 * (1 + 5 bps + 20 bps)
    sell = _execute(
        [_order(Side.SELL, 10_000)],
        _tick([20.0, 1, 1]),
        INDEX,
        {"p1": Decimal(0)},
        {("p1", "AAA"): 10_000},
        venue=venue,
    )
    assert sell.fills[0].price_usd == Decimal("19.9500")


def test_an_instrument_without_known_volume_is_not_traded() -> None:
    stats = MarketStats(np.full(3, 0.02), np.array([np.nan, 1e6, 1e6]))
    report = VENUE.execute(
        [_order(Side.BUY, 10)], _tick([20.0, 1, 1]), INDEX, {"p1": Decimal("1000")}, {}, stats
    )
    assert report.fills == () and "no traded volume known" in report.rejections[0].reason
