"""Signal-proportional long-only sizing with a per-name cap and a cash buffer."""

from datetime import date

import numpy as np
import pytest

from engine.allocation.sizing import SignalProportionalAllocator, cap_weights
from engine.model import CoordinatedSignals


def test_uncapped_weights_are_proportional_to_conviction() -> None:
    weights = cap_weights(np.array([1.0, 3.0, 0.0, 4.0]), budget=0.8, max_weight=0.9)
    np.testing.assert_allclose(weights, [0.1, 0.3, 0.0, 0.4])


def test_capped_excess_is_shared_among_the_rest_in_proportion() -> None:
    weights = cap_weights(np.array([10.0, 1.0, 1.0, 2.0]), budget=1.0, max_weight=0.4)
    # 0.4 to the first; 0.6 left over 1:1:2 -> 0.15, 0.15, 0.3, all under the cap.
    np.testing.assert_allclose(weights, [0.4, 0.15, 0.15, 0.3])


def test_cascading_caps_never_breach_and_leave_the_rest_in_cash() -> None:
    rng = np.random.default_rng(5)
    for _ in range(200):
        raw = np.where(rng.random(30) < 0.5, rng.exponential(1.0, 30), 0.0)
        max_weight = rng.uniform(0.02, 0.5)
        weights = cap_weights(raw, 0.95, max_weight)
        assert weights.max() <= max_weight + 1e-12
        assert (weights[raw == 0] == 0).all()
        expected_total = min(0.95, max_weight * np.count_nonzero(raw))
        assert weights.sum() == pytest.approx(expected_total)


def test_allocator_keeps_the_cash_buffer_and_ignores_ineligible_and_negative_views() -> None:
    signals = CoordinatedSignals(
        "p",
        "confidence_blend",
        ("m",),
        date(2024, 1, 2),
        score=np.array([0.5, -0.5, 0.9, 0.3]),
        confidence=np.array([1.0, 1.0, 1.0, 0.5]),
        lineage={},
    )
    allocator = SignalProportionalAllocator("p", max_weight=0.6, cash_buffer=0.1)
    target = allocator.allocate(signals, np.array([True, True, False, True]), date(2024, 1, 2))
    # Eligible positive conviction 0.5 and 0.15 would give 0.69 and 0.21 of the 0.9 budget;
    # the first is capped at 0.6 and its excess goes to the second.
    np.testing.assert_allclose(target.weights, [0.6, 0, 0, 0.3])
    assert target.cash_weight == pytest.approx(0.1)
    assert target.weights.sum() + target.cash_weight == pytest.approx(1.0)


def test_no_positive_view_means_all_cash() -> None:
    signals = CoordinatedSignals(
        "p",
        "confidence_blend",
        ("m",),
        date(2024, 1, 2),
        np.array([-0.2, 0.0]),
        np.array([1.0, 1.0]),
        {},
    )
    target = SignalProportionalAllocator("p", 0.5, 0.0).allocate(
        signals, np.array([True, True]), date(2024, 1, 2)
    )
    assert target.weights.sum() == 0 and target.cash_weight == 1.0
