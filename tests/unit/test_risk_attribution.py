"""Euler attribution against independent references: central finite differences of the risk
measure itself, hand-picked tail days on a tiny scenario set, directional derivatives along a
sleeve's contribution, and skfolio's (finite-difference) risk contributions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import norm
from skfolio import Portfolio, RiskMeasure

from engine.risk.attribution import (
    by_group,
    by_sleeve,
    historical_cvar_attribution,
    historical_var_attribution,
    holding_attribution,
    parametric_cvar_attribution,
    parametric_var_attribution,
    volatility_attribution,
)
from engine.risk.metrics import historical_var_cvar

WEIGHTS = np.array([0.35, 0.25, 0.2, 0.3, -0.15])
SECTORS = ("tech", "energy", "tech", "health", "energy")


def _returns(days: int = 500, seed: int = 11) -> np.ndarray:
    rng = np.random.default_rng(seed)
    market = rng.normal(0, 0.01, (days, 1))
    betas = np.array([1.2, 0.8, 1.0, 0.6, 1.1])
    return market * betas + rng.normal(0, 0.008, (days, len(betas)))


def _gradient(measure, weights: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Central finite differences of ``measure`` at ``weights``."""
    gradient = np.zeros_like(weights)
    for i in range(len(weights)):
        bump = np.zeros_like(weights)
        bump[i] = step
        gradient[i] = (measure(weights + bump) - measure(weights - bump)) / (2 * step)
    return gradient


def test_volatility_marginals_are_the_gradient_of_sigma_and_components_add_up() -> None:
    covariance = np.cov(_returns(), rowvar=False)

    def sigma(w: np.ndarray) -> float:
        return float(np.sqrt(w @ covariance @ w))

    attribution = volatility_attribution(WEIGHTS, covariance)
    assert attribution.total == pytest.approx(sigma(WEIGHTS), rel=1e-12)
    np.testing.assert_allclose(attribution.marginal, _gradient(sigma, WEIGHTS), rtol=1e-6)
    assert attribution.component.sum() == pytest.approx(attribution.total, rel=1e-12)
    assert attribution.share.sum() == pytest.approx(1.0)
    assert attribution.component[4] < 0  # the short hedges the long book


@pytest.mark.parametrize("level", [0.95, 0.99])
def test_parametric_var_and_cvar_marginals_are_finite_difference_gradients(level: float) -> None:
    covariance = np.cov(_returns(), rowvar=False)

    def var(w: np.ndarray) -> float:
        return float(norm.ppf(level) * np.sqrt(w @ covariance @ w))

    def cvar(w: np.ndarray) -> float:
        return float(np.sqrt(w @ covariance @ w) * norm.pdf(norm.ppf(level)) / (1 - level))

    for attribution, measure in (
        (parametric_var_attribution(WEIGHTS, covariance, level), var),
        (parametric_cvar_attribution(WEIGHTS, covariance, level), cvar),
    ):
        assert attribution.total == pytest.approx(measure(WEIGHTS), rel=1e-9)
        np.testing.assert_allclose(attribution.marginal, _gradient(measure, WEIGHTS), rtol=1e-6)
        assert attribution.component.sum() == pytest.approx(attribution.total, rel=1e-12)


def test_historical_cvar_components_are_the_tail_days_by_hand() -> None:
    scenarios = np.array(
        [
            [0.010, 0.000, -0.005],
            [-0.030, -0.010, 0.020],  # portfolio -0.0220: second worst
            [0.020, 0.010, 0.000],
            [-0.005, 0.000, 0.010],
            [0.000, 0.005, 0.000],
            [-0.040, -0.020, -0.010],  # portfolio -0.0240: worst
            [0.015, 0.000, 0.010],
            [-0.010, -0.005, 0.000],  # portfolio -0.0065: third worst
            [0.005, 0.010, 0.005],
            [0.000, -0.002, 0.001],
        ]
    )
    weights = np.array([0.5, 0.3, -0.2])
    attribution = historical_cvar_attribution(weights, scenarios, 0.8)
    # The 20% quantile of ten days sits 1.8 positions up the sorted list, between the second and
    # third worst days, so the tail is the two worst days (rows 5 and 1).
    tail = scenarios[[5, 1]]
    expected = np.mean(-weights * tail, axis=0)
    np.testing.assert_allclose(attribution.component, expected, rtol=1e-12)
    assert attribution.total == pytest.approx((0.0240 + 0.0220) / 2, rel=1e-12)
    assert attribution.total == pytest.approx(historical_var_cvar(scenarios @ weights, 0.8)[1])
    assert attribution.component.sum() == pytest.approx(attribution.total, rel=1e-12)


@pytest.mark.parametrize("level", [0.95, 0.99])
def test_historical_var_and_cvar_marginals_are_finite_difference_gradients(level: float) -> None:
    scenarios = _returns()

    def var(w: np.ndarray) -> float:
        return historical_var_cvar(scenarios @ w, level)[0]

    def cvar(w: np.ndarray) -> float:
        return historical_var_cvar(scenarios @ w, level)[1]

    for attribution, measure in (
        (historical_var_attribution(WEIGHTS, scenarios, level), var),
        (historical_cvar_attribution(WEIGHTS, scenarios, level), cvar),
    ):
        assert attribution.total == pytest.approx(measure(WEIGHTS), rel=1e-12)
        # The tail and the quantile days do not change under a 1e-7 bump: exact derivatives.
        np.testing.assert_allclose(
            attribution.marginal, _gradient(measure, WEIGHTS, 1e-7), rtol=1e-6, atol=1e-9
        )
        assert attribution.component.sum() == pytest.approx(attribution.total, rel=1e-12)


def test_sector_and_sleeve_groups_sum_to_the_total() -> None:
    covariance = np.cov(_returns(), rowvar=False)
    capital = np.array([0.5, 0.3, 0.2])
    sleeve_weights = np.array(
        [
            [0.4, 0.3, 0.2, 0.1, 0.0],
            [0.0, 0.0, 0.5, 0.5, -0.3],
            [0.2, 0.2, -0.1, 0.3, 0.0],
        ]
    )
    contributions = capital[:, None] * sleeve_weights
    weights = contributions.sum(axis=0)
    attribution = volatility_attribution(weights, covariance)

    sectors = by_group(attribution.component, SECTORS)
    assert list(sectors) == ["tech", "energy", "health"]
    assert sectors["tech"] == pytest.approx(attribution.component[[0, 2]].sum())
    assert sum(sectors.values()) == pytest.approx(attribution.total, rel=1e-12)

    sleeves = by_sleeve(contributions, attribution.marginal)
    assert sleeves.sum() == pytest.approx(attribution.total, rel=1e-12)

    # Independently: a sleeve's component is the rate at which sigma grows when that sleeve's
    # whole contribution is scaled up, d/dt sigma(w + t c_s w_s) at t = 0.
    def sigma(w: np.ndarray) -> float:
        return float(np.sqrt(w @ covariance @ w))

    step = 1e-6
    for s, contribution in enumerate(contributions):
        derivative = (
            sigma(weights + step * contribution) - sigma(weights - step * contribution)
        ) / (2 * step)
        assert sleeves[s] == pytest.approx(derivative, rel=1e-6)


def test_zero_risk_portfolios_attribute_zeros_without_warnings() -> None:
    covariance = np.cov(_returns(), rowvar=False)
    scenarios = _returns()
    flat = np.zeros(5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results = [
            volatility_attribution(flat, covariance),
            parametric_var_attribution(flat, covariance, 0.99),
            parametric_cvar_attribution(flat, covariance, 0.95),
            historical_var_attribution(flat, scenarios, 0.99),
            historical_cvar_attribution(flat, scenarios, 0.95),
            volatility_attribution(WEIGHTS, np.zeros((5, 5))),
        ]
        for attribution in results:
            assert attribution.total == 0.0
            assert not np.any(attribution.marginal)
            assert not np.any(attribution.component)
            assert not np.any(attribution.share)


def test_mismatched_inputs_are_rejected_with_the_field_named() -> None:
    covariance = np.eye(5)
    with pytest.raises(ValueError, match="covariance"):
        volatility_attribution(WEIGHTS, np.eye(4))
    with pytest.raises(ValueError, match="level"):
        parametric_var_attribution(WEIGHTS, covariance, 99)
    with pytest.raises(ValueError, match="scenarios"):
        historical_cvar_attribution(WEIGHTS, np.zeros((10, 4)), 0.95)
    with pytest.raises(ValueError, match="labels"):
        by_group(np.ones(5), ("tech",))


def test_volatility_and_cvar_contributions_match_skfolio() -> None:
    returns = _returns(days=400)  # 400 x 5% = 20 tail days: skfolio's and numpy's tails agree
    weights = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
    portfolio = Portfolio(X=returns, weights=weights, cvar_beta=0.95)

    volatility = volatility_attribution(weights, np.cov(returns, rowvar=False))
    assert volatility.total == pytest.approx(portfolio.standard_deviation, rel=1e-10)
    np.testing.assert_allclose(
        volatility.component, portfolio.contribution(RiskMeasure.STANDARD_DEVIATION), rtol=1e-6
    )

    cvar = historical_cvar_attribution(weights, returns, 0.95)
    assert cvar.total == pytest.approx(portfolio.cvar, rel=1e-10)
    np.testing.assert_allclose(
        cvar.component, portfolio.contribution(RiskMeasure.CVAR), rtol=1e-6, atol=1e-12
    )


def test_holding_attribution_from_sigma_w_equals_the_attributions_from_the_matrix() -> None:
    returns = _returns(120)
    covariance = np.cov(returns, rowvar=False)
    weights = WEIGHTS.copy()
    weights[2] = 0.0  # not held: no row
    product = (returns - returns.mean(axis=0)).T @ ((returns - returns.mean(axis=0)) @ weights)
    rows = holding_attribution(
        weights, np.full((5, 5), np.nan), returns, covariance_times_weights=product / 119
    )
    vol = volatility_attribution(weights, covariance)
    var = parametric_var_attribution(weights, covariance, 0.99)
    cvar = historical_cvar_attribution(weights, returns, 0.99)
    assert sorted(h.index for h in rows) == [0, 1, 3, 4]
    assert [h.index for h in rows] == sorted([0, 1, 3, 4], key=lambda k: -abs(var.component[k]))
    annual = np.sqrt(252)
    for h in rows:
        k = h.index
        assert h.weight == weights[k]
        assert h.marginal_volatility == pytest.approx(vol.marginal[k] * annual, rel=1e-10)
        assert h.component_volatility == pytest.approx(vol.component[k] * annual, rel=1e-10)
        assert h.marginal_var_99 == pytest.approx(var.marginal[k], rel=1e-10)
        assert h.component_var_99 == pytest.approx(var.component[k], rel=1e-10)
        assert h.component_cvar_99_historical == cvar.component[k]
