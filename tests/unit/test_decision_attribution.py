"""What each decision after the allocator gained or cost: paper books checked against books of
shares bought at a close and valued day by day, and the lines against their definitions."""

from datetime import date

import numpy as np
import pytest

from engine.performance.decisions import (
    ALLOCATOR,
    EXECUTION,
    GATE,
    LIMITS,
    OVERRIDES,
    ROUNDING,
    SCALING,
    TRADING,
    decision_attribution,
    paper_returns,
)
from engine.performance.targets import RecordedTarget, in_force

SYMBOLS = ["A", "B", "C"]
DAYS = [date(2024, 1, d) for d in (2, 3, 4, 5)]
# Closes from the rebalance's close (the first row) to each day's.
CLOSES = np.array(
    [
        [100.0, 50.0, 20.0],
        [102.0, 49.0, 20.5],
        [99.0, 51.5, 21.0],
        [101.0, 52.0, 19.5],
        [104.0, 50.5, 19.0],
    ]
)
RETURNS = CLOSES[1:] / CLOSES[:-1] - 1


def _book_of_shares(weights: np.ndarray) -> np.ndarray:
    """A book of 1,000,000 bought at the first close (cash the rest), valued at each close."""
    shares = weights * 1_000_000 / CLOSES[0]
    cash = 1_000_000 * (1 - weights.sum())
    values = CLOSES @ shares + cash
    return values[1:] / values[:-1] - 1


@pytest.mark.parametrize(
    "weights", [np.array([0.5, 0.3, 0.1]), np.array([0.6, -0.2, 0.3]), np.zeros(3)]
)
def test_a_paper_book_earns_what_a_book_of_shares_does(weights: np.ndarray) -> None:
    total, part = paper_returns(weights, RETURNS, np.array([False, True, False]))
    np.testing.assert_allclose(total, _book_of_shares(weights), rtol=0, atol=1e-14)
    # B's part: what B alone earned, over the whole book's value before the day.
    shares = weights * 1_000_000 / CLOSES[0]
    values = CLOSES @ shares + 1_000_000 * (1 - weights.sum())
    b_earned = np.diff(CLOSES[:, 1]) * shares[1]
    np.testing.assert_allclose(part, b_earned / values[:-1], rtol=0, atol=1e-14)


def test_each_decision_is_the_difference_between_two_books() -> None:
    # The allocator wanted 50% A and 40% B (B pinned by a manager); the risk budget scaled it by
    # 0.8, and whole shares made it 40% A and 31% B.
    # The risk gate then withheld a tenth of A's buy: 4% of NAV.
    target = RecordedTarget(
        date(2024, 1, 1),
        {"A": 0.40, "B": 0.31},
        {"A": 0.5, "B": 0.4},
        0.8,
        pinned={"B": 0.4},
        gate_withheld={"A": 0.04},
    )
    # The book actually held, and the NAV's return: made up, as a real run would give them.
    held = np.tile([0.38, 0.30, 0.02], (4, 1))
    holdings = (held * RETURNS).sum(axis=1)
    portfolio = holdings - 0.0004
    # Without the limits the model would have held 30% of C too (and 35% of A).
    unconstrained = {target.market_date: np.array([0.35, 0.4, 0.3])}
    result = decision_attribution(held, RETURNS, portfolio, SYMBOLS, DAYS, [target], unconstrained)
    reference = _book_of_shares(np.array([0.35, 0.4, 0.3]))
    allocator = _book_of_shares(np.array([0.5, 0.4, 0.0]))
    scaled = _book_of_shares(np.array([0.4, 0.32, 0.0]))
    rounded = _book_of_shares(np.array([0.40, 0.31, 0.0]))
    gated = _book_of_shares(np.array([0.36, 0.31, 0.0]))
    shares_b = 0.4 * 1_000_000 / CLOSES[0, 1]
    values = CLOSES @ (np.array([0.35, 0.4, 0.3]) * 1_000_000 / CLOSES[0]) - 50_000
    pinned = np.diff(CLOSES[:, 1]) * shares_b / values[:-1]
    daily = {
        ALLOCATOR: reference - pinned,
        OVERRIDES: pinned,
        LIMITS: allocator - reference,
        SCALING: scaled - allocator,
        ROUNDING: rounded - scaled,
        GATE: gated - rounded,
        EXECUTION: holdings - gated,
        TRADING: portfolio - holdings,
    }
    period = float(np.prod(1 + portfolio) - 1)
    k = np.log1p(portfolio) / portfolio / (np.log1p(period) / period)
    for name, line in daily.items():
        assert result["decisions"][name] == pytest.approx(float((line * k).sum()), abs=1e-15)
    assert sum(result["decisions"].values()) == pytest.approx(period, abs=1e-15)
    # The tracking error to the target: the portfolio's daily return less the target book's.
    assert result["tracking_error_to_target_annual"] == pytest.approx(
        float(np.std(portfolio - rounded, ddof=1) * np.sqrt(252)), rel=1e-12
    )
    returns = result["returns"]
    assert returns["unconstrained"] == pytest.approx(np.prod(1 + reference) - 1, abs=1e-14)
    assert returns["allocator"] == pytest.approx(np.prod(1 + allocator) - 1, abs=1e-14)
    assert returns["target"] == pytest.approx(np.prod(1 + rounded) - 1, abs=1e-14)
    assert returns["portfolio"] == pytest.approx(period, abs=1e-15)


def test_before_the_first_target_the_paper_books_are_the_book() -> None:
    held = np.zeros((4, 3))  # all cash: the holdings earn nothing
    portfolio = np.full(4, 0.0001)  # interest on the cash
    # The only target is decided at the last day's close: no day was built for it.
    late = RecordedTarget(DAYS[-1], {"A": 1.0}, {"A": 1.0})
    result = decision_attribution(held, RETURNS, portfolio, SYMBOLS, DAYS, [late])
    decisions = result["decisions"]
    for name in (ALLOCATOR, OVERRIDES, LIMITS, SCALING, ROUNDING, GATE, EXECUTION):
        assert decisions[name] == pytest.approx(0.0, abs=1e-15)
    # All of the return, whichever the linking: the one line left.
    assert decisions[TRADING] == pytest.approx(float(np.prod(1 + portfolio) - 1), abs=1e-15)


def test_a_range_keeps_the_target_its_first_day_was_built_for_and_the_later_ones() -> None:
    targets = [RecordedTarget(date(2024, 1, d), {"A": 0.1}) for d in (1, 2, 4, 5)]
    # The book of the 4th was built at the close of the 2nd; the 4th's own target is later.
    kept = in_force(targets, date(2024, 1, 4))
    assert [t.market_date.day for t in kept] == [2, 4, 5]
    assert in_force(targets, date(2024, 1, 1)) == targets
    assert in_force(targets, None) == targets
