"""Annual turnover and round trips (engine/performance/turnover.py) on trades worked out by hand."""

import pytest

from engine.performance.turnover import TradeRecord, round_trips, turnover_report

DAYS = tuple(f"d{k:02d}" for k in range(12))


def fill(day: int, order: str, symbol: str, side: str, notional: float = 100.0) -> TradeRecord:
    return TradeRecord(DAYS[day], order, symbol, side, notional)


def test_turnover_is_traded_notional_over_average_nav_per_year() -> None:
    days = tuple(range(504))  # two years of trading days
    nav = [1_000.0] * 252 + [3_000.0] * 252  # average 2,000
    trades = [TradeRecord(0, "a", "X", "BUY", 1_500.0), TradeRecord(300, "b", "X", "SELL", 2_500.0)]
    report = turnover_report(trades, days, nav)
    assert report.traded_usd == 4_000.0
    assert report.average_nav_usd == 2_000.0
    assert report.years == 2.0
    assert report.annual_turnover == 1.0  # 4,000 / 2,000 / 2 years
    assert report.summary() == {
        "traded_usd": 4_000.0,
        "average_nav_usd": 2_000.0,
        "annual_turnover": 1.0,
        "round_trips_5d": 0,
    }


def test_a_reversal_exactly_five_trading_days_later_is_a_round_trip_and_six_is_not() -> None:
    five = round_trips([fill(1, "o1", "X", "SELL"), fill(6, "o2", "X", "BUY")], DAYS)
    assert [(t.first_order_id, t.second_order_id, t.days_apart) for t in five] == [("o1", "o2", 5)]
    assert round_trips([fill(1, "o1", "X", "SELL"), fill(7, "o2", "X", "BUY")], DAYS) == ()
    assert len(round_trips([fill(1, "o1", "X", "SELL"), fill(7, "o2", "X", "BUY")], DAYS, 6)) == 1


def test_same_side_and_other_names_are_not_round_trips() -> None:
    trades = [
        fill(0, "o1", "X", "BUY"),
        fill(1, "o2", "X", "BUY"),
        fill(2, "o3", "Y", "SELL"),
    ]
    assert round_trips(trades, DAYS) == ()


def test_an_order_filled_over_days_counts_once_from_its_first_fill() -> None:
    # o1 sells on days 0..2; o2 buys back from day 8, six days after o1's last sale: no round
    # trip. o3 buys on days 3 and 4, one day after o1's last sale: one round trip, not two.
    trades = [
        fill(0, "o1", "X", "SELL"),
        fill(1, "o1", "X", "SELL"),
        fill(2, "o1", "X", "SELL"),
        fill(3, "o3", "X", "BUY"),
        fill(4, "o3", "X", "BUY"),
    ]
    found = round_trips(trades, DAYS)
    assert [(t.first_order_id, t.first_day, t.second_order_id, t.days_apart) for t in found] == [
        ("o1", "d02", "o3", 1)
    ]
    assert round_trips([*trades[:3], fill(8, "o2", "X", "BUY")], DAYS) == ()


def test_opposite_orders_on_one_day_are_one_round_trip_whatever_the_input_order() -> None:
    trades = [fill(4, "p-0002", "X", "BUY"), fill(4, "p-0001", "X", "SELL")]
    found = round_trips(trades, DAYS)
    assert [(t.first_order_id, t.second_order_id, t.days_apart) for t in found] == [
        ("p-0001", "p-0002", 0)
    ]


def test_a_day_that_is_not_a_trading_day_and_mismatched_nav_are_named() -> None:
    with pytest.raises(ValueError, match="day: 'z' of order o1"):
        round_trips([TradeRecord("z", "o1", "X", "BUY", 1.0)], DAYS)
    with pytest.raises(ValueError, match="window_days: -1"):
        round_trips([], DAYS, -1)
    with pytest.raises(ValueError, match="nav_usd: 2 values for 12 days"):
        turnover_report([], DAYS, [1.0, 2.0])
