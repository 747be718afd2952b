"""The holdings' return by statistical factor and specific, against least squares and
scikit-learn's PCA on the same windows, and a one-factor world worked out exactly."""

import numpy as np
import pytest
from sklearn.decomposition import PCA

from engine.performance.factors import factor_attribution


def _world(seed: int, days: int = 200, names: int = 12) -> np.ndarray:
    rng = np.random.default_rng(seed)
    market = rng.normal(0.0004, 0.01, days)
    betas = rng.uniform(0.5, 1.5, names)
    return market[:, None] * betas + rng.normal(0, 0.006, (days, names))


def test_the_parts_add_up_each_day_and_over_the_period() -> None:
    history = _world(1)
    rng = np.random.default_rng(2)
    window, first, days = 60, 100, 100
    weights = rng.uniform(-0.05, 0.15, (days, 12))
    result = factor_attribution(weights, history[first:], history, first, window, factors=3)
    book = (weights * history[first:]).sum(axis=1)
    np.testing.assert_allclose(
        result.factor_daily.sum(axis=1) + result.specific_daily, book, rtol=0, atol=1e-15
    )
    period = np.prod(1 + book) - 1
    assert result.holdings_return == pytest.approx(period, rel=1e-12)
    parts = result.factor_linked.sum() + result.specific_linked
    assert parts == pytest.approx(period, abs=1e-14)


def test_factor_returns_are_the_least_squares_fit_on_scikit_learns_components() -> None:
    history = _world(3)
    window, first = 80, 120
    weights = np.full((1, 12), 1 / 12)
    result = factor_attribution(weights, history[first : first + 1], history, first, window, 4)
    # The same window through scikit-learn: its components are the factors (up to sign).
    pca = PCA(n_components=4).fit(history[first - window : first])
    loadings = pca.components_.T
    fitted, *_ = np.linalg.lstsq(loadings, history[first], rcond=None)
    exposure = loadings.T @ weights[0]
    np.testing.assert_allclose(result.factor_daily[0], exposure * fitted, rtol=1e-8, atol=1e-15)


def test_in_a_one_factor_world_nothing_is_specific() -> None:
    rng = np.random.default_rng(4)
    market = rng.normal(0.0005, 0.012, 150)
    history = market[:, None] * rng.uniform(0.3, 1.7, 8)
    weights = rng.uniform(0, 0.2, (50, 8))
    result = factor_attribution(weights, history[100:], history, 100, 60, factors=1)
    np.testing.assert_allclose(result.specific_daily, 0.0, atol=1e-15)
    assert result.specific_linked == pytest.approx(0.0, abs=1e-13)


def test_a_name_without_a_full_window_is_all_specific() -> None:
    history = _world(5, names=6)
    history[90:100, 5] = np.nan  # no prices in the window before day 100
    weights = np.zeros((1, 6))
    weights[0, 5] = 1.0
    result = factor_attribution(weights, history[100:101], history, 100, 50, factors=2)
    assert result.factor_daily[0].tolist() == [0.0, 0.0]
    assert result.specific_daily[0] == pytest.approx(history[100, 5])
    with pytest.raises(ValueError, match="window: 50 days before the first day"):
        factor_attribution(weights, history[10:11], history, 10, 50)
