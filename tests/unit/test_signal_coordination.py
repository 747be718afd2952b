"""Coordination: horizon blending with decay, the policies, vetoes, overrides, lineage, conflicts.

Expected values are computed by hand from the formulas in the docstrings of
engine/signals/coordination.py, not by calling the code under test another way.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from engine.model import SignalBatch
from engine.signals.book import Override
from engine.signals.coordination import (
    ConfidenceBlend,
    MajorityVote,
    PriorityRule,
    SignalCoordinator,
    TimeframeBlend,
)

DAY = date(2024, 1, 2)
SYMBOLS = ("A", "B", "C")


def _batch(
    source: str,
    score: list[float],
    confidence: list[float],
    horizon: str = "1m",
    age: list[float] | None = None,
) -> SignalBatch:
    return SignalBatch(
        source,
        horizon,
        DAY,
        np.array(score, dtype=float),
        np.array(confidence, dtype=float),
        None if age is None else np.array(age, dtype=float),
    )


def _coordinator(policy, sources=("a", "b"), **kwargs) -> SignalCoordinator:
    return SignalCoordinator("p", sources, policy, **kwargs)


# -- the blend --------------------------------------------------------------------------------
def test_blend_weights_each_source_by_weight_times_confidence() -> None:
    result = _coordinator(ConfidenceBlend(), source_weights={"a": 2.0, "b": 1.0}).coordinate(
        [
            _batch("a", [0.5, 0.2, 0.0], [0.8, 0.0, 0.0]),
            _batch("b", [-1.0, 0.6, 0.0], [0.4, 0.5, 0]),
        ],
        SYMBOLS,
        DAY,
    )
    # Instrument A: (2*0.8*0.5 + 1*0.4*-1) / (2*0.8 + 1*0.4) = 0.4 / 2.0 = 0.2
    np.testing.assert_allclose(result.score, [0.2, 0.6, 0.0])
    # Confidence: (2*0.8 + 1*0.4) / 3 and (1*0.5) / 3.
    np.testing.assert_allclose(result.confidence, [2.0 / 3.0, 0.5 / 3.0, 0.0])
    # Lineage: A is 1.6/2.0 from a and 0.4/2.0 from b; B all from b; C has no view.
    np.testing.assert_allclose(result.lineage["a/1m"], [0.8, 0.0, 0.0])
    np.testing.assert_allclose(result.lineage["b/1m"], [0.2, 1.0, 0.0])
    assert [c.symbol for c in result.conflicts] == ["A"] and result.conflicts_total == 1
    (conflict,) = result.conflicts
    assert {v.source: (v.score, v.confidence, v.weight) for v in conflict.views} == {
        "a": (0.5, 0.8, 2.0),
        "b": (-1.0, 0.4, 1.0),
    }
    assert conflict.resolution == "blend: net +0.200 at confidence 0.67"


views = hnp.arrays(float, (3, 4), elements=st.floats(-1, 1, allow_nan=False, allow_subnormal=False))
confidences = hnp.arrays(
    float, (3, 4), elements=st.floats(0, 1, allow_nan=False, allow_subnormal=False)
)
weights = hnp.arrays(float, 3, elements=st.floats(0.01, 10, allow_nan=False, allow_subnormal=False))


@settings(max_examples=300, deadline=None)
@given(views, confidences, weights, st.permutations([0, 1, 2]))
def test_blend_is_bounded_and_does_not_depend_on_the_order_of_sources(
    score: np.ndarray, confidence: np.ndarray, weight: np.ndarray, order: list[int]
) -> None:
    blend = ConfidenceBlend()
    priority = np.ones(3)
    s, c, share = blend.combine(score, confidence, weight, priority)
    assert np.all(np.abs(s) <= 1 + 1e-12) and np.all((c >= 0) & (c <= 1 + 1e-12))
    has_view = (weight[:, None] * confidence).sum(axis=0) > 0
    np.testing.assert_allclose(share.sum(axis=0)[has_view], 1.0)
    s2, c2, _ = blend.combine(score[order], confidence[order], weight[order], priority)
    np.testing.assert_allclose(s2, s, atol=1e-12)
    np.testing.assert_allclose(c2, c, atol=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(
        float,
        5,
        elements=st.floats(-1, 1, allow_nan=False, allow_subnormal=False).filter(lambda x: x != 0),
    ),
    hnp.arrays(float, 5, elements=st.floats(0.01, 1, allow_nan=False, allow_subnormal=False)),
)
def test_a_lone_source_passes_through_every_policy(
    score: np.ndarray, confidence: np.ndarray
) -> None:
    # (A score of exactly 0 casts no vote in a majority vote: it is a view to stay flat.)
    for policy in (ConfidenceBlend(), PriorityRule(), MajorityVote(0.6)):
        s, c, _ = policy.combine(score[None], confidence[None], np.array([1.0]), np.array([1.0]))
        np.testing.assert_allclose(s, score)
        np.testing.assert_allclose(c, confidence)


@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(float, 5, elements=st.floats(0.01, 1, allow_nan=False, allow_subnormal=False)),
    hnp.arrays(float, 5, elements=st.floats(0.01, 1, allow_nan=False, allow_subnormal=False)),
    st.floats(0.1, 5),
)
def test_equal_and_opposite_views_of_equal_weight_cancel(
    score: np.ndarray, confidence: np.ndarray, weight: float
) -> None:
    s, _, _ = ConfidenceBlend().combine(
        np.vstack([score, -score]),
        np.vstack([confidence, confidence]),
        np.array([weight, weight]),
        np.ones(2),
    )
    np.testing.assert_allclose(s, 0.0, atol=1e-12)


# -- priority and majority vote ---------------------------------------------------------------
def test_priority_the_highest_priority_source_with_a_view_wins() -> None:
    coordinator = _coordinator(
        PriorityRule(), ("model", "desk"), source_priorities={"model": 1.0, "desk": 3.0}
    )
    result = coordinator.coordinate(
        [
            _batch("model", [0.6, 0.6, -0.2], [0.9, 0.9, 0.5]),
            _batch("desk", [-0.3, 0, 0], [0.5, 0, 0]),
        ],
        SYMBOLS,
        DAY,
    )
    # A: the desk outranks the model; B and C: the desk has no view, so the model decides.
    np.testing.assert_allclose(result.score, [-0.3, 0.6, -0.2])
    np.testing.assert_allclose(result.confidence, [0.5, 0.9, 0.5])
    np.testing.assert_allclose(result.lineage["desk/1m"], [1, 0, 0])
    (conflict,) = result.conflicts
    assert conflict.resolution == "priority: desk (priority 3) wins with -0.300"


def test_priority_follows_measured_quality_a_source_that_stops_predicting_is_outranked() -> None:
    coordinator = _coordinator(
        PriorityRule(), ("model", "desk"), source_priorities={"model": 1.0, "desk": 3.0}
    )
    batches = [_batch("model", [0.6, 0, 0], [0.9, 0, 0]), _batch("desk", [-0.3, 0, 0], [0.5, 0, 0])]
    # Quality multipliers: the desk at its floor (0.25 -> 0.75), the model at its ceiling (2).
    result = coordinator.coordinate(batches, SYMBOLS, DAY, multipliers={"desk": 0.25, "model": 2})
    assert result.score[0] == pytest.approx(0.6)


def test_majority_vote_needs_the_minimum_agreement() -> None:
    coordinator = _coordinator(MajorityVote(0.6), ("a", "b", "c"))
    result = coordinator.coordinate(
        [
            _batch("a", [0.5, 0.5, 0.5], [1.0, 1.0, 1.0]),
            _batch("b", [0.3, 0.3, -0.5], [0.5, 1.0, 1.0]),
            _batch("c", [-0.9, 0.0, 0.0], [1.0, 0.0, 0.0]),
        ],
        SYMBOLS,
        DAY,
    )
    # A: 2 of 3 long (67% >= 60%): blend of a and b = (0.5*1 + 0.3*0.5) / 1.5, confidence
    # (1 + 0.5) / 2 (the long side's weighted confidence) times the agreement 2/3.
    assert result.score[0] == pytest.approx(0.65 / 1.5)
    assert result.confidence[0] == pytest.approx(0.75 * 2 / 3)
    # B: both voters long. C: 1 long, 1 short: 50% < 60%, no view.
    assert result.score[1] == pytest.approx(0.4)
    assert result.score[2] == 0.0 and result.confidence[2] == 0.0
    resolutions = {c.symbol: c.resolution for c in result.conflicts}
    assert resolutions == {
        "A": "vote: 67% long (at least 60%)",
        "C": "vote: 50% split is below 60%: no view",
    }


def test_an_unknown_policy_name_is_refused_with_the_choices() -> None:
    from engine.signals.coordination import make_policy

    with pytest.raises(ValueError, match="not one of confidence_blend, priority, majority_vote"):
        make_policy("loudest")


# -- vetoes and manual overrides --------------------------------------------------------------
def test_a_veto_source_blocks_an_instrument_it_disagrees_with_and_only_that() -> None:
    coordinator = _coordinator(
        ConfidenceBlend(), ("a",), veto_sources=("risk",), veto_min_confidence=0.5
    )
    result = coordinator.coordinate(
        [
            _batch("a", [0.5, 0.5, 0.5], [1.0, 1.0, 1.0]),
            # A: opposes with confidence 0.8 -> blocked; B: opposes, too unsure; C: agrees.
            _batch("risk", [-1.0, -1.0, 1.0], [0.8, 0.3, 0.9]),
        ],
        SYMBOLS,
        DAY,
    )
    np.testing.assert_allclose(result.score, [0.0, 0.5, 0.5])
    assert result.vetoed.tolist() == [True, False, False]
    assert result.lineage["a/1m"][0] == 0.0


def test_manual_pin_and_veto_have_the_last_word_for_their_portfolio_only() -> None:
    batches = [_batch("a", [0.5, 0.5, 0.5], [1.0, 1.0, 1.0])]
    overrides = (
        Override("o1", "veto", "p", "A", 0.0, 0.0, None, "pm", "earnings"),
        Override("o2", "pin", "*", "B", -0.4, 0.9, None, "pm", "house view"),
        Override("o3", "veto", "other", "C", 0.0, 0.0, None, "pm", "not ours"),
    )
    result = _coordinator(ConfidenceBlend(), ("a",)).coordinate(
        batches, SYMBOLS, DAY, overrides=overrides
    )
    np.testing.assert_allclose(result.score, [0.0, -0.4, 0.5])
    np.testing.assert_allclose(result.confidence, [0.0, 0.9, 1.0])
    np.testing.assert_allclose(result.lineage["manual/override"], [0, 1, 0])


def test_only_subscribed_sources_and_instruments_reach_a_portfolio() -> None:
    coordinator = _coordinator(ConfidenceBlend(), ("a",))
    result = coordinator.coordinate(
        [_batch("a", [0.5, 0.5, 0.5], [1, 1, 1]), _batch("unsubscribed", [-1, -1, -1], [1, 1, 1])],
        SYMBOLS,
        DAY,
        universe=np.array([True, False, True]),
    )
    np.testing.assert_allclose(result.score, [0.5, 0.0, 0.5])
    assert set(result.lineage) == {"a/1m"} and result.conflicts == ()


# -- multi-timeframe --------------------------------------------------------------------------
def test_a_fresh_short_view_and_a_persistent_long_view_combine_by_weight_and_half_life() -> None:
    blend = TimeframeBlend({"1w": 1.0, "3m": 2.0}, {"1w": 2.0, "3m": 30.0})
    short = _batch("a", [1.0], [1.0], horizon="1w", age=[0.0])
    long = _batch("a", [-0.5], [0.8], horizon="3m", age=[30.0])
    score, confidence, shares = blend.combine([short, long])
    # Effective confidences: 1 * 1 * 0.5**0 = 1 and 2 * 0.8 * 0.5**(30/30) = 0.8.
    assert score[0] == pytest.approx((1.0 * 1.0 + 0.8 * -0.5) / 1.8)
    assert confidence[0] == pytest.approx(1.8 / 3.0)
    assert shares["a/1w"][0] == pytest.approx(1 / 1.8)
    # Two half-lives later the short view counts a quarter: the long one takes over.
    aged_short = _batch("a", [1.0], [1.0], horizon="1w", age=[4.0])
    score, _, _ = blend.combine([aged_short, long])
    assert score[0] == pytest.approx((0.25 - 0.4) / 1.05)


def test_default_half_life_is_half_the_horizon() -> None:
    blend = TimeframeBlend()
    assert blend.half_life("1w") == 2.5 and blend.half_life("3m") == 31.5
    assert blend.half_life("1d") == 1.0
