"""Signal quality: does a source predict what the market then did?

For each raw view key (``source/horizon``) and each cycle, the instruments with a view are kept
with their scores and prices. Once the horizon has passed (``h`` cycles, one per trading day), the
realised forward return ``p_{t+h} / p_t - 1`` is known and one observation is made:

- information coefficient (IC): Spearman rank correlation of score with forward return across
  the instruments (Grinold and Kahn, *Active Portfolio Management*, ch. 6), if at least
  ``min_cross_section`` have both;
- hit rate: the fraction whose score had the sign of the return (zero scores and returns left out);
- coverage: the fraction of the universe that had a view.

A source's quality is the mean of its horizons' rolling means over the last ``window``
observations. Its weight multiplier is ``clip(1 + sensitivity * IC, low, high)`` once it has
``min_observations``, and 1 before: a source that stops predicting loses weight, one that predicts
gains it, within the bounds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from engine.model import SignalBatch
from engine.signals.horizons import horizon_days


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing the mean of their ranks (scipy's ``rankdata``, without its
    per-call overhead, which dominated the quality stage)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.concatenate([[0], np.flatnonzero(ordered[1:] != ordered[:-1]) + 1])
    ends = np.concatenate([starts[1:], [len(values)]])
    ranks = np.empty(len(values))
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def spearman_ic(score: np.ndarray, forward_return: np.ndarray) -> float:
    """Pearson correlation of average ranks (ties share their rank); NaN if either is constant."""
    if len(score) < 2:
        return float("nan")
    a = average_ranks(score)
    b = average_ranks(forward_return)
    a = a - a.mean()
    b = b - b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else float("nan")


@dataclass(frozen=True, slots=True)
class QualityObservation:
    key: str
    source: str
    horizon: str
    cycle: int  # the cycle the views were formed in
    ic: float
    hit_rate: float
    coverage: float
    instruments: int


@dataclass(frozen=True, slots=True)
class SourceQuality:
    source: str
    ic: float  # NaN until observed
    hit_rate: float
    coverage: float
    observations: int
    multiplier: float
    ic_full_history: float = float("nan")
    observations_full_history: int = 0


@dataclass(slots=True)
class _Pending:
    cycle: int
    index: np.ndarray
    score: np.ndarray
    price: np.ndarray
    universe_size: int


class QualityTracker:
    def __init__(
        self,
        window: int = 63,
        min_observations: int = 20,
        min_cross_section: int = 5,
        sensitivity: float = 10.0,
        bounds: tuple[float, float] = (0.25, 2.0),
    ) -> None:
        if bounds[0] > 1.0 or bounds[1] < 1.0:
            raise ValueError(f"bounds: {bounds} must include 1 (a source starts at its weight)")
        self.window = window
        self.min_observations = min_observations
        self.min_cross_section = min_cross_section
        self.sensitivity = sensitivity
        self.bounds = bounds
        self._pending: dict[str, deque[_Pending]] = {}
        self._rolling: dict[str, deque[QualityObservation]] = {}
        self._full_ic_sum: dict[str, float] = {}
        self._full_ic_count: dict[str, int] = {}
        self._horizon_days: dict[str, int] = {}
        self._cache: dict[str, SourceQuality] = {}

    def record(
        self,
        cycle: int,
        source: str,
        horizon: str,
        index: np.ndarray,
        score: np.ndarray,
        price: np.ndarray,
        universe_size: int,
    ) -> None:
        """Views formed at ``cycle`` (instrument ``index``, ``score``, ``price`` per share)."""
        key = f"{source}/{horizon}"
        if key not in self._horizon_days:
            self._horizon_days[key] = horizon_days(horizon)
            self._pending[key] = deque()
            self._rolling[key] = deque(maxlen=self.window)
        pending = self._pending[key]
        if pending and pending[-1].cycle == cycle:
            last = pending[-1]
            last.index = np.concatenate([last.index, index])
            last.score = np.concatenate([last.score, score])
            last.price = np.concatenate([last.price, price])
            return
        pending.append(_Pending(cycle, index, score, price, universe_size))

    def record_batches(self, cycle: int, batches: Iterable[SignalBatch], close: np.ndarray) -> None:
        for batch in batches:
            index = np.flatnonzero((batch.confidence > 0) & np.isfinite(close) & (close > 0))
            self.record(
                cycle,
                batch.source,
                batch.horizon,
                index,
                batch.score[index],
                close[index],
                len(close),
            )

    def mature(self, cycle: int, close: np.ndarray) -> list[QualityObservation]:
        """Observations for every view whose horizon ends at ``cycle``, given today's closes."""
        observations = []
        for key, pending in self._pending.items():
            h = self._horizon_days[key]
            while pending and pending[0].cycle + h <= cycle:
                views = pending.popleft()
                observation = self._observe(key, views, close)
                if observation is not None:
                    observations.append(observation)
        return observations

    def _observe(self, key: str, views: _Pending, close: np.ndarray) -> QualityObservation | None:
        with np.errstate(divide="ignore", invalid="ignore"):
            forward = close[views.index] / views.price - 1.0
        known = np.isfinite(forward)
        score, forward = views.score[known], forward[known]
        if len(score) < self.min_cross_section:
            return None
        ic = spearman_ic(score, forward)
        if not np.isfinite(ic):
            return None
        directional = (score != 0) & (forward != 0)
        hit = (
            float((np.sign(score[directional]) == np.sign(forward[directional])).mean())
            if directional.any()
            else float("nan")
        )
        source, horizon = key.split("/", 1)
        observation = QualityObservation(
            key,
            source,
            horizon,
            views.cycle,
            ic,
            hit,
            len(views.index) / views.universe_size if views.universe_size else 0.0,
            len(score),
        )
        self._rolling[key].append(observation)
        self._cache.pop(source, None)
        self._full_ic_sum[key] = self._full_ic_sum.get(key, 0.0) + ic
        self._full_ic_count[key] = self._full_ic_count.get(key, 0) + 1
        return observation

    def keys_of(self, source: str) -> list[str]:
        return [key for key in self._rolling if key.split("/", 1)[0] == source]

    def quality(self, source: str) -> SourceQuality:
        """Cached until one of the source's views is next observed."""
        cached = self._cache.get(source)
        if cached is None:
            cached = self._cache[source] = self._measure(source)
        return cached

    def _measure(self, source: str) -> SourceQuality:
        keys = self.keys_of(source)
        per_horizon = [self._rolling[key] for key in keys if self._rolling[key]]
        observations = min((len(obs) for obs in per_horizon), default=0)
        if not per_horizon:
            return SourceQuality(source, float("nan"), float("nan"), float("nan"), 0, 1.0)
        ic = float(np.mean([np.mean([o.ic for o in obs]) for obs in per_horizon]))
        hit = float(np.nanmean([np.nanmean([o.hit_rate for o in obs]) for obs in per_horizon]))
        coverage = float(np.mean([np.mean([o.coverage for o in obs]) for obs in per_horizon]))
        multiplier = 1.0
        if observations >= self.min_observations:
            multiplier = float(np.clip(1.0 + self.sensitivity * ic, *self.bounds))
        full_sum = sum(self._full_ic_sum.get(k, 0.0) for k in keys)
        full_n = sum(self._full_ic_count.get(k, 0) for k in keys)
        return SourceQuality(
            source,
            ic,
            hit,
            coverage,
            observations,
            multiplier,
            full_sum / full_n if full_n else float("nan"),
            full_n,
        )
