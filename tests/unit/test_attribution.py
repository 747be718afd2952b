"""Brinson-Fachler by sector with Carino linking, and the holdings-based sector inputs, against
a textbook example, hand-worked figures and an independent computation of the linking."""

import math

import numpy as np
import pandas as pd
import pytest

from engine.performance.attribution import brinson_fachler, carino_factor
from engine.performance.returns import basket_weights, price_returns, time_weighted_returns
from engine.performance.sectors import (
    CASH,
    align,
    basket_sectors,
    holding_weights,
    holdings_at_close,
    portfolio_sectors,
)

DAY = pd.DatetimeIndex(["2024-01-02"])


def _one_day(values: list[float], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([values], DAY, columns)


def test_bacons_three_sector_example() -> None:
    # Bacon, Practical Portfolio Performance Measurement and Attribution (2nd ed.), ch. 5:
    # portfolio 40/30/30 in UK/Japan/US returning 20%/-5%/6% (8.3%), benchmark 40/20/40
    # returning 10%/-4%/8% (6.4%). Brinson-Fachler: allocation 0, -1.04%, -0.16%; selection 4%,
    # -0.2%, -0.8%; interaction 0, -0.1%, 0.2%; 1.9% in all.
    sectors = ["UK", "Japan", "US"]
    result = brinson_fachler(
        _one_day([0.4, 0.3, 0.3], sectors),
        _one_day([0.20, -0.05, 0.06], sectors),
        _one_day([0.4, 0.2, 0.4], sectors),
        _one_day([0.10, -0.04, 0.08], sectors),
    )
    linked = result.linked
    assert linked["allocation"].tolist() == pytest.approx([0.0, -0.0104, -0.0016])
    assert linked["selection"].tolist() == pytest.approx([0.04, -0.002, -0.008])
    assert linked["interaction"].tolist() == pytest.approx([0.0, -0.001, 0.002])
    assert (result.portfolio_return, result.benchmark_return) == pytest.approx((0.083, 0.064))
    assert linked.to_numpy().sum() == pytest.approx(0.019, abs=1e-15)


def test_a_two_sector_example_worked_by_hand() -> None:
    # Portfolio 70% tech at 5%, 30% energy at -2% (2.9%); benchmark 50/50 at 4% and -1% (1.5%).
    # Allocation: tech 0.2 x (4% - 1.5%) = 0.5%, energy -0.2 x (-1% - 1.5%) = 0.5%.
    # Selection: 0.5 x 1% = 0.5%, 0.5 x -1% = -0.5%. Interaction: 0.2 x 1% = 0.2%,
    # -0.2 x -1% = 0.2%. In all 1.4% = 2.9% - 1.5%.
    sectors = ["Tech", "Energy"]
    result = brinson_fachler(
        _one_day([0.7, 0.3], sectors),
        _one_day([0.05, -0.02], sectors),
        _one_day([0.5, 0.5], sectors),
        _one_day([0.04, -0.01], sectors),
    )
    assert result.linked.loc["Tech"].tolist() == pytest.approx([0.005, 0.005, 0.002])
    assert result.linked.loc["Energy"].tolist() == pytest.approx([0.005, -0.005, 0.002])
    assert result.active_return == pytest.approx(0.014)


def _random_days(seed: int, days: int = 250) -> list[pd.DataFrame]:
    rng = np.random.default_rng(seed)
    sectors = ["A", "B", "C", "D"]
    index = pd.bdate_range("2023-01-02", periods=days)
    frames = []
    for _ in range(2):
        raw = rng.uniform(0.0, 1.0, (days, len(sectors)))
        raw[:, 3] = np.where(rng.uniform(size=days) < 0.3, 0.0, raw[:, 3])  # D often not held
        weights = pd.DataFrame(raw / raw.sum(axis=1, keepdims=True), index, sectors)
        returns = pd.DataFrame(rng.normal(0.0005, 0.015, (days, len(sectors))), index, sectors)
        frames += [weights, returns]
    return frames


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_effects_add_up_each_day_and_once_linked_over_the_period(seed: int) -> None:
    wp, rp, wb, rb = _random_days(seed)
    result = brinson_fachler(wp, rp, wb, rb)
    r_day = (wp * rp).sum(axis=1)
    b_day = (wb * rb).sum(axis=1)
    np.testing.assert_allclose(result.daily_active(), r_day - b_day, rtol=0, atol=1e-15)
    period_r = np.prod(1 + r_day) - 1
    period_b = np.prod(1 + b_day) - 1
    assert result.linked.to_numpy().sum() == pytest.approx(period_r - period_b, abs=1e-14)
    # Carino's scaling worked out here, day by day, from its definition.
    k = (math.log1p(period_r) - math.log1p(period_b)) / (period_r - period_b)
    scale = [
        (math.log1p(r) - math.log1p(b)) / (r - b) / k for r, b in zip(r_day, b_day, strict=True)
    ]
    allocation = result.daily["allocation"].mul(scale, axis=0).sum()
    np.testing.assert_allclose(result.linked["allocation"], allocation, rtol=1e-12)


def test_carino_factor_when_the_returns_are_equal() -> None:
    assert carino_factor(0.05, 0.05) == pytest.approx(1 / 1.05)
    assert carino_factor(0.1, 0.0) == pytest.approx(math.log(1.1) / 0.1)


def test_weights_that_do_not_sum_to_one_are_refused_with_the_day() -> None:
    wp, rp, wb, rb = _random_days(4, days=3)
    with pytest.raises(ValueError, match="benchmark_weights: the weights on 2023-01-0"):
        brinson_fachler(wp, rp, wb * 1.1, rb)
    with pytest.raises(ValueError, match="benchmark_returns: must have"):
        brinson_fachler(wp, rp, wb, rb.iloc[:2])


def test_holdings_give_the_sector_weights_and_the_book_return() -> None:
    days = pd.bdate_range("2024-01-01", periods=4)
    close = pd.DataFrame(
        {"X": [10.0, 11.0, 12.0, 12.0], "Y": [50.0, 50.0, 45.0, 54.0], "Z": [5.0] * 4}, days
    )
    sector_of = {"X": "Tech", "Y": "Energy", "Z": "Tech"}
    dates = days[1:]
    # 100 X and 20 Y bought at the first NAV date's close; the 20 Y sold at the next one.
    fills = pd.DataFrame(
        {"date": ["2024-01-02", "2024-01-02", "2024-01-03"], "symbol": ["X", "Y", "Y"]}
        | {"signed_shares": [100, 20, -20]}
    )
    carried, shares = holdings_at_close(fills, dates, ["X", "Y", "Z"])
    assert carried.tolist() == [0, 0, 0]
    assert shares.to_numpy().tolist() == [[100, 20, 0], [100, 0, 0], [100, 0, 0]]
    # NAVs of a book trading at the closes with no cost: cash 10,000 -> 10,000 - 1,100 - 1,000.
    nav = pd.Series([10_000.0, 10_000 + 100 + 20 * -5, 10_000 + 100 - 100], dates)
    symbols = ["X", "Y", "Z"]
    held = holding_weights(carried, shares, close, nav, 10_000.0)
    frames = portfolio_sectors(*held, dates, symbols, sector_of)
    # Day 1: all cash. Day 2: X 1,100 and Y 1,000 of 10,000. Day 3: X 1,200 of 10,000.
    assert frames.weights.loc[dates[1]].to_dict() == pytest.approx(
        {"Energy": 0.1, "Tech": 0.11, CASH: 0.79}
    )
    assert frames.returns.loc[dates[1], "Tech"] == pytest.approx(1 / 11)
    assert frames.returns.loc[dates[1], "Energy"] == pytest.approx(-0.1)
    assert math.isnan(frames.returns.loc[dates[2], "Energy"])
    np.testing.assert_allclose(
        frames.total_return(), time_weighted_returns(nav, 10_000.0), atol=1e-15
    )
    # From the second date on: the first date's fills are carried in, its NAV the opening.
    carried, later = holdings_at_close(fills, dates[1:], ["X", "Y", "Z"])
    assert carried.tolist() == [100, 20, 0]
    assert later.to_numpy().tolist() == [[100, 0, 0], [100, 0, 0]]
    held = holding_weights(carried, later, close, nav[1:], float(nav.iloc[0]))
    part = portfolio_sectors(*held, dates[1:], symbols, sector_of)
    pd.testing.assert_frame_equal(part.weights, frames.weights.iloc[1:])


def test_a_basket_by_sector_and_aligned_with_a_book() -> None:
    days = pd.bdate_range("2024-01-01", periods=3)
    close = pd.DataFrame({"X": [10.0, 11.0, 11.0], "Y": [20.0, 19.0, 20.9]}, days)
    weights, returns = basket_weights(price_returns(close, days[1:]), {"X": 0.5, "Y": 0.5})
    basket = basket_sectors(weights, returns, {"X": "Tech", "Y": "Energy"})
    assert basket.total_return().tolist() == pytest.approx([0.025, 0.05])
    held = holding_weights(
        pd.Series({"X": 0}),
        pd.DataFrame({"X": [0, 0]}, days[1:]),
        close,
        pd.Series([100.0, 100.0], days[1:]),
        100.0,
    )
    book = portfolio_sectors(*held, days[1:], ["X"], {"X": "Tech"})
    book, basket = align(book, basket)
    assert list(book.weights.columns) == ["Energy", "Tech", CASH]
    assert list(basket.weights.columns) == ["Energy", "Tech", CASH]
    assert basket.weights[CASH].tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="fill dates are not in the NAV's"):
        holdings_at_close(
            pd.DataFrame({"date": ["2024-01-02 12:00"], "symbol": ["X"], "signed_shares": [1]}),
            days,
            ["X"],
        )


def test_a_hedged_sectors_long_and_short_legs_are_measured_apart() -> None:
    days = pd.bdate_range("2024-01-01", periods=3)
    close = pd.DataFrame(
        {"X": [10.0, 11.0, 11.0], "Z": [20.0, 19.0, 19.0], "Y": [5.0, 5.0, 5.5]}, days
    )
    sector_of = {"X": "Tech", "Z": "Tech", "Y": "Energy"}
    dates = days[1:]
    # Long 1,000 of X and short 500 of Z: Tech nets to zero at the start of the first day.
    carried = pd.Series({"X": 100, "Z": -50, "Y": 0})
    shares = pd.DataFrame({"X": [100, 100], "Z": [-50, -50], "Y": [0, 0]}, dates)
    nav = pd.Series([10_000.0 + 100 + 50, 10_150.0], dates)
    held = holding_weights(carried, shares, close, nav, 10_000.0)
    book = portfolio_sectors(*held, dates, ["X", "Z", "Y"], sector_of)
    assert book.weights.loc[dates[0]].to_dict() == pytest.approx(
        {"Energy": 0.0, "Tech": 0.1, "Tech (short)": -0.1, CASH: 1.0}
    )
    # Each leg earns its own names' return: X +10%, Z -5% (the short gains on it).
    assert book.returns.loc[dates[0], "Tech"] == pytest.approx(0.1)
    assert book.returns.loc[dates[0], "Tech (short)"] == pytest.approx(-0.05)
    weights, returns = basket_weights(price_returns(close, dates), {s: 1 / 3 for s in close})
    book, basket = align(book, basket_sectors(weights, returns, sector_of))
    assert list(basket.weights.columns) == ["Energy", "Tech", "Tech (short)", CASH]
    # The short leg is measured against its sector's benchmark return.
    pd.testing.assert_series_equal(
        basket.returns["Tech (short)"], basket.returns["Tech"], check_names=False
    )
    result = brinson_fachler(book.weights, book.returns, basket.weights, basket.returns.fillna(0))
    np.testing.assert_allclose(
        result.daily_active(),
        book.total_return() - basket.total_return(),
        atol=1e-15,
    )
    # Day one, short leg: allocation -0.1 x (Tech's 2.5% - the basket's 1.67%), interaction
    # -0.1 x (-5% - 2.5%): no selection, as the benchmark holds no short leg.
    short = {
        e: result.daily[e].loc[dates[0], "Tech (short)"]
        for e in ("allocation", "selection", "interaction")
    }
    assert short["allocation"] == pytest.approx(-0.1 * (0.025 - 0.05 / 3))
    assert short["selection"] == 0.0
    assert short["interaction"] == pytest.approx(-0.1 * (-0.05 - 0.025))
