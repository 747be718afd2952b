"""Built-in signal sources, checked against pandas computations of their formulas."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from engine.signals.sources import MeanReversionSource, MomentumSource

DAY = date(2024, 1, 2)


def _random_walk(days: int, n: int, drift: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100 * np.exp(np.cumsum(rng.normal(drift, 0.01, (days, n)), axis=0))


def test_momentum_matches_a_pandas_computation_of_the_formula_at_each_horizon() -> None:
    prices = _random_walk(300, 4, 0.0005)
    source = MomentumSource((21, 63, 126, 252), skip_days=5)
    batches = source.generate(prices, DAY)

    frame = pd.DataFrame(prices)
    window = frame.iloc[-253:]
    sigma = np.log(window).diff().std()  # pandas: sample standard deviation
    assert [b.horizon for b in batches] == ["1m", "3m", "6m", "12m"]
    for batch, h in zip(batches, (21, 63, 126, 252), strict=True):
        z = (np.log(frame.iloc[-6] / frame.iloc[-1 - h]) / (sigma * np.sqrt(h - 5))).to_numpy()
        np.testing.assert_allclose(batch.score, np.tanh(z), rtol=1e-12)
        np.testing.assert_allclose(batch.confidence, np.minimum(1.0, np.abs(z) / 2), rtol=1e-12)
        assert batch.source == "momentum" and batch.key == f"momentum/{batch.horizon}"


def test_momentum_a_strong_trend_is_a_full_confidence_view_at_every_horizon() -> None:
    rising = (
        100
        * np.exp(np.linspace(0, 0.5, 300))[:, None]
        * (1 + 0.001 * np.sin(np.arange(300)))[:, None]
    )
    batches = MomentumSource((21, 63, 126, 252)).generate(np.hstack([rising, rising[::-1]]), DAY)
    for batch in batches:
        assert batch.score[0] > 0.5 and batch.score[1] < -0.5
        np.testing.assert_array_equal(batch.confidence, [1.0, 1.0])


def test_instrument_without_history_has_no_view() -> None:
    prices = _random_walk(300, 2, 0.0)
    prices[-40:-30, 1] = np.nan  # a suspension inside every source's window
    for source in (MomentumSource((21, 252)), MeanReversionSource()):
        for batch in source.generate(prices, DAY):
            assert batch.confidence[1] == 0 and batch.score[1] == 0
            assert batch.confidence[0] > 0


def test_short_history_is_refused_with_the_number_of_days_needed() -> None:
    with pytest.raises(ValueError, match="needs 253 days of prices, got 100"):
        MomentumSource((21, 252)).generate(_random_walk(100, 2, 0.0), DAY)


def test_mean_reversion_buys_a_two_sigma_drop_with_full_confidence() -> None:
    rng = np.random.default_rng(1)
    returns = rng.normal(0.0, 0.01, 70)
    prices = 100 * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))
    sigma = np.std(np.diff(np.log(prices[-64:])), ddof=1) * np.sqrt(5)
    prices_after_drop = np.append(prices, prices[-5] * np.exp(-2.5 * sigma))
    (batch,) = MeanReversionSource((5,), 63).generate(prices_after_drop[:, None], DAY)
    assert batch.horizon == "1w"
    daily = np.diff(np.log(prices_after_drop[-64:]))
    z = np.log(prices_after_drop[-1] / prices_after_drop[-6]) / (np.std(daily, ddof=1) * np.sqrt(5))
    assert batch.score[0] == pytest.approx(-np.tanh(z))
    assert batch.score[0] > 0.9
    assert batch.confidence[0] == pytest.approx(min(1.0, abs(z) / 2))


def test_mean_reversion_gives_one_view_per_look_back_as_pandas_computes_it() -> None:
    prices = _random_walk(120, 3, 0.0)
    batches = MeanReversionSource((5, 21), volatility_days=63).generate(prices, DAY)
    frame = pd.DataFrame(prices)
    sigma = np.log(frame.iloc[-64:]).diff().std()
    assert [b.horizon for b in batches] == ["1w", "1m"]
    for batch, lookback in zip(batches, (5, 21), strict=True):
        z = np.log(frame.iloc[-1] / frame.iloc[-1 - lookback]) / (sigma * np.sqrt(lookback))
        np.testing.assert_allclose(batch.score, -np.tanh(z.to_numpy()), rtol=1e-12)
        np.testing.assert_allclose(batch.confidence, np.minimum(1, np.abs(z.to_numpy()) / 2))
