"""Risk models against independent references on the bundled real returns: numpy and pandas for
the sample and EWMA covariances, scikit-learn for Ledoit-Wolf shrinkage and the principal
components of the factor model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.covariance import LedoitWolf
from sklearn.decomposition import PCA

from engine.allocation.expected_returns import SignalToReturn
from engine.allocation.risk_models import (
    CovarianceEstimate,
    EwmaCovariance,
    LedoitWolfShrinkage,
    PcaFactorModel,
    SampleCovariance,
    make_risk_model,
)
from engine.market.data import load_bundled


@pytest.fixture(scope="module")
def returns() -> np.ndarray:
    """One year of daily simple returns of the 20 bundled stocks (2019), all with full history."""
    history = load_bundled(5e8)
    close = pd.DataFrame(history.close, index=pd.to_datetime(history.dates))
    daily = close.pct_change().loc["2019-01-01":"2019-12-31"]
    assert daily.notna().all().all()
    return daily.to_numpy()


def test_sample_covariance_is_the_unbiased_estimate(returns: np.ndarray) -> None:
    estimate = SampleCovariance().estimate(returns)
    np.testing.assert_allclose(estimate.covariance, pd.DataFrame(returns).cov().to_numpy())
    assert estimate.observations == len(returns)


@pytest.mark.parametrize("days", [10, 60, 250])
def test_ledoit_wolf_matches_scikit_learn(returns: np.ndarray, days: int) -> None:
    # 10 days of 20 stocks: more instruments than days, where shrinkage matters most.
    window = returns[-days:]
    ours = LedoitWolfShrinkage().estimate(window).covariance
    np.testing.assert_allclose(ours, LedoitWolf().fit(window).covariance_, rtol=1e-10)
    assert np.linalg.eigvalsh(ours).min() > 0  # well conditioned even when days < instruments


@pytest.mark.parametrize("halflife", [5.0, 21.0, 63.0])
def test_ewma_matches_pandas_exponentially_weighted_covariance(
    returns: np.ndarray, halflife: float
) -> None:
    frame = pd.DataFrame(returns)
    expected = frame.ewm(halflife=halflife, adjust=True).cov(bias=False).loc[len(frame) - 1]
    ours = EwmaCovariance(halflife).estimate(returns).covariance
    np.testing.assert_allclose(ours, expected.to_numpy(), rtol=1e-10)


def test_pca_factors_are_the_principal_components_and_keep_each_variance(
    returns: np.ndarray,
) -> None:
    estimate = PcaFactorModel(factors=3, specific_floor=0.0).estimate(returns)
    pca = PCA(n_components=3).fit(returns)
    expected_common = pca.components_.T @ np.diag(pca.explained_variance_) @ pca.components_
    common = estimate.exposures @ estimate.factor_covariance @ estimate.exposures.T
    np.testing.assert_allclose(common, expected_common, rtol=1e-8, atol=1e-14)
    sample = np.cov(returns, rowvar=False)
    np.testing.assert_allclose(np.diag(estimate.covariance), np.diag(sample), rtol=1e-10)
    assert estimate.exposures.shape == (20, 3) and estimate.specific_variance.min() > 0


def test_a_factor_model_with_every_factor_is_the_sample_covariance(returns: np.ndarray) -> None:
    # More factors than instruments: all 20 are kept and nothing is left to the specific part.
    estimate = PcaFactorModel(factors=50, specific_floor=0.0).estimate(returns)
    np.testing.assert_allclose(
        estimate.covariance, np.cov(returns, rowvar=False), rtol=1e-8, atol=1e-14
    )


def test_one_instrument_is_its_variance() -> None:
    series = np.array([[0.01], [-0.02], [0.015], [0.0]])
    for name in ("sample", "ledoit_wolf", "ewma", "pca"):
        covariance = make_risk_model(name, halflife_days=1e9).estimate(series).covariance
        assert covariance.shape == (1, 1)
    assert SampleCovariance().estimate(series).covariance[0, 0] == pytest.approx(
        np.var(series, ddof=1)
    )


def test_gaps_short_history_and_unknown_models_are_refused_with_reasons() -> None:
    with pytest.raises(ValueError, match=r"returns: 1 values are NaN or infinite, in .* \[1\]"):
        SampleCovariance().estimate(np.array([[0.01, np.nan], [0.02, 0.01], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="need at least 2 days, got 1"):
        LedoitWolfShrinkage().estimate(np.array([[0.01, 0.02]]))
    with pytest.raises(ValueError, match="'garch' is not one of sample, ledoit_wolf, ewma, pca"):
        make_risk_model("garch")
    with pytest.raises(ValueError, match="either a dense covariance or all three factor parts"):
        CovarianceEstimate("x", 1, exposures=np.eye(2))


def test_expected_return_is_ic_times_volatility_times_conviction() -> None:
    mapping = SignalToReturn(information_coefficient=0.1)
    mu = mapping.expected_returns(
        np.array([1.0, -0.5, 0.5]), np.array([1.0, 0.8, 0.0]), np.array([0.02, 0.01, 0.03])
    )
    # 0.1 * 0.02 * 1 * 1; 0.1 * 0.01 * -0.5 * 0.8; no confidence, no expected return.
    np.testing.assert_allclose(mu, [0.002, -0.0004, 0.0])
    with pytest.raises(ValueError, match="information_coefficient: 0 must be in"):
        SignalToReturn(0)
    with pytest.raises(ValueError, match="volatility: must be finite"):
        mapping.expected_returns(np.zeros(1), np.zeros(1), np.array([np.nan]))


def test_equal_returns_share_one_cached_estimate() -> None:
    from engine.allocation.risk_models import (
        LedoitWolfShrinkage,
        cached_estimate,
        trailing_returns,
        trailing_window,
    )

    prices = np.random.default_rng(9).uniform(10.0, 20.0, size=(31, 20))
    first = cached_estimate(LedoitWolfShrinkage(), trailing_window(prices, 30))
    assert cached_estimate(LedoitWolfShrinkage(), trailing_window(prices.copy(), 30)) is first
    changed = prices.copy()
    changed[3, 4] += 1e-9
    assert cached_estimate(LedoitWolfShrinkage(), trailing_window(changed, 30)) is not first
    returns, _ = trailing_returns(prices, 30)
    assert np.array_equal(first.covariance, LedoitWolfShrinkage().estimate(returns).covariance)


def test_a_read_only_window_gives_its_trailing_returns_once_and_a_column_keyed_estimate() -> None:
    from engine.allocation.risk_models import (
        LedoitWolfShrinkage,
        cached_estimate,
        trailing_returns,
        trailing_window,
    )

    prices = np.random.default_rng(4).uniform(10.0, 20.0, size=(40, 12))
    prices[-5, 3] = np.nan  # instrument 3 lacks a full history in the look-back
    window = prices.copy()
    window.flags.writeable = False
    first = trailing_window(window, 20)
    assert trailing_window(window, 20) is first  # the same window: not worked out again
    returns, complete = trailing_returns(prices, 20)
    assert np.array_equal(first.returns, returns, equal_nan=True)
    assert np.array_equal(first.complete, complete)
    assert not first.returns.flags.writeable
    assert trailing_window(window.copy(), 20) is not first  # another array, even if equal
    writable = prices.copy()
    assert trailing_window(writable, 20) is not trailing_window(writable, 20)

    # Keyed by the window's digest and the columns: equal inputs share one estimate, and it is
    # the estimate of those columns.
    columns = np.flatnonzero(first.complete)
    estimate = cached_estimate(LedoitWolfShrinkage(), first, columns)
    assert cached_estimate(LedoitWolfShrinkage(), trailing_window(window.copy(), 20), columns) is (
        estimate
    )
    assert cached_estimate(LedoitWolfShrinkage(), first, columns[1:]) is not estimate
    assert 3 not in columns
    # The estimator is given the columns in row-major order (a layout changes BLAS's last bits).
    alone = LedoitWolfShrinkage().estimate(np.ascontiguousarray(returns[:, columns]))
    assert np.array_equal(estimate.covariance, alone.covariance)


def test_a_factor_estimate_answers_without_its_dense_matrix_as_the_sample_would(
    returns: np.ndarray,
) -> None:
    # With the specific part floored away, the factor form's variances are the sample's
    # (the reference is numpy's covariance, not the estimate's own dense matrix).
    estimate = PcaFactorModel(factors=4, specific_floor=0.0).estimate(returns)
    sample = np.cov(returns, rowvar=False)
    np.testing.assert_allclose(estimate.volatility, np.sqrt(np.diag(sample)), rtol=1e-10)
    weights = np.linspace(-0.05, 0.1, returns.shape[1])
    dense = estimate.exposures @ estimate.factor_covariance @ estimate.exposures.T + np.diag(
        estimate.specific_variance
    )
    np.testing.assert_allclose(estimate.times(weights), dense @ weights, rtol=1e-10, atol=1e-16)
    assert estimate.variance(weights) == pytest.approx(weights @ dense @ weights, rel=1e-10)
    assert estimate.size == 20 and estimate.is_finite()
    nan = CovarianceEstimate("x", 2, dense=np.array([[1.0, np.nan], [np.nan, 1.0]]))
    assert not nan.is_finite()
