"""Sleeve risk budgets against independent references: the closed form for uncorrelated sleeves,
variance shares computed directly, skfolio's RiskBudgeting and a scipy root find, hand-computed
regime adjustments and realised volatilities."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import root
from skfolio import RiskMeasure
from skfolio.optimization import RiskBudgeting

from engine.risk.budgets import (
    regime_adjusted_budgets,
    risk_budget_capital,
    sleeve_covariance,
    sleeve_volatility,
)


def _variance_shares(capital: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    return capital * (covariance @ capital) / (capital @ covariance @ capital)


def _correlated_covariance(seed: int, sleeves: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vols = rng.uniform(0.005, 0.02, sleeves)
    factors = rng.normal(size=(sleeves, sleeves + 2))
    correlation = np.corrcoef(factors)
    return correlation * np.outer(vols, vols)


def _returns_with_covariance(covariance: np.ndarray, days: int = 300) -> np.ndarray:
    """Returns whose sample covariance (ddof 1) is exactly ``covariance``."""
    rng = np.random.default_rng(5)
    noise = rng.normal(size=(days, len(covariance)))
    noise -= noise.mean(axis=0)
    noise = noise @ np.linalg.inv(np.linalg.cholesky(np.cov(noise, rowvar=False))).T
    return noise @ np.linalg.cholesky(covariance).T + 0.0003


def test_uncorrelated_sleeves_get_capital_proportional_to_root_budget_over_volatility() -> None:
    budgets = np.array([0.5, 0.3, 0.2])
    vols = np.array([0.01, 0.02, 0.005])
    covariance = np.diag(vols**2)
    capital = risk_budget_capital(budgets, covariance)
    # Closed form: c_s^2 sigma_s^2 / sum_k c_k^2 sigma_k^2 = b_s gives c_s = k sqrt(b_s) / sigma_s.
    closed_form = np.sqrt(budgets) / vols
    np.testing.assert_allclose(capital, closed_form / closed_form.sum(), rtol=1e-10)
    np.testing.assert_allclose(_variance_shares(capital, covariance), budgets, rtol=1e-10)


def test_equal_budgets_on_equal_volatility_sleeves_give_equal_capital() -> None:
    correlation = np.full((4, 4), 0.3) + 0.7 * np.eye(4)
    capital = risk_budget_capital(np.full(4, 0.25), correlation * 0.012**2)
    np.testing.assert_allclose(capital, np.full(4, 0.25), rtol=1e-10)


@pytest.mark.parametrize("seed", range(10))
def test_variance_shares_equal_the_budgets_for_correlated_sleeves(seed: int) -> None:
    covariance = _correlated_covariance(seed)
    budgets = np.random.default_rng(100 + seed).dirichlet(np.ones(3))
    capital = risk_budget_capital(budgets, covariance)
    assert capital.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(capital > 0)
    np.testing.assert_allclose(_variance_shares(capital, covariance), budgets, rtol=1e-8)


def test_capital_matches_skfolio_risk_budgeting_and_a_scipy_root_find() -> None:
    covariance = _correlated_covariance(seed=42)
    budgets = np.array([0.5, 0.3, 0.2])
    capital = risk_budget_capital(budgets, covariance)

    returns = _returns_with_covariance(covariance)
    np.testing.assert_allclose(np.cov(returns, rowvar=False), covariance, rtol=1e-10)
    # Clarabel's default gaps leave ~1e-5 in the weights; tightened, skfolio agrees to ~1e-6.
    tight = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}
    model = RiskBudgeting(
        risk_measure=RiskMeasure.VARIANCE, risk_budget=budgets, solver_params=tight
    )
    model.fit(returns)
    np.testing.assert_allclose(capital, model.weights_, atol=2e-6)

    def equations(c: np.ndarray) -> np.ndarray:
        total = c @ covariance @ c
        return np.append((c * (covariance @ c) - budgets * total)[:-1] / total, c.sum() - 1)

    solution = root(equations, np.full(3, 1 / 3), tol=1e-14)
    assert solution.success
    np.testing.assert_allclose(capital, solution.x, rtol=1e-8)


def test_zero_budget_sleeve_gets_no_capital_unless_its_minimum_says_so() -> None:
    covariance = _correlated_covariance(seed=3)
    budgets = np.array([0.6, 0.4, 0.0])
    capital = risk_budget_capital(budgets, covariance)
    assert capital[2] == 0.0
    shares = _variance_shares(capital, covariance)
    np.testing.assert_allclose(shares, budgets, rtol=1e-8, atol=1e-12)
    floored = risk_budget_capital(budgets, covariance, min_capital=[0.0, 0.0, 0.1])
    assert floored[2] == pytest.approx(0.1)
    # The others keep their proportions.
    assert floored[0] / floored[1] == pytest.approx(capital[0] / capital[1], rel=1e-10)


def test_capital_bounds_are_respected_and_the_rest_is_renormalised() -> None:
    budgets = np.array([0.5, 0.3, 0.2])
    vols = np.array([0.002, 0.02, 0.02])  # the quiet sleeve would take most of the capital
    covariance = np.diag(vols**2)
    free = risk_budget_capital(budgets, covariance)
    assert free[0] > 0.6
    bounded = risk_budget_capital(budgets, covariance, min_capital=0.05, max_capital=0.6)
    assert bounded.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(bounded >= 0.05 - 1e-12) and np.all(bounded <= 0.6 + 1e-12)
    assert bounded[0] == pytest.approx(0.6)
    # The others share the remaining 0.4 in the proportions of the unbounded solution.
    np.testing.assert_allclose(bounded[1:], 0.4 * free[1:] / free[1:].sum(), rtol=1e-10)


def test_bounds_that_cannot_sum_to_one_and_riskless_sleeves_are_rejected() -> None:
    covariance = np.diag([1e-4, 2e-4, 3e-4])
    with pytest.raises(ValueError, match="max_capital"):
        risk_budget_capital(np.full(3, 1 / 3), covariance, max_capital=0.3)
    with pytest.raises(ValueError, match="min_capital"):
        risk_budget_capital(np.full(3, 1 / 3), covariance, min_capital=[0.5, 0.5, 0.1])
    with pytest.raises(ValueError, match="no variance"):
        risk_budget_capital(np.full(3, 1 / 3), np.diag([1e-4, 0.0, 3e-4]))
    with pytest.raises(ValueError, match="budgets"):
        risk_budget_capital(np.array([0.5, -0.1, 0.6]), covariance)


def test_sleeve_covariance_is_the_covariance_of_the_sleeve_returns() -> None:
    rng = np.random.default_rng(8)
    returns = rng.normal(0, 0.01, (200, 4))
    sleeve_weights = np.array([[0.5, 0.5, 0.0, 0.0], [0.0, 0.2, 0.3, 0.5]])
    direct = np.cov(returns @ sleeve_weights.T, rowvar=False)
    np.testing.assert_allclose(
        sleeve_covariance(np.cov(returns, rowvar=False), sleeve_weights), direct, rtol=1e-12
    )


def test_regime_adjustment_cuts_the_budget_of_the_sleeve_whose_volatility_jumped() -> None:
    base = np.array([0.4, 0.3, 0.3])
    short_vol = np.array([0.02, 0.01, 0.01])  # sleeve 0's volatility has doubled
    long_vol = np.array([0.01, 0.01, 0.01])
    unbounded = regime_adjusted_budgets(base, short_vol, long_vol, floor=0.0, cap=1.0)
    # By hand: (0.4 / 2, 0.3, 0.3) = (0.2, 0.3, 0.3), renormalised by 0.8.
    np.testing.assert_allclose(unbounded, [0.25, 0.375, 0.375], rtol=1e-12)

    bounded = regime_adjusted_budgets(base, short_vol, long_vol, floor=0.3, cap=0.36)
    # Caps at 0.36 leave 0.28 for sleeve 0, below its floor of 0.3: the floor holds and the
    # others share 0.7 in proportion (0.35 each).
    np.testing.assert_allclose(bounded, [0.3, 0.35, 0.35], rtol=1e-12)
    assert bounded[0] < base[0]
    assert np.all(bounded >= 0.3 - 1e-12) and np.all(bounded <= 0.36 + 1e-12)
    assert bounded.sum() == pytest.approx(1.0, abs=1e-12)


def test_missing_or_zero_volatilities_leave_the_base_budget() -> None:
    base = np.array([0.5, 0.3, 0.2])
    same = regime_adjusted_budgets(
        base,
        short_vol=np.array([np.nan, 0.0, 0.01]),
        long_vol=np.array([0.01, 0.01, 0.01]),
        floor=0.0,
        cap=1.0,
    )
    np.testing.assert_allclose(same, base, rtol=1e-12)
    # Every sleeve twice as volatile: relative budgets do not move.
    np.testing.assert_allclose(
        regime_adjusted_budgets(base, np.full(3, 0.02), np.full(3, 0.01), 0.0, 1.0),
        base,
        rtol=1e-12,
    )


def test_sleeve_volatility_is_the_sample_deviation_over_each_window() -> None:
    rng = np.random.default_rng(21)
    returns = rng.normal(0, 0.01, (300, 3))
    returns[-5, 1] = np.nan  # a missing price counts as a flat day
    weights = np.array([0.5, 0.3, 0.2])
    short, long = sleeve_volatility(returns, weights, short_window_days=20, long_window_days=250)
    filled = np.where(np.isnan(returns), 0.0, returns)
    by_hand = [sum(w * r for w, r in zip(weights, day, strict=True)) for day in filled]
    assert short == pytest.approx(np.std(by_hand[-20:], ddof=1), rel=1e-12)
    assert long == pytest.approx(np.std(by_hand[-250:], ddof=1), rel=1e-12)
    short_only, _ = sleeve_volatility(returns[:1], weights, 20, 250)
    assert np.isnan(short_only)


@pytest.mark.parametrize("sleeves", range(2, 11))
def test_variance_shares_equal_the_budgets_up_to_ten_sleeves(sleeves: int) -> None:
    rng = np.random.default_rng(sleeves)
    for _ in range(20):
        factors = rng.normal(size=(sleeves, 2))
        covariance = (factors @ factors.T + np.diag(rng.uniform(0.05, 1.0, sleeves))) * 1e-4
        budgets = rng.dirichlet(np.ones(sleeves))
        capital = risk_budget_capital(budgets, covariance)
        np.testing.assert_allclose(_variance_shares(capital, covariance), budgets, rtol=1e-8)
