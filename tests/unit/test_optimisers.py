"""Sizing models against independent references: closed forms where they exist, and skfolio
(a peer library, test-only) for constrained mean-variance and risk parity, on real returns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skfolio import RiskMeasure
from skfolio.optimization import MeanRisk, ObjectiveFunction, RiskBudgeting

from engine.allocation.optimisers import (
    Bounds,
    EqualWeight,
    InfeasibleAllocation,
    InverseVolatility,
    Limits,
    MeanVariance,
    MinimumVariance,
    RiskParity,
    volatility_target,
)
from engine.allocation.qp import SolverChoice
from engine.allocation.risk_models import CovarianceEstimate, PcaFactorModel, SampleCovariance
from engine.market.data import load_bundled


@pytest.fixture(scope="module")
def returns() -> np.ndarray:
    """Daily simple returns of the 20 bundled stocks over 2018-2019."""
    history = load_bundled(5e8)
    close = pd.DataFrame(history.close, index=pd.to_datetime(history.dates))
    return close.pct_change().loc["2018-01-01":"2019-12-31"].to_numpy()


def _dense(covariance: np.ndarray) -> CovarianceEstimate:
    return CovarianceEstimate("test", 100, covariance)


def _utility(mu: np.ndarray, covariance: np.ndarray, gamma: float, w: np.ndarray) -> float:
    return float(mu @ w - gamma * w @ covariance @ w)


@pytest.mark.parametrize(
    ("risk_aversion", "max_weight", "invested"), [(1.0, 0.2, 1.0), (5.0, 0.1, 0.95), (50.0, 1, 1)]
)
def test_mean_variance_reaches_skfolios_optimum(
    returns: np.ndarray, risk_aversion: float, max_weight: float, invested: float
) -> None:
    reference = MeanRisk(
        objective_function=ObjectiveFunction.MAXIMIZE_UTILITY,
        risk_measure=RiskMeasure.VARIANCE,
        risk_aversion=risk_aversion,
        min_weights=0.0,
        max_weights=max_weight,
        budget=invested,
    ).fit(returns)
    distribution = reference.prior_estimator_.return_distribution_
    mu, covariance = distribution.mu, distribution.covariance
    ours = MeanVariance(risk_aversion).weights(
        mu, _dense(covariance), Bounds(invested, 0.0, max_weight)
    )
    expected = _utility(mu, covariance, risk_aversion, reference.weights_)
    achieved = _utility(mu, covariance, risk_aversion, ours)
    assert achieved == pytest.approx(expected, rel=1e-6)
    assert ours.sum() == pytest.approx(invested) and ours.max() <= max_weight + 1e-7


def test_the_mean_variance_problem_is_built_once_and_re_solved(returns: np.ndarray) -> None:
    # The cvxpy problem is Clarabel's (the fallback's): built only when Clarabel solves.
    model = MeanVariance(2.0, SolverChoice("clarabel"))
    estimate = SampleCovariance().estimate(returns)
    model.weights(returns.mean(axis=0), estimate, Bounds(1.0, 0.0, 0.2))
    problem = model.problem
    assert problem is not None and problem.is_dpp(quad_form_dpp="qp")
    model.weights(returns.mean(axis=0) * 2, estimate, Bounds(0.9, 0.0, 0.3))
    assert model.problem is problem


def test_minimum_variance_without_binding_bounds_is_the_closed_form() -> None:
    # A covariance whose closed-form minimum-variance portfolio is long-only.
    rng = np.random.default_rng(4)
    loadings = rng.uniform(0.5, 1.0, 6)
    covariance = 1e-4 * (np.outer(loadings, loadings) * 0.3 + np.diag(rng.uniform(0.5, 2, 6)))
    inverse_ones = np.linalg.solve(covariance, np.ones(6))
    closed_form = inverse_ones / inverse_ones.sum()
    assert closed_form.min() > 0
    ours = MinimumVariance().weights(_dense(covariance), Bounds())
    np.testing.assert_allclose(ours, closed_form, atol=1e-6)


def test_inverse_volatility_and_equal_weight_are_their_formulas() -> None:
    covariance = np.diag([0.0001, 0.0004, 0.0009])
    np.testing.assert_allclose(
        InverseVolatility().weights(_dense(covariance), invested=0.9),
        0.9 * np.array([1 / 0.01, 1 / 0.02, 1 / 0.03]) / (100 + 50 + 100 / 3),
    )
    np.testing.assert_allclose(EqualWeight().weights(4, invested=0.8), [0.2] * 4)


def test_risk_parity_with_a_diagonal_covariance_is_inverse_volatility() -> None:
    covariance = np.diag([0.0001, 0.0004, 0.0009, 0.0016])
    ours = RiskParity().weights(_dense(covariance))
    inverse = 1 / np.sqrt(np.diag(covariance))
    np.testing.assert_allclose(ours, inverse / inverse.sum(), rtol=1e-6)


def test_risk_parity_matches_skfolio_and_equalises_risk_contributions(
    returns: np.ndarray,
) -> None:
    reference = RiskBudgeting(risk_measure=RiskMeasure.VARIANCE).fit(returns)
    covariance = reference.prior_estimator_.return_distribution_.covariance
    ours = RiskParity().weights(_dense(covariance))
    np.testing.assert_allclose(ours, reference.weights_, atol=1e-5)
    contributions = ours * (covariance @ ours)
    assert contributions.min() / contributions.max() == pytest.approx(1.0, abs=1e-5)


def test_the_factor_form_gives_the_same_optimum_as_its_dense_covariance(
    returns: np.ndarray,
) -> None:
    factor_model = PcaFactorModel(factors=4).estimate(returns)
    mu = returns.mean(axis=0)
    bounds = Bounds(1.0, 0.0, 0.15)
    from_factors = MeanVariance(3.0).weights(mu, factor_model, bounds)
    from_dense = MeanVariance(3.0).weights(mu, _dense(factor_model.covariance), bounds)
    covariance = factor_model.covariance
    assert _utility(mu, covariance, 3.0, from_factors) == pytest.approx(
        _utility(mu, covariance, 3.0, from_dense), rel=1e-6
    )


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 12),
    st.floats(0.5, 1.0),
    st.floats(0.0, 1.0),
    st.floats(0.1, 100.0),
    st.integers(0, 10_000),
)
def test_bounds_hold_on_random_problems(
    n: int, invested: float, cap_fraction: float, risk_aversion: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    factor = rng.normal(0, 0.01, (n, n))
    covariance = factor @ factor.T + 1e-6 * np.eye(n)
    max_weight = invested / n + cap_fraction * (1 - invested / n)
    bounds = Bounds(invested, 0.0, max_weight)
    w = MeanVariance(risk_aversion).weights(rng.normal(0, 0.001, n), _dense(covariance), bounds)
    assert w.sum() == pytest.approx(invested, abs=1e-7)
    assert w.min() >= 0 and w.max() <= max_weight + 1e-6


def test_degenerate_inputs_give_clear_results() -> None:
    returns = np.random.default_rng(2).normal(0, 0.01, (60, 3))
    singular = np.column_stack([returns, returns[:, 0]])  # a duplicated instrument
    estimate = SampleCovariance().estimate(singular)
    w = MinimumVariance().weights(estimate, Bounds(1.0, 0.0, 0.6))
    assert w.sum() == pytest.approx(1.0) and np.all(np.isfinite(w))
    # One instrument: everything invested is in it. No view at all: the least risky book.
    one = SampleCovariance().estimate(returns[:, :1])
    np.testing.assert_allclose(MeanVariance(1.0).weights(np.zeros(1), one, Bounds(0.9)), [0.9])
    no_view = MeanVariance(1.0).weights(np.zeros(4), estimate, Bounds(1.0, 0.0, 0.6))
    np.testing.assert_allclose(no_view, w, atol=1e-4)
    with pytest.raises(InfeasibleAllocation, match=r"max_weight 0.2 x 4 instruments = 0.8"):
        MinimumVariance().weights(estimate, Bounds(1.0, 0.0, 0.2))
    with pytest.raises(InfeasibleAllocation, match="expected_returns: need 4 finite values"):
        MeanVariance(1.0).weights(np.array([0.1, np.nan, 0, 0]), estimate, Bounds())


def test_volatility_targeting_scales_the_book_and_never_levers() -> None:
    covariance = np.diag([0.0001, 0.0004])  # 1% and 2% daily
    weights = np.array([0.5, 0.5])
    annual = np.sqrt(252 * weights @ covariance @ weights)
    scaled = volatility_target(weights, _dense(covariance), annual / 2)
    np.testing.assert_allclose(scaled, weights / 2)
    capped = volatility_target(weights, _dense(covariance), annual * 3, max_invested=1.0)
    np.testing.assert_allclose(capped, weights)


@pytest.fixture(scope="module")
def sectors() -> tuple[str, ...]:
    history = load_bundled(5e8)
    labels = {
        name: f"sector{k}" for k, name in enumerate(sorted({i.sector for i in history.instruments}))
    }
    return tuple(labels[i.sector] for i in history.instruments)


def test_sector_caps_reach_skfolios_optimum(returns: np.ndarray, sectors: tuple[str, ...]) -> None:
    busiest = max(set(sectors), key=sectors.count)
    reference = MeanRisk(
        objective_function=ObjectiveFunction.MAXIMIZE_UTILITY,
        risk_measure=RiskMeasure.VARIANCE,
        risk_aversion=2.0,
        max_weights=0.3,
        groups=[list(sectors)],
        linear_constraints=[f"{busiest} <= 0.1"],
    ).fit(returns)
    distribution = reference.prior_estimator_.return_distribution_
    mu, covariance = distribution.mu, distribution.covariance
    limits = Limits(sectors, ((busiest, 0.1),))
    ours = MeanVariance(2.0).weights(mu, _dense(covariance), Bounds(1.0, 0.0, 0.3), limits)
    in_sector = np.array([s == busiest for s in sectors])
    assert ours[in_sector].sum() <= 0.1 + 1e-7
    assert _utility(mu, covariance, 2.0, ours) == pytest.approx(
        _utility(mu, covariance, 2.0, reference.weights_), rel=1e-6
    )


def test_turnover_limit_reaches_skfolios_optimum(returns: np.ndarray) -> None:
    current = np.full(20, 0.05)
    reference = MeanRisk(
        objective_function=ObjectiveFunction.MAXIMIZE_UTILITY,
        risk_measure=RiskMeasure.VARIANCE,
        risk_aversion=1.0,
        previous_weights=current,
        max_turnover=0.01,  # per instrument in skfolio
    ).fit(returns)
    distribution = reference.prior_estimator_.return_distribution_
    mu, covariance = distribution.mu, distribution.covariance
    # skfolio bounds each instrument's change; ours bounds the total, a different (larger) set:
    # the optimum is at least as good, and the total it trades is within the limit.
    ours = MeanVariance(1.0).weights(
        mu, _dense(covariance), Bounds(), Limits(current=current, max_turnover=0.2)
    )
    assert np.abs(ours - current).sum() <= 0.2 + 1e-7
    assert (
        _utility(mu, covariance, 1.0, ours)
        >= _utility(mu, covariance, 1.0, reference.weights_) - 1e-12
    )


def test_conflicting_constraints_are_named(returns: np.ndarray) -> None:
    estimate = SampleCovariance().estimate(returns)
    current = np.zeros(20)
    current[0] = 1.0  # all in one stock today
    limits = Limits(current=current, max_turnover=0.1)
    with pytest.raises(InfeasibleAllocation, match=r"max_turnover, max_weight conflict"):
        MinimumVariance().weights(estimate, Bounds(1.0, 0.0, 0.2), limits)
    sectors = tuple("a" if i < 10 else "b" for i in range(20))
    with pytest.raises(InfeasibleAllocation, match=r"sector_caps: the capped sectors \(0.6\)"):
        MinimumVariance().weights(estimate, Bounds(), Limits(sectors, (("a", 0.3), ("b", 0.3))))


def test_long_short_mean_variance_with_loose_bounds_is_the_lagrange_closed_form(
    returns: np.ndarray,
) -> None:
    # max mu'w - g w'Sw s.t. 1'w = b has w = S^-1 (mu - l 1) / (2 g), l chosen so 1'w = b.
    covariance = np.cov(returns, rowvar=False)
    mu, gamma, net = returns.mean(axis=0), 60.0, 0.5
    s_mu = np.linalg.solve(covariance, mu)
    s_one = np.linalg.solve(covariance, np.ones(20))
    lagrange = (s_mu.sum() - 2 * gamma * net) / s_one.sum()
    closed_form = (s_mu - lagrange * s_one) / (2 * gamma)
    assert closed_form.min() < 0 and np.abs(closed_form).max() < 1  # it shorts, within bounds
    ours = MeanVariance(gamma).weights(mu, _dense(covariance), Bounds(net, -1.0, 1.0))
    np.testing.assert_allclose(ours, closed_form, atol=1e-6)


def test_long_short_gross_and_net_limits_reach_pypfopts_optimum(returns: np.ndarray) -> None:
    import cvxpy as cp
    from pypfopt import EfficientFrontier

    covariance = np.cov(returns, rowvar=False)
    mu, gamma = returns.mean(axis=0) * 5, 2.0
    reference = EfficientFrontier(mu, covariance, weight_bounds=(-0.1, 0.2), solver="CLARABEL")
    reference.add_constraint(lambda w: cp.norm1(w) <= 1.3)
    reference.add_constraint(lambda w: cp.sum(w) >= 0.0)
    # PyPortfolioOpt's utility is mu'w - delta/2 w'Sw and its budget is 1'w = 1: give it the same.
    reference.max_quadratic_utility(risk_aversion=2 * gamma)
    expected = np.array(list(reference.clean_weights(cutoff=0, rounding=None).values()))
    bounds = Bounds(1.0, -0.1, 0.2, gross=1.3, net_floor=0.0)
    ours = MeanVariance(gamma).weights(mu, _dense(covariance), bounds)
    assert np.abs(ours).sum() <= 1.3 + 1e-7 and ours.min() >= -0.1 and ours.max() <= 0.2
    assert ours.sum() == pytest.approx(1.0, abs=1e-7)
    assert _utility(mu, covariance, gamma, ours) == pytest.approx(
        _utility(mu, covariance, gamma, expected), rel=1e-6
    )


def test_a_market_neutral_book_holds_its_net_and_gross(returns: np.ndarray) -> None:
    estimate = SampleCovariance().estimate(returns)
    mu = returns.mean(axis=0)
    bounds = Bounds(0.0, -0.15, 0.15, gross=1.0, net_floor=0.0)
    w = MeanVariance(1.0).weights(mu * 10, estimate, bounds)
    assert w.sum() == pytest.approx(0.0, abs=1e-7)
    assert np.abs(w).sum() <= 1.0 + 1e-7 and (w < 0).any() and (w > 0).any()
    with pytest.raises(InfeasibleAllocation, match=r"gross: 0.4 must be at least the net"):
        MeanVariance(1.0).weights(mu, estimate, Bounds(0.5, -0.1, 0.1, gross=0.4, net_floor=0.5))
    current = np.zeros(20)
    current[0] = 1.0  # all in one stock today: a 0.1 turnover cannot get under the 0.15 cap
    with pytest.raises(InfeasibleAllocation, match=r"max_turnover, max_weight conflict"):
        MeanVariance(1.0).weights(mu, estimate, bounds, Limits(current=current, max_turnover=0.1))


def test_exposure_limits_on_a_long_only_book_are_refused() -> None:
    with pytest.raises(InfeasibleAllocation, match="need a long/short book"):
        Bounds(1.0, 0.0, 0.5, gross=1.5).check(4)
