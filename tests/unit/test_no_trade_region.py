"""The cost-aware no-trade region: each trade's benefit against the objective's own definition
(and a hand-worked example), the trades held back exactly when their benefit is below their
cost, the limits a held-back trade would break, and the band edges."""

from __future__ import annotations

import numpy as np
import pytest

from engine.allocation.rounding import ShareLimits, hold_back
from engine.rebalancing.no_trade import band_edge_weights, held_back_order, trade_benefits
from engine.rebalancing.triggers import RebalancePolicy


def _utility(w: np.ndarray, mu: np.ndarray, sigma: np.ndarray, aversion: float, anchor) -> float:
    off = w - anchor
    return float(mu @ w - aversion * off @ sigma @ off)


@pytest.mark.parametrize("anchored", [False, True])
def test_each_benefit_is_what_the_target_loses_without_that_trade(anchored: bool) -> None:
    rng = np.random.default_rng(7)
    n = 6
    loadings = rng.normal(0, 0.01, (n, n))
    sigma = loadings @ loadings.T + np.diag(rng.uniform(1e-5, 4e-4, n))
    mu = rng.normal(0, 5e-4, n)
    target, current = rng.dirichlet(np.ones(n)) * 0.9, rng.dirichlet(np.ones(n)) * 0.9
    current[2] = target[2]  # a name not traded gains nothing
    aversion = 2.5
    anchor = target if anchored else np.zeros(n)
    benefits = trade_benefits(
        mu, sigma @ (target - anchor), np.diag(sigma), aversion, target, current
    )
    for i in range(n):
        without = target.copy()
        without[i] = current[i]
        expected = _utility(target, mu, sigma, aversion, anchor) - _utility(
            without, mu, sigma, aversion, anchor
        )
        assert benefits[i] == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert benefits[2] == 0


def test_a_hand_worked_benefit() -> None:
    # mu = (10, 5) bps a day, Sigma = diag(4, 1) x 1e-4, lambda = 2, w* = (30%, 20%),
    # w = (10%, 25%): d = (+0.20, -0.05); Sigma w* = (1.2e-4, 0.2e-4);
    # gradient mu - 2 lambda Sigma w* = (5.2e-4, 4.2e-4);
    # B = d x gradient + lambda d^2 Sigma_ii = (1.04e-4 + 0.32e-4, -0.21e-4 + 0.005e-4).
    sigma = np.diag([4e-4, 1e-4])
    target = np.array([0.30, 0.20])
    benefits = trade_benefits(
        np.array([1e-3, 5e-4]), sigma @ target, np.diag(sigma), 2.0, target, np.array([0.1, 0.25])
    )
    assert benefits == pytest.approx([1.36e-4, -0.205e-4])


def test_exactly_the_trades_below_their_cost_are_held_back_worst_first() -> None:
    benefit = np.array([50.0, 10.0, np.nan, 80.0, -5.0, 30.0])
    cost = np.array([40.0, 10.0, 99.0, 81.0, 1.0, 60.0])
    # Below: 3 (-1), 4 (-6), 5 (-30); equal (1) is not below; unknown (2) never.
    assert held_back_order(benefit, cost).tolist() == [5, 4, 3]


def test_a_trade_a_limit_needs_is_made_whatever_it_costs() -> None:
    unit = np.full(3, 0.01)  # each share 1% of NAV
    held = np.array([40, 10, 0])  # 40% in the first name, over its 30% cap
    shares = np.array([30, 20, 10])  # the target trims it, buys the others
    limits = ShareLimits(max_weight=0.30)
    kept, held_back = hold_back(shares, held, unit, limits, np.array([0, 1, 2]))
    # Holding back the trim would leave 40% > 30%: it is made; the buys are held back.
    assert held_back == [1, 2]
    assert kept.tolist() == [30, 10, 0]


def test_band_edges_trade_only_the_names_beyond_their_band_to_its_edge() -> None:
    target = np.array([0.20, 0.10, 0.05, 0.30])
    current = np.array([0.27, 0.08, 0.00, 0.10])
    bands = np.array([0.05, 0.05, 0.05, np.inf])
    edged = band_edge_weights(target, current, bands)
    # 7 points over: to the upper edge; 2 under, inside: not traded; exactly at the edge (5
    # under): stays; no band: to the target.
    assert edged == pytest.approx([0.25, 0.08, 0.00, 0.30])


def test_the_policy_checks_its_no_trade_settings() -> None:
    with pytest.raises(ValueError, match="horizon_days: 0 must be from 1 to 252"):
        RebalancePolicy(cost_aware=True, horizon_days=0)
    with pytest.raises(ValueError, match="to_band_edge: needs a name band"):
        RebalancePolicy(to_band_edge=True)
    policy = RebalancePolicy(
        drift_relative=0.2, cost_aware=True, horizon_days=10, to_band_edge=True
    )
    assert RebalancePolicy.from_dict(policy.to_dict()) == policy
    # A policy recorded before these settings reads with their defaults.
    older = {k: v for k, v in RebalancePolicy().to_dict().items() if k != "cost_aware"}
    assert RebalancePolicy.from_dict(older) == RebalancePolicy()
