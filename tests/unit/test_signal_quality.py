"""Signal quality: the tracker's IC against scipy's and pandas' Spearman on the bundled real data,
and source weights that follow what a source actually predicts."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata, spearmanr

from engine.market.data import load_bundled
from engine.signals.quality import QualityTracker, average_ranks, spearman_ic
from engine.signals.sources import MeanReversionSource, MomentumSource


@pytest.fixture(scope="module")
def closes() -> pd.DataFrame:
    history = load_bundled(5e8)
    return pd.DataFrame(
        history.close,
        index=pd.to_datetime(history.dates),
        columns=[i.symbol for i in history.instruments],
    )


@pytest.mark.parametrize(
    ("source", "label", "horizon_days", "as_of"),
    [
        (MomentumSource((21, 63, 126, 252)), "1m", 21, "2008-09-12"),
        (MomentumSource((21, 63, 126, 252)), "12m", 252, "2015-03-02"),
        (MeanReversionSource((5, 21), 63), "1w", 5, "2020-03-16"),
        (MeanReversionSource((5, 21), 63), "1m", 21, "2001-09-21"),
    ],
)
def test_ic_equals_spearman_of_score_with_the_realised_forward_return(
    closes: pd.DataFrame,
    source: MomentumSource | MeanReversionSource,
    label: str,
    horizon_days: int,
    as_of: str,
) -> None:
    t = closes.index.get_indexer([pd.Timestamp(as_of)], method="bfill")[0]
    window = closes.iloc[t - 300 : t + 1].to_numpy()
    batch = next(
        b for b in source.generate(window, date.fromisoformat(as_of)) if b.horizon == label
    )
    tracker = QualityTracker(window=10, min_cross_section=5)
    tracker.record_batches(1, [batch], closes.iloc[t].to_numpy())
    assert tracker.mature(horizon_days, closes.iloc[t + horizon_days - 1].to_numpy()) == []
    (observation,) = tracker.mature(1 + horizon_days, closes.iloc[t + horizon_days].to_numpy())

    forward = closes.iloc[t + horizon_days] / closes.iloc[t] - 1
    views = pd.DataFrame({"score": batch.score, "forward": forward.to_numpy()})
    views = views[(batch.confidence > 0) & views["forward"].notna()]
    assert observation.ic == pytest.approx(spearmanr(views["score"], views["forward"])[0])
    assert observation.ic == pytest.approx(views["score"].corr(views["forward"], method="spearman"))
    moved = views[(views["score"] != 0) & (views["forward"] != 0)]
    assert observation.hit_rate == pytest.approx(
        (np.sign(moved["score"]) == np.sign(moved["forward"])).mean()
    )
    assert observation.instruments == len(views)
    assert observation.coverage == pytest.approx((batch.confidence > 0).mean())


def test_spearman_with_ties_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    score = rng.integers(-2, 3, 40).astype(float)
    forward = rng.normal(size=40)
    assert spearman_ic(score, forward) == pytest.approx(spearmanr(score, forward)[0])


def _track(
    tracker: QualityTracker, cycles: range, predictive: bool, rng: np.random.Generator
) -> None:
    """Views 1 cycle ahead over 30 instruments: the realised return follows the score (plus
    noise) when ``predictive``, and runs against it otherwise."""
    price = np.full(30, 100.0)
    for cycle in cycles:
        score = rng.uniform(-1, 1, 30)
        tracker.record(cycle, "desk", "1d", np.arange(30), score, price.copy(), 30)
        direction = 1.0 if predictive else -1.0
        price = price * (1 + 0.01 * direction * score + rng.normal(0, 0.005, 30))
        tracker.mature(cycle + 1, price)


def test_a_source_that_predicts_gains_weight_and_one_that_stops_loses_it() -> None:
    rng = np.random.default_rng(11)
    tracker = QualityTracker(window=20, min_observations=10, sensitivity=10, bounds=(0.25, 2.0))
    _track(tracker, range(1, 6), predictive=True, rng=rng)
    assert tracker.quality("desk").multiplier == 1.0  # too few observations to judge
    _track(tracker, range(6, 40), predictive=True, rng=rng)
    good = tracker.quality("desk")
    assert good.ic > 0.5 and good.multiplier == 2.0
    _track(tracker, range(40, 80), predictive=False, rng=rng)
    bad = tracker.quality("desk")
    assert bad.ic < -0.5 and bad.multiplier == 0.25
    assert bad.observations == 20


def test_bounds_must_allow_the_configured_weight() -> None:
    with pytest.raises(ValueError, match="must include 1"):
        QualityTracker(bounds=(1.5, 2.0))


def test_average_ranks_match_scipy_with_and_without_ties() -> None:
    rng = np.random.default_rng(5)
    for size in (1, 2, 7, 50):
        for values in (rng.integers(0, 4, size).astype(float), rng.normal(size=size)):
            np.testing.assert_allclose(average_ranks(values), rankdata(values))
