"""Order generation and the execution desk: whole shares, sells first, cash never negative,
crossing between portfolios, blocks under the participation cap, shares conserved."""

from datetime import date
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.model import Order, Side
from engine.trading.costs import CostModel, MarketStats
from engine.trading.execution import DayResult, ExecutionDesk, OrderProgress
from engine.trading.orders import OrderGenerator
from engine.trading.scheduling import ExecutionPolicy

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


STATS = MarketStats(np.full(3, 0.02), np.full(3, 1e6))  # 2% a day, 1,000,000 shares a day
INDEX = {symbol: i for i, symbol in enumerate(SYMBOLS)}
NEXT_DAY = date(2024, 1, 3)


def _desk(impact: float = 1.0, crossing: bool = True) -> ExecutionDesk:
    return ExecutionDesk(CostModel(5.0, 10.0, Decimal("1"), impact), ExecutionPolicy(), crossing)


def _order(side: Side, quantity: int, symbol: str = "AAA", pid: str = "p1") -> Order:
    return Order(f"{pid}-{side}-{symbol}", pid, symbol, side, quantity, Decimal("20"), DAY)


def _run(
    desk: ExecutionDesk,
    orders: list[Order],
    days: int = 1,
    cash: dict[str, Decimal] | None = None,
    held: dict[tuple[str, str], int] | None = None,
    volume: float = 1e6,
    short_allowed: frozenset[str] = frozenset(),
) -> tuple[dict[str, OrderProgress], list[DayResult]]:
    """Plan at cycle 1, then execute ``days`` closes at 20 USD, folding fills as the engine
    state does."""
    held = dict(held or {})
    cash = dict(cash or {o.portfolio_id: Decimal("10000000") for o in orders})
    planned = desk.plan(orders, held, {}, STATS, INDEX, 1)
    working = {p.order.order_id: (p.order, p.progress) for p in planned}
    results = []
    close, volumes = np.full(3, 20.0), np.full(3, volume)
    for cycle in range(2, 2 + days):
        result = desk.execute(
            working, cycle, close, volumes, STATS, INDEX, cash, held, short_allowed, {}, "B"
        )
        results.append(result)
        for fill in result.fills:
            progress = working[fill.order.order_id][1]
            progress.filled_shares += fill.quantity_shares
            if fill.venue == "market":
                progress.market_filled_shares += fill.quantity_shares
            sign = 1 if fill.order.side is Side.BUY else -1
            key = (fill.order.portfolio_id, fill.order.symbol)
            held[key] = held.get(key, 0) + sign * fill.quantity_shares
            gross = fill.price_usd * fill.quantity_shares
            cash[fill.order.portfolio_id] -= sign * gross + fill.commission_usd
        for record in result.crosses:
            for order_id, shares in record.unmatched.items():
                working[order_id][1].cross_unmatched += shares
        for done in result.completions:
            working.pop(done.order.order_id)
    return {p.order.order_id: p.progress for p in planned}, results


def test_a_small_order_fills_at_once_at_the_close_plus_spread_and_square_root_impact() -> None:
    # 10,000 shares of 1,000,000 a day at 2% volatility: impact 0.02 * sqrt(0.01) = 20 bps.
    progress, (day,) = _run(_desk(), [_order(Side.BUY, 10_000)])
    assert progress["p1-BUY-AAA"].algorithm == "IMMEDIATE"
    assert progress["p1-BUY-AAA"].schedule == (10_000,)
    (fill,) = day.fills
    assert fill.price_usd == Decimal("20.0500")  # 20 * (1 + 5 bps + 20 bps)
    assert fill.commission_usd == Decimal("200.50")  # 10 bps of 200,500
    assert [c.state for c in day.completions] == ["FILLED"]


def test_an_order_above_the_participation_cap_is_spread_over_days_and_completes() -> None:
    # 250,000 shares at a 10% cap of 1,000,000 a day: at least three days.
    progress, days = _run(_desk(), [_order(Side.BUY, 250_000)], days=5)
    schedule = progress["p1-BUY-AAA"].schedule
    assert len(schedule) >= 3 and max(schedule) <= 100_000
    filled = [sum(f.quantity_shares for f in day.fills) for day in days]
    assert all(shares <= 100_000 for shares in filled)
    assert sum(filled) == 250_000
    completed = [c for day in days for c in day.completions]
    assert [c.state for c in completed] == ["FILLED"]


def test_a_quiet_day_fills_in_part_and_the_rest_is_cancelled_at_the_schedules_end() -> None:
    _, days = _run(_desk(), [_order(Side.BUY, 5_000)], days=1, volume=20_000)
    (day,) = days
    assert sum(f.quantity_shares for f in day.fills) == 2_000  # 10% of 20,000
    (done,) = day.completions
    assert done.state == "CANCELLED" and "participation cap" in done.reason
    assert done.quality.opportunity_usd != 0 or done.quality.total_usd > 0


def test_buys_never_spend_more_cash_than_there_is() -> None:
    cash = {"p1": Decimal("1000.00")}
    _, (day,) = _run(_desk(impact=0.0), [_order(Side.BUY, 100)], cash=cash)
    (fill,) = day.fills
    # 49 shares cost 980.49 + 1.00 commission; 50 would cost 1000.50 + 1.00.
    assert fill.quantity_shares == 49


def test_a_long_only_portfolio_cannot_sell_what_it_does_not_hold() -> None:
    order = _order(Side.SELL, 15)
    _, (day,) = _run(_desk(), [order], held={("p1", "AAA"): 10})
    assert sum(f.quantity_shares for f in day.fills) == 10
    _, (short,) = _run(_desk(), [order], short_allowed=frozenset({"p1"}))
    assert sum(f.quantity_shares for f in short.fills) == 15


def test_opposite_orders_of_two_portfolios_cross_at_the_mid_without_costs() -> None:
    buy, sell = _order(Side.BUY, 3_000, pid="a"), _order(Side.SELL, 2_000, pid="b")
    progress, (day,) = _run(_desk(), [buy, sell], held={("b", "AAA"): 2_000})
    assert sorted(p.cross_shares for p in progress.values()) == [2_000, 2_000]
    (record,) = day.crosses
    assert record.quantity_shares == 2_000 and record.price_usd == Decimal("20.0000")
    internal = [f for f in day.fills if f.venue == "internal cross"]
    assert {(f.order.portfolio_id, f.quantity_shares) for f in internal} == {
        ("a", 2_000),
        ("b", 2_000),
    }
    assert all(f.commission_usd == 0 and f.price_usd == Decimal("20.0000") for f in internal)
    market = [f for f in day.fills if f.venue == "market"]
    assert [(f.order.portfolio_id, f.quantity_shares) for f in market] == [("a", 1_000)]
    assert record.savings_usd["a"] > 0 and record.savings_usd["b"] > 0
    _, (without,) = _run(_desk(crossing=False), [buy, sell], held={("b", "AAA"): 2_000})
    assert not without.crosses
    assert sum(f.quantity_shares for f in without.fills) == 5_000


def test_one_block_per_instrument_and_side_is_allocated_back_pro_rata() -> None:
    orders = [_order(Side.BUY, 30_000, pid="a"), _order(Side.BUY, 10_000, pid="b")]
    progress, (day,) = _run(_desk(crossing=False), orders, volume=200_000)  # cap: 20,000
    slices = {order_id: p.schedule[0] for order_id, p in progress.items()}
    (block,) = day.blocks
    assert block.planned_shares == sum(slices.values()) > 20_000
    assert block.filled_shares == sum(block.children.values()) == 20_000
    for order_id, shares in block.children.items():
        exact = 20_000 * slices[order_id] / block.planned_shares
        assert abs(shares - exact) < 1


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(SYMBOLS),
            st.sampled_from([Side.BUY, Side.SELL]),
            st.integers(1, 400_000),
        ),
        min_size=1,
        max_size=12,
        unique_by=lambda t: (t[0], t[1]),
    ),
    st.integers(0, 2_000_000),
    st.integers(0, 300_000),
    st.floats(10_000, 3e6),
)
def test_cash_never_goes_negative_and_long_only_books_never_go_short(
    specs: list[tuple[str, str, Side, int]], cash_usd: int, held_each: int, volume: float
) -> None:
    orders = [_order(side, quantity, symbol, pid) for pid, symbol, side, quantity in specs]
    held = {(pid, symbol): held_each for pid in "abc" for symbol in SYMBOLS}
    cash = {pid: Decimal(cash_usd) for pid in "abc"}
    _, days = _run(_desk(), orders, days=25, cash=cash, held=held, volume=volume)
    for pid in "abc":
        spent = Decimal(0)
        for day in days:
            for fill in day.fills:
                if fill.order.portfolio_id != pid:
                    continue
                gross = fill.price_usd * fill.quantity_shares
                sign = 1 if fill.order.side is Side.BUY else -1
                spent += sign * gross + fill.commission_usd
                held[(pid, fill.order.symbol)] += sign * fill.quantity_shares
                assert held[(pid, fill.order.symbol)] >= 0  # a sell never goes past the holding
            # After each day: what it paid never exceeds its cash.
            assert Decimal(cash_usd) - spent >= 0
    assert all(quantity >= 0 for quantity in held.values())
    filled = {}
    for day in days:
        for fill in day.fills:
            filled[fill.order.order_id] = filled.get(fill.order.order_id, 0) + fill.quantity_shares
    for order in orders:
        assert filled.get(order.order_id, 0) <= order.quantity_shares


def test_an_order_on_an_instrument_without_volume_has_no_cost_estimate_in_its_event() -> None:
    stats = MarketStats(np.full(3, 0.02), np.array([np.nan, 1e6, 1e6]))
    (planned,) = _desk().plan([_order(Side.BUY, 10)], {}, {}, stats, INDEX, 1)
    payload = planned.progress.payload()
    assert payload["estimated_cost_bps"] is None  # JSON has no NaN; PostgreSQL refuses it
    assert np.isnan(OrderProgress.from_payload(payload).estimated_cost_bps)
