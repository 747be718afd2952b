"""A mandate's allocation stage: which names it sizes, with which model, and what happens when the
limits cannot hold or a model fails."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from engine.allocation.mandate import MandateAllocator
from engine.allocation.risk_models import CovarianceEstimate, LedoitWolfShrinkage, SampleCovariance
from engine.market.data import load_bundled
from engine.model import CoordinatedSignals

DAY = date(2019, 12, 31)


@pytest.fixture(scope="module")
def prices() -> tuple[np.ndarray, tuple[str, ...]]:
    history = load_bundled(5e8)
    close = pd.DataFrame(history.close, index=pd.to_datetime(history.dates))
    window = close.loc["2019-01-01":"2019-12-31"].to_numpy()
    return window, tuple(i.sector for i in history.instruments)


def _signals(score: np.ndarray, confidence: float = 1.0) -> CoordinatedSignals:
    return CoordinatedSignals(
        "p", "confidence_blend", ("m",), DAY, score, np.full(len(score), confidence), {}
    )


def _views(n: int = 20) -> np.ndarray:
    score = np.linspace(-0.5, 0.9, n)
    score[3] = 0.0
    return score


def test_risk_parity_sizes_only_the_names_with_a_positive_view_with_equal_risk(
    prices: tuple[np.ndarray, tuple[str, ...]],
) -> None:
    close, _ = prices
    allocator = MandateAllocator("p", "risk_parity", 0.5, 0.1, LedoitWolfShrinkage(), 120)
    outcome = allocator.allocate(_signals(_views()), np.ones(20, dtype=bool), DAY, close)
    weights = outcome.target.weights
    positive = _views() > 0
    assert outcome.status == "ok" and outcome.model == "risk_parity"
    assert np.all(weights[~positive] == 0) and np.all(weights[positive] > 0)
    assert weights.sum() == pytest.approx(0.9) and outcome.target.cash_weight == pytest.approx(0.1)
    returns = close[-121:][1:] / close[-121:][:-1] - 1
    covariance = LedoitWolfShrinkage().estimate(returns[:, positive]).covariance
    w = weights[positive]
    contributions = w * (covariance @ w)
    assert contributions.min() / contributions.max() == pytest.approx(1.0, abs=1e-4)


def test_mean_variance_holds_the_caps_and_prefers_the_stronger_views(
    prices: tuple[np.ndarray, tuple[str, ...]],
) -> None:
    close, sectors = prices
    tech = sectors[0]
    allocator = MandateAllocator(
        "p",
        "mean_variance",
        0.15,
        0.05,
        LedoitWolfShrinkage(),
        120,
        risk_aversion=1.0,
        sector_caps=((tech, 0.2),),
    )
    outcome = allocator.allocate(
        _signals(_views()), np.ones(20, dtype=bool), DAY, close, sectors=sectors
    )
    weights = outcome.target.weights
    assert outcome.status == "ok"
    assert weights.max() <= 0.15 + 1e-7 and weights.sum() == pytest.approx(0.95)
    assert weights[[s == tech for s in sectors]].sum() <= 0.2 + 1e-7
    assert weights[_views() < 0].sum() == pytest.approx(0.0, abs=1e-6)


def test_limits_that_cannot_hold_keep_the_current_holdings_and_say_why(
    prices: tuple[np.ndarray, tuple[str, ...]],
) -> None:
    close, sectors = prices
    current = np.zeros(20)
    current[19] = 0.9  # all in the strongest view, far above the new cap
    allocator = MandateAllocator(
        "p", "minimum_variance", 0.1, 0.1, SampleCovariance(), 120, max_turnover=0.05
    )
    outcome = allocator.allocate(
        _signals(_views()), np.ones(20, dtype=bool), DAY, close, current, sectors
    )
    assert outcome.status == "infeasible"
    assert "max_turnover" in (outcome.reason or "") and "max_weight" in (outcome.reason or "")
    np.testing.assert_array_equal(outcome.target.weights, current)


class _BrokenRiskModel(SampleCovariance):
    """A risk model that fails, as a numerical library can: the engine must still allocate."""

    def estimate(self, returns: np.ndarray) -> CovarianceEstimate:
        raise np.linalg.LinAlgError("SVD did not converge")


def test_a_failing_model_falls_back_to_signal_proportional(
    prices: tuple[np.ndarray, tuple[str, ...]],
) -> None:
    close, _ = prices
    allocator = MandateAllocator("p", "mean_variance", 0.2, 0.0, _BrokenRiskModel(), 120)
    outcome = allocator.allocate(_signals(_views()), np.ones(20, dtype=bool), DAY, close)
    assert outcome.status == "fallback" and outcome.model == "signal_proportional"
    assert "SVD did not converge" in (outcome.reason or "")
    assert outcome.target.weights.sum() == pytest.approx(1.0)


def test_no_view_or_no_history_is_all_cash(prices: tuple[np.ndarray, tuple[str, ...]]) -> None:
    close, _ = prices
    allocator = MandateAllocator("p", "minimum_variance", 0.2, 0.0, SampleCovariance(), 120)
    flat = allocator.allocate(_signals(np.zeros(20)), np.ones(20, dtype=bool), DAY, close)
    assert flat.status == "ok" and flat.target.weights.sum() == 0 and flat.target.cash_weight == 1
    gappy = close.copy()
    gappy[-10, :] = np.nan  # a day with no prices at all
    none = allocator.allocate(_signals(_views()), np.ones(20, dtype=bool), DAY, gappy)
    assert none.target.weights.sum() == 0


def test_an_unknown_model_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="'kelly' is not one of signal_proportional"):
        MandateAllocator("p", "kelly", 0.2, 0.0, SampleCovariance())
