"""Trade coordination in whole shares: pro rata, netting, crossing and block fills.

The properties are checked over random order books (hypothesis) against sums and exact
fractions recomputed here, not against the netting module's own bookkeeping.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from fractions import Fraction
from random import Random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.model import Order, Side
from engine.trading.netting import (
    Block,
    Cross,
    Intent,
    allocate_fill,
    allocate_fills,
    allocate_pro_rata,
    cross,
    make_blocks,
    net_within,
)

DAY = date(2024, 1, 2)
PORTFOLIOS = ("A", "B", "C", "D", "E")
SYMBOLS = ("AAA", "BBB", "XYZ")

# Mostly desk-sized quantities, sometimes huge ones, where float rounding would drift.
shares = st.one_of(st.integers(1, 5_000), st.integers(1, 10**18))
intents = st.builds(
    Intent,
    st.sampled_from(PORTFOLIOS),
    st.sampled_from(SYMBOLS),
    st.one_of(shares, shares.map(lambda q: -q), st.just(0)),
)
order_books = st.lists(intents, max_size=30)


def _order(order_id: str, symbol: str, side: Side, quantity: int, portfolio: str = "A") -> Order:
    return Order(order_id, portfolio, symbol, side, quantity, Decimal("10"), DAY)


def _net_by_portfolio(book: list[Intent]) -> Counter[tuple[str, str]]:
    net: Counter[tuple[str, str]] = Counter()
    for intent in book:
        net[intent.portfolio_id, intent.symbol] += intent.quantity
    return net


# Pro rata -----------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    wants=st.lists(shares, min_size=1, max_size=12),
    fraction=st.fractions(0, 1),
)
def test_pro_rata_sums_exactly_within_one_share_of_exact_quota_never_above_want(
    wants: list[int], fraction: Fraction
) -> None:
    wanted = sum(wants)
    total = int(fraction * wanted)
    named = [(f"p{i}", want) for i, want in enumerate(wants)]

    allocation = allocate_pro_rata(total, named)

    assert list(allocation) == [name for name, _ in named]
    assert sum(allocation.values()) == total
    for name, want in named:
        exact_quota = Fraction(total * want, wanted)
        assert abs(allocation[name] - exact_quota) < 1
        assert 0 <= allocation[name] <= want


def test_pro_rata_gives_left_over_shares_to_largest_remainders() -> None:
    # 7 shares over wants 3, 3, 4 (sum 10): quotas 2.1, 2.1, 2.8 -> floors 2, 2, 2, one left for C.
    assert allocate_pro_rata(7, [("A", 3), ("B", 3), ("C", 4)]) == {"A": 2, "B": 2, "C": 3}
    # A want of zero gets nothing, even when shares are left over.
    assert allocate_pro_rata(1, [("A", 0), ("B", 3)]) == {"A": 0, "B": 1}


def test_pro_rata_breaks_ties_by_position_in_wants() -> None:
    # 5 over 3, 3, 4: quotas 1.5, 1.5, 2.0; one share left, A and B tie, A is listed first.
    assert allocate_pro_rata(5, [("A", 3), ("B", 3), ("C", 4)]) == {"A": 2, "B": 1, "C": 2}
    assert allocate_pro_rata(5, [("B", 3), ("A", 3), ("C", 4)]) == {"B": 2, "A": 1, "C": 2}
    assert allocate_pro_rata(2, [("X", 1), ("Y", 1), ("Z", 1)]) == {"X": 1, "Y": 1, "Z": 0}


def test_pro_rata_is_exact_where_floats_would_call_a_tie() -> None:
    # total = 2e20 - 1 over 1e20 + 1 and 1e20 - 1: quotas are 1e20 + 0.5 - 1/(2e20) and
    # 1e20 - 1.5 + 1/(2e20). In floats both remainders are 0.5; exactly, B's is the larger.
    big = 10**20
    allocation = allocate_pro_rata(2 * big - 1, [("A", big + 1), ("B", big - 1)])
    assert allocation == {"A": big, "B": big - 1}


def test_pro_rata_edge_cases() -> None:
    assert allocate_pro_rata(0, []) == {}
    assert allocate_pro_rata(0, [("A", 5), ("B", 7)]) == {"A": 0, "B": 0}
    assert allocate_pro_rata(12, [("A", 5), ("B", 7)]) == {"A": 5, "B": 7}


def test_pro_rata_rejects_impossible_requests_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"total: 13 shares .* sum of wants \(12 shares\)"):
        allocate_pro_rata(13, [("A", 5), ("B", 7)])
    with pytest.raises(ValueError, match="total: -1"):
        allocate_pro_rata(-1, [("A", 5)])
    with pytest.raises(ValueError, match=r"wants\['B'\]: -7 shares must not be negative"):
        allocate_pro_rata(1, [("A", 5), ("B", -7)])
    with pytest.raises(ValueError, match="'A' is listed more than once"):
        allocate_pro_rata(1, [("A", 5), ("A", 7)])
    with pytest.raises(ValueError, match="total"):
        allocate_pro_rata(1, [])
    with pytest.raises(TypeError, match=r"total: 2\.5 must be a whole number of shares"):
        allocate_pro_rata(2.5, [("A", 5)])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"wants\['A'\]"):
        allocate_pro_rata(1, [("A", 5.0)])  # type: ignore[list-item]


# Netting within a portfolio -----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(book=order_books)
def test_netting_keeps_each_portfolios_net_quantity_one_intent_per_instrument(
    book: list[Intent],
) -> None:
    netted = net_within(book)

    expected = {key: quantity for key, quantity in _net_by_portfolio(book).items() if quantity}
    assert {(i.portfolio_id, i.symbol): i.quantity for i in netted} == expected
    keys = [(i.portfolio_id, i.symbol) for i in netted]
    assert keys == sorted(set(keys))
    assert all(i.quantity != 0 for i in netted)


def test_opposite_intents_in_one_portfolio_net_and_zero_drops_out() -> None:
    book = [
        Intent("B", "XYZ", 100),
        Intent("A", "XYZ", 300),
        Intent("A", "XYZ", -100),
        Intent("A", "AAA", 50),
        Intent("A", "AAA", -50),
    ]
    assert net_within(book) == [Intent("A", "XYZ", 200), Intent("B", "XYZ", 100)]


def test_intent_refuses_a_fractional_quantity() -> None:
    with pytest.raises(TypeError, match=r"Intent\(A, XYZ\)\.quantity: 1\.5"):
        Intent("A", "XYZ", 1.5)  # type: ignore[arg-type]


# Crossing across portfolios -----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(book=order_books)
def test_crossing_conserves_shares_and_never_flips_or_grows_a_portfolios_trade(
    book: list[Intent],
) -> None:
    result = cross(book)

    net = _net_by_portfolio(book)
    crossed_by_portfolio = {(c.portfolio_id, c.symbol): c.quantity for c in result.crosses}
    residual_by_portfolio = {(r.portfolio_id, r.symbol): r.quantity for r in result.residual}
    assert len(crossed_by_portfolio) == len(result.crosses)
    assert len(residual_by_portfolio) == len(result.residual)
    assert all(c.quantity != 0 for c in result.crosses)
    assert all(r.quantity != 0 for r in result.residual)

    for symbol in SYMBOLS:
        wanted = [q for (_, s), q in net.items() if s == symbol]
        bought = sum(q for q in wanted if q > 0)
        sold = -sum(q for q in wanted if q < 0)
        crossed = [q for (_, s), q in crossed_by_portfolio.items() if s == symbol]
        residual = [q for (_, s), q in residual_by_portfolio.items() if s == symbol]

        # Shares are conserved: what the portfolios want is what goes to the venue.
        assert sum(wanted) == sum(residual)
        assert sum(crossed) == 0
        # The buyers' crossed shares are the sellers', and equal the smaller side.
        crossed_bought = sum(q for q in crossed if q > 0)
        assert crossed_bought == -sum(q for q in crossed if q < 0) == min(bought, sold)
        assert result.crossed_shares.get(symbol, 0) == min(bought, sold)
        # Only one side of a symbol is left for the venue.
        assert all(q > 0 for q in residual) or all(q < 0 for q in residual)

    for key in set(net) | set(crossed_by_portfolio) | set(residual_by_portfolio):
        intent = net[key]
        left = residual_by_portfolio.get(key, 0)
        assert intent == crossed_by_portfolio.get(key, 0) + left
        assert abs(left) <= abs(intent)
        assert left * intent >= 0, f"{key}: residual {left} changed the side of {intent}"


@settings(max_examples=100, deadline=None)
@given(book=order_books, rng=st.randoms(use_true_random=False))
def test_crossing_does_not_depend_on_the_order_intents_arrive_in(
    book: list[Intent], rng: Random
) -> None:
    shuffled = list(book)
    rng.shuffle(shuffled)
    assert cross(shuffled) == cross(book)


def test_one_buyer_against_two_sellers_crosses_everything() -> None:
    result = cross([Intent("A", "XYZ", 300), Intent("B", "XYZ", -200), Intent("C", "XYZ", -100)])
    assert result.crosses == [
        Cross("XYZ", "A", 300),
        Cross("XYZ", "B", -200),
        Cross("XYZ", "C", -100),
    ]
    assert result.crossed_shares == {"XYZ": 300}
    assert result.residual == []


def test_the_larger_side_sends_its_excess_to_the_venue() -> None:
    result = cross([Intent("A", "XYZ", 300), Intent("B", "XYZ", -100)])
    assert result.crosses == [Cross("XYZ", "A", 100), Cross("XYZ", "B", -100)]
    assert result.crossed_shares == {"XYZ": 100}
    assert result.residual == [Intent("A", "XYZ", 200)]


def test_the_larger_side_is_crossed_pro_rata() -> None:
    # XYZ: 200 sold against 300 + 100 bought, buyers cross 200 * 3/4 = 150 and 200 * 1/4 = 50.
    # AAA: 1 bought against 1 + 1 sold, the sellers tie for the one share and A sorts first.
    result = cross(
        [
            Intent("A", "XYZ", 300),
            Intent("B", "XYZ", 100),
            Intent("C", "XYZ", -200),
            Intent("A", "AAA", -1),
            Intent("B", "AAA", -1),
            Intent("C", "AAA", 1),
        ]
    )
    assert result.crosses == [
        Cross("AAA", "A", -1),
        Cross("AAA", "C", 1),
        Cross("XYZ", "A", 150),
        Cross("XYZ", "B", 50),
        Cross("XYZ", "C", -200),
    ]
    assert result.crossed_shares == {"AAA": 1, "XYZ": 200}
    assert result.residual == [
        Intent("A", "XYZ", 150),
        Intent("B", "AAA", -1),
        Intent("B", "XYZ", 50),
    ]


def test_a_portfolio_nets_before_it_crosses_so_it_never_trades_with_itself() -> None:
    result = cross([Intent("A", "XYZ", 100), Intent("A", "XYZ", -100), Intent("B", "XYZ", -50)])
    assert result.crosses == []
    assert result.crossed_shares == {}
    assert result.residual == [Intent("B", "XYZ", -50)]


def test_intent_from_order_signs_sells_negative() -> None:
    assert Intent.from_order(_order("o1", "XYZ", Side.SELL, 70, "B")) == Intent("B", "XYZ", -70)
    assert Intent.from_order(_order("o2", "XYZ", Side.BUY, 30, "C")) == Intent("C", "XYZ", 30)


# Blocks and fill allocation -----------------------------------------------------------------------


def test_orders_on_one_symbol_and_side_go_out_as_one_block() -> None:
    orders = [
        _order("c1-0003", "XYZ", Side.BUY, 100, "B"),
        _order("c1-0001", "XYZ", Side.BUY, 300, "A"),
        _order("c1-0002", "XYZ", Side.SELL, 50, "C"),
        _order("c1-0000", "AAA", Side.BUY, 10, "A"),
    ]
    assert make_blocks(orders, "blk") == [
        Block("blk-0000", "AAA", Side.BUY, 10, (("c1-0000", 10),)),
        Block("blk-0001", "XYZ", Side.BUY, 400, (("c1-0001", 300), ("c1-0003", 100))),
        Block("blk-0002", "XYZ", Side.SELL, 50, (("c1-0002", 50),)),
    ]
    assert make_blocks(list(reversed(orders)), "blk") == make_blocks(orders, "blk")


def test_make_blocks_rejects_a_repeated_order_id() -> None:
    orders = [_order("o1", "XYZ", Side.BUY, 1), _order("o1", "XYZ", Side.BUY, 2)]
    with pytest.raises(ValueError, match="'o1' is listed twice"):
        make_blocks(orders, "blk")


def test_block_quantity_must_equal_its_children() -> None:
    with pytest.raises(ValueError, match=r"Block\(b\).quantity: 5 .* children's total \(4"):
        Block("b", "XYZ", Side.BUY, 5, (("o1", 4),))
    with pytest.raises(ValueError, match=r"children\[o2\]: 0 shares must be positive"):
        Block("b", "XYZ", Side.BUY, 4, (("o1", 4), ("o2", 0)))


def test_a_partial_block_fill_splits_pro_rata_in_whole_shares() -> None:
    block = Block("b", "XYZ", Side.BUY, 400, (("o1", 300), ("o2", 100)))
    assert allocate_fill(block, 400) == {"o1": 300, "o2": 100}
    assert allocate_fill(block, 201) == {"o1": 151, "o2": 50}  # quotas 150.75 and 50.25
    assert allocate_fill(block, 0) == {"o1": 0, "o2": 0}
    with pytest.raises(ValueError, match=r"filled: 401 shares .* block b \(400 shares\)"):
        allocate_fill(block, 401)
    with pytest.raises(ValueError, match="filled: -1"):
        allocate_fill(block, -1)


def test_later_fills_go_to_what_each_child_still_needs() -> None:
    block = Block("b", "XYZ", Side.BUY, 400, (("o1", 300), ("o2", 100)))
    # o1 has 300 - 151 = 149 left, o2 has 100 - 50 = 50: 100 new shares at 149/199 and 50/199,
    # quotas 74.87... and 25.12..., floors 74 and 25, the last share to o1's larger remainder.
    assert allocate_fills(block, {"o1": 151, "o2": 50}, 100) == {"o1": 75, "o2": 25}
    assert allocate_fills(block, {"o1": 300}, 100) == {"o1": 0, "o2": 100}


def test_allocate_fills_rejects_fills_beyond_what_children_ordered() -> None:
    block = Block("b", "XYZ", Side.SELL, 400, (("o1", 300), ("o2", 100)))
    with pytest.raises(ValueError, match=r"filled_now: 51 shares .* unfilled .* \(50 shares\)"):
        allocate_fills(block, {"o1": 300, "o2": 50}, 51)
    with pytest.raises(ValueError, match=r"filled_so_far_by_child\['o2'\]: 101 shares"):
        allocate_fills(block, {"o2": 101}, 0)
    with pytest.raises(ValueError, match=r"\['o9'\]: not a child order of block b"):
        allocate_fills(block, {"o9": 1}, 0)


@settings(max_examples=200, deadline=None)
@given(
    children=st.lists(shares, min_size=1, max_size=8),
    daily_fractions=st.lists(st.fractions(0, 1), max_size=20),
)
def test_cumulative_partial_fills_sum_to_the_block_and_never_overfill_a_child(
    children: list[int], daily_fractions: list[Fraction]
) -> None:
    orders = [_order(f"o{i}", "XYZ", Side.BUY, quantity) for i, quantity in enumerate(children)]
    (block,) = make_blocks(orders, "blk")
    ordered = dict(block.children)
    filled_so_far: dict[str, int] = defaultdict(int)

    # Each day fills a random share of what is left; the last day fills the rest.
    days = [*daily_fractions, Fraction(1)]
    for fraction in days:
        unfilled = block.quantity - sum(filled_so_far.values())
        filled_now = int(fraction * unfilled)
        allocation = allocate_fills(block, filled_so_far, filled_now)
        assert sum(allocation.values()) == filled_now
        for order_id, new_shares in allocation.items():
            assert new_shares >= 0
            filled_so_far[order_id] += new_shares
            assert filled_so_far[order_id] <= ordered[order_id]

    assert dict(filled_so_far) == ordered
    assert sum(filled_so_far.values()) == block.quantity


@given(children=st.lists(shares, min_size=1, max_size=8), fraction=st.fractions(0, 1))
def test_a_first_fill_is_the_same_whichever_function_splits_it(
    children: list[int], fraction: Fraction
) -> None:
    (block,) = make_blocks(
        [_order(f"o{i}", "XYZ", Side.SELL, q) for i, q in enumerate(children)], "blk"
    )
    filled = int(fraction * block.quantity)
    assert allocate_fill(block, filled) == allocate_fills(block, {}, filled)
