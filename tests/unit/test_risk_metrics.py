"""Risk figures against direct computations: scipy's normal distribution for the parametric VaR
and CVaR, a hand-sorted tail for the historical ones, and Euler's shares adding up."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from engine.allocation.risk_models import ScenarioRisk, scenario_risk
from engine.risk.metrics import (
    drawdown_basis,
    drawdowns,
    historical_var_cvar,
    parametric_var_cvar,
    risk_figures,
    trailing_drawdowns,
)


@pytest.mark.parametrize("level", [0.95, 0.99])
def test_parametric_var_and_cvar_are_the_normal_formulas(level: float) -> None:
    var, cvar = parametric_var_cvar(0.02, level)
    assert var == pytest.approx(norm.ppf(level) * 0.02, rel=1e-12)
    # CVaR of a normal: the mean of the tail beyond VaR, computed here by integration.
    grid = np.linspace(norm.ppf(level), 12, 200_001)
    tail_mean = np.trapezoid(grid * norm.pdf(grid), grid) / (1 - level)
    assert cvar == pytest.approx(0.02 * tail_mean, rel=1e-6)


def test_historical_var_and_cvar_are_the_empirical_quantile_and_tail_mean() -> None:
    returns = np.array([0.01, -0.04, 0.02, -0.01, 0.0, -0.06, 0.03, -0.02, 0.015, -0.005])
    var, cvar = historical_var_cvar(returns, 0.8)
    ordered = sorted(returns)  # -0.06, -0.04, -0.02, -0.01, ...
    # The 20% quantile with linear interpolation: position 0.2 * 9 = 1.8 between -0.04, -0.02.
    cutoff = ordered[1] + 0.8 * (ordered[2] - ordered[1])
    assert var == pytest.approx(-cutoff)
    assert cvar == pytest.approx(-np.mean([r for r in returns if r <= cutoff]))
    assert cvar >= var


def test_euler_shares_of_var_add_up_and_hedges_are_negative() -> None:
    rng = np.random.default_rng(3)
    returns = rng.normal(0, 0.01, (250, 4)) + rng.normal(0, 0.01, (250, 1))
    covariance = np.cov(returns, rowvar=False)
    weights = np.array([0.4, 0.3, 0.3, -0.2])
    figures = risk_figures(weights, returns, covariance)
    assert figures.contributions.sum() == pytest.approx(1.0)
    assert figures.contributions[3] < 0  # the short hedges the longs
    sigma = np.sqrt(weights @ covariance @ weights)
    assert figures.var_parametric[0.99] == pytest.approx(norm.ppf(0.99) * sigma)
    assert figures.volatility_annual == pytest.approx(sigma * np.sqrt(252))
    assert figures.gross_exposure == pytest.approx(1.2)
    assert figures.net_exposure == pytest.approx(0.8)
    var_h, cvar_h = historical_var_cvar(returns @ weights, 0.99)
    assert figures.var_historical[0.99] == var_h and figures.cvar_historical[0.99] == cvar_h


def test_drawdown_is_pinned_to_a_hand_computed_nav_series() -> None:
    # NAV 100, 120, 90, 95, 130, 117: the peak is 130, the latest close 117 -> 10% below it;
    # the deepest fall is from 120 to 90 -> 25%.
    nav = np.array([100, 120, 90, 95, 130, 117])

    whole = trailing_drawdowns(nav, window_days=5)
    assert (whole.current, whole.maximum, whole.window_days) == (
        pytest.approx(0.10),
        pytest.approx(0.25),
        5,
    )
    # A window of two trading days sees 95, 130, 117 only: the fall from 120 is out of it.
    recent = trailing_drawdowns(nav, window_days=2)
    assert (recent.current, recent.maximum) == (pytest.approx(0.10), pytest.approx(0.10))
    # A book flat in cash for longer than the window has come out of an old drawdown.
    flat = trailing_drawdowns(np.array([100, 50, 50, 50, 50]), window_days=3)
    assert (flat.current, flat.maximum) == (0.0, 0.0)
    assert drawdown_basis(252) == "from the peak NAV of the last 252 trading days (daily closes)"
    with pytest.raises(ValueError, match="window_days"):
        trailing_drawdowns(nav, window_days=0)


def test_drawdown_is_measured_from_the_running_peak() -> None:
    current, worst = drawdowns(np.array([100, 120, 90, 110, 130, 117]))
    assert current == pytest.approx(1 - 117 / 130)
    assert worst == pytest.approx(1 - 90 / 120)
    assert drawdowns(np.array([])) == (0.0, 0.0)
    with pytest.raises(ValueError, match="level"):
        parametric_var_cvar(0.01, 1.0)


def test_figures_from_the_scenarios_product_equal_those_from_the_covariance_matrix() -> None:
    # The risk stage passes Sigma w taken from the scenarios (O(T N)) instead of the matrix.
    rng = np.random.default_rng(8)
    prices = 100 * np.exp(np.cumsum(rng.normal(0, 0.015, (70, 6)), axis=0))
    risk = scenario_risk(prices, 60)
    assert risk is not None
    weights = np.array([0.3, -0.1, 0.25, 0.2, 0.0, 0.35])
    product = risk.covariance_times(weights)
    np.testing.assert_allclose(product, np.cov(risk.scenarios, rowvar=False) @ weights, rtol=1e-12)
    from_matrix = risk_figures(weights, risk.scenarios, risk.covariance)
    from_product = risk_figures(
        weights, risk.scenarios, np.full((6, 6), np.nan), covariance_times_weights=product
    )
    assert from_product.var_parametric == pytest.approx(from_matrix.var_parametric, rel=1e-12)
    assert from_product.cvar_parametric == pytest.approx(from_matrix.cvar_parametric, rel=1e-12)
    assert from_product.var_historical == from_matrix.var_historical
    np.testing.assert_allclose(from_product.contributions, from_matrix.contributions, rtol=1e-10)
    books = np.vstack([weights, -weights[::-1]])
    np.testing.assert_allclose(
        risk.covariance_times(books), books @ risk.covariance, rtol=1e-12, atol=1e-18
    )


def test_the_scenarios_give_the_sample_covariances_variances_without_the_matrix() -> None:
    # numpy's sample covariance is the independent reference; the view builds no matrix for
    # these (the gate's budgets and the stress tests' volatilities use them at every close).
    rng = np.random.default_rng(11)
    prices = 100 * np.exp(np.cumsum(rng.normal(0, 0.015, (70, 8)), axis=0))
    risk = scenario_risk(prices, 60)
    assert risk is not None
    sample = np.cov(risk.scenarios, rowvar=False)
    weights = rng.normal(0, 0.2, 8)
    assert risk.variance(weights) == pytest.approx(weights @ sample @ weights, rel=1e-12)
    np.testing.assert_allclose(risk.volatility, np.sqrt(np.diag(sample)), rtol=1e-12)
    np.testing.assert_allclose(risk.covariance, sample, rtol=1e-12)
    given = ScenarioRisk(risk.columns, risk.scenarios, given=np.eye(8))
    assert given.variance(weights) == pytest.approx(float(weights @ weights))
    np.testing.assert_allclose(given.covariance_times(weights), weights)
    with pytest.raises(ValueError, match="covariance: needed"):
        risk_figures(weights, risk.scenarios, None)
