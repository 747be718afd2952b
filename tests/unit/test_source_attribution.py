"""A book's profit and loss split among the signal views that asked for its names, by hand."""

from datetime import date

import numpy as np
import pytest

from engine.performance.sources import NO_VIEW, TRADING, source_attribution
from engine.performance.targets import RecordedTarget

DAYS = [date(2024, 1, 2), date(2024, 1, 3)]
SYMBOLS = ["A", "B", "C"]


def _target(day: date, lineage: dict[str, dict[str, float]]) -> RecordedTarget:
    return RecordedTarget(day, {s: 0.1 for s in lineage}, lineage=lineage)


def test_each_names_profit_goes_to_its_views_and_the_rest_to_two_lines() -> None:
    # A: 3/4 momentum (1m), 1/4 reversion; B: all momentum (3m); C is held without a view.
    lineage = {"A": {"mom/1m": 0.75, "rev/1w": 0.25}, "B": {"mom/3m": 1.0}}
    weights = np.array([[0.4, 0.3, 0.1], [0.4, 0.3, 0.1]])
    returns = np.array([[0.05, -0.02, 0.01], [0.0, 0.10, -0.03]])
    nav_before = np.array([1_000_000.0, 1_020_000.0])
    # The NAV moved by a little more than the holdings earned: trading, costs and interest.
    portfolio = np.array([0.0150, 0.0275])
    result = source_attribution(
        weights, returns, nav_before, portfolio, SYMBOLS, DAYS, [_target(date(2024, 1, 1), lineage)]
    )
    views = result["views"]
    # A earns 0.4 x 5% x 1,000,000 = 20,000 on day one and nothing on day two.
    assert views["mom/1m"]["pnl_usd"] == pytest.approx(15_000.0)
    assert views["rev/1w"]["pnl_usd"] == pytest.approx(5_000.0)
    # B: 0.3 x -2% x 1,000,000 = -6,000, then 0.3 x 10% x 1,020,000 = 30,600.
    assert views["mom/3m"]["pnl_usd"] == pytest.approx(24_600.0)
    # C: 0.1 x 1% x 1,000,000 = 1,000, then 0.1 x -3% x 1,020,000 = -3,060.
    assert views[NO_VIEW]["pnl_usd"] == pytest.approx(-2_060.0)
    total = 0.0150 * 1_000_000 + 0.0275 * 1_020_000
    holdings = 20_000 - 6_000 + 1_000 + 30_600 - 3_060
    assert views[TRADING]["pnl_usd"] == pytest.approx(total - holdings)
    assert result["total_pnl_usd"] == pytest.approx(total)
    assert sum(v["pnl_usd"] for v in views.values()) == pytest.approx(total, abs=1e-6)
    # By source: momentum's two horizons together.
    assert result["sources"]["mom"]["pnl_usd"] == pytest.approx(39_600.0)
    # As returns, Carino-linked: the parts add up to the compounded return.
    period = 1.015 * 1.0275 - 1
    assert result["portfolio_return"] == pytest.approx(period)
    assert sum(v["contribution"] for v in views.values()) == pytest.approx(period, abs=1e-15)


def test_a_view_against_the_position_earns_the_opposite() -> None:
    # Momentum asked for 150% of A's score and reversion pulled against it (-50%).
    lineage = {"A": {"mom/1m": 1.5, "rev/1w": -0.5}}
    weights = np.array([[0.5, 0.0, 0.0]])
    returns = np.array([[0.04, 0.0, 0.0]])
    result = source_attribution(
        weights,
        returns,
        np.array([100.0]),
        np.array([0.02]),
        SYMBOLS,
        DAYS[:1],
        [_target(date(2024, 1, 1), lineage)],
    )
    assert result["views"]["mom/1m"]["pnl_usd"] == pytest.approx(3.0)
    assert result["views"]["rev/1w"]["pnl_usd"] == pytest.approx(-1.0)
    assert result["views"][NO_VIEW]["pnl_usd"] == pytest.approx(0.0, abs=1e-12)


def test_a_target_applies_from_the_day_after_its_close_and_rounding_is_residual() -> None:
    first = _target(date(2024, 1, 1), {"A": {"mom/1m": 1.0}})
    # Decided at the first day's close: the second day's book; its shares are rounded.
    second = _target(DAYS[0], {"A": {"rev/1w": 0.333333, "mom/1m": 0.666666}})
    weights = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    returns = np.array([[0.01, 0.0, 0.0], [0.02, 0.0, 0.0]])
    result = source_attribution(
        weights,
        returns,
        np.array([100.0, 101.0]),
        np.array([0.01, 0.02]),
        SYMBOLS,
        DAYS,
        [second, first],
    )
    views = result["views"]
    assert views["mom/1m"]["pnl_usd"] == pytest.approx(1.0 + 0.666666 * 2.02)
    assert views["rev/1w"]["pnl_usd"] == pytest.approx(0.333333 * 2.02)
    # What the six decimals leave: one millionth of the second day's 2.02.
    assert views[NO_VIEW]["pnl_usd"] == pytest.approx(0.000001 * 2.02, abs=1e-12)
    assert views[TRADING]["pnl_usd"] == pytest.approx(0.0, abs=1e-12)


def test_before_any_target_the_holdings_have_no_view() -> None:
    weights = np.array([[0.5, 0.5, 0.0]])
    returns = np.array([[0.02, 0.04, 0.0]])
    result = source_attribution(
        weights, returns, np.array([1000.0]), np.array([0.03]), SYMBOLS, DAYS[:1], []
    )
    assert list(result["views"]) == [NO_VIEW, TRADING]
    assert result["views"][NO_VIEW]["pnl_usd"] == pytest.approx(30.0)
