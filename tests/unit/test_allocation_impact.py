"""Allocation impact assessment, checked by hand on a two-stock book."""

from __future__ import annotations

import numpy as np
import pytest

from components.tables import impact_table
from engine.allocation.impact import assess_allocation
from engine.allocation.risk_models import CovarianceEstimate
from tests.unit.component_tree import shown_rows, text_of


def test_impact_of_moving_from_one_stock_to_two() -> None:
    covariance = np.array([[0.0001, 0.00002], [0.00002, 0.0004]])  # 1% and 2% daily, rho 0.1
    impact = assess_allocation(
        ("A", "B"),
        target=np.array([0.5, 0.45]),
        current=np.array([0.9, 0.0]),
        benchmark=np.array([0.5, 0.5]),
        covariance=covariance,
        expected_returns=np.array([0.0002, 0.0005]),
        nav_usd=1_000_000.0,
        cost_bps=6.0,
    )
    target_variance = 0.25 * 0.0001 + 0.2025 * 0.0004 + 2 * 0.5 * 0.45 * 0.00002
    assert impact.volatility_annual == pytest.approx(np.sqrt(252 * target_variance))
    assert impact.current_volatility_annual == pytest.approx(np.sqrt(252 * 0.81 * 0.0001))
    # Active weights (0, -0.05): only B's variance counts.
    assert impact.tracking_error_annual == pytest.approx(np.sqrt(252 * 0.0025 * 0.0004))
    assert impact.expected_return_annual == pytest.approx(252 * (0.5 * 0.0002 + 0.45 * 0.0005))
    assert impact.turnover == pytest.approx(0.85)
    # 0.85 x $1,000,000 traded at 6 bps.
    assert impact.estimated_cost_usd == pytest.approx(510.0)
    assert impact.estimated_cost_bps == pytest.approx(5.1)
    assert [(c.symbol, c.current, c.target) for c in impact.top_changes] == [
        ("B", 0.0, 0.45),
        ("A", 0.9, 0.5),
    ]
    rows = shown_rows(impact_table(impact))
    assert "turnover (sum of weight changes)||85.0%" in rows
    assert "change: B|0.0%|45.0%" in rows


def test_bad_inputs_name_the_field_and_no_proposal_says_so() -> None:
    with pytest.raises(ValueError, match="current: need 2 finite values"):
        assess_allocation(
            ("A", "B"), np.ones(2), np.array([np.nan, 0]), np.ones(2), np.eye(2), np.ones(2), 1, 1
        )
    assert "No proposal yet" in text_of(impact_table(None))


def test_risk_contributions_are_eulers_and_sum_to_one() -> None:
    covariance = np.array([[0.04, 0.01, 0.0], [0.01, 0.09, 0.02], [0.0, 0.02, 0.16]]) / 252
    target = np.array([0.5, 0.3, 0.2])
    impact = assess_allocation(
        ("A", "B", "C"), target, np.zeros(3), np.full(3, 1 / 3), covariance, np.zeros(3), 1e6, 6.0
    )
    shares = dict(impact.risk_contributions)

    assert shares["A"] == pytest.approx(0.5 * 0.023 / 0.0299)
    assert shares["C"] == pytest.approx(0.2 * 0.038 / 0.0299)
    assert sum(shares.values()) == pytest.approx(1.0)
    assert [s for s, _ in impact.risk_contributions] == ["A", "B", "C"]


def test_a_factor_estimate_gives_the_figures_of_its_dense_matrix() -> None:
    rng = np.random.default_rng(7)
    exposures = rng.normal(0, 0.01, (6, 2))
    factors = np.diag([2.0, 0.5])
    specific = rng.uniform(1e-5, 4e-5, 6)
    estimate = CovarianceEstimate(
        "pca", 60, exposures=exposures, factor_covariance=factors, specific_variance=specific
    )
    dense = exposures @ factors @ exposures.T + np.diag(specific)
    symbols = tuple("ABCDEF")
    target, current = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
    args = (np.full(6, 1 / 6), np.zeros(6), 1e6, 6.0)
    by_factors = assess_allocation(symbols, target, current, args[0], estimate, *args[1:])
    by_matrix = assess_allocation(symbols, target, current, args[0], dense, *args[1:])
    for field in ("volatility_annual", "current_volatility_annual", "tracking_error_annual"):
        assert getattr(by_factors, field) == pytest.approx(getattr(by_matrix, field), rel=1e-12)
    assert dict(by_factors.risk_contributions) == pytest.approx(dict(by_matrix.risk_contributions))
    with pytest.raises(ValueError, match="covariance: need a finite 5 x 5 matrix"):
        assess_allocation(
            symbols[:5], target[:5], current[:5], np.full(5, 0.2), estimate, np.zeros(5), 1e6, 6.0
        )
