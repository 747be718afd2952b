"""The quality stage: views whose horizon has passed are scored against what the market did
(rolling IC, hit rate, coverage; engine/signals/quality.py), and each source's weight multiplier
is updated. Recorded as ``SourceQualityMeasured`` every ``record_every`` cycles.

State it keeps: the ``QualityTracker`` (the views waiting to mature and the rolling scores) and
the latest multipliers, which hold while there are no views.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.cycle.context import MarketClose, json_float
from engine.cycle.recorder import Emitter
from engine.cycle.signals import SignalViews
from engine.signals.quality import QualityTracker
from engine.signals.records import quality_points_from_event
from engine.snapshot import QualityPoint


@dataclass(frozen=True, slots=True)
class QualityResult:
    """The weight multiplier of each source, and the quality points recorded this cycle."""

    multipliers: dict[str, float]
    recorded: tuple[QualityPoint, ...] = ()


class QualityStage:
    def __init__(
        self, tracker: QualityTracker, source_names: Sequence[str], record_every: int = 5
    ) -> None:
        self.tracker = tracker
        self.source_names = tuple(source_names)
        self.record_every = record_every
        self.multipliers: dict[str, float] = {}

    def record_external(
        self,
        cycle: int,
        source: str,
        horizon: str,
        index: Sequence[int],
        scores: Sequence[float],
        close: np.ndarray,
    ) -> None:
        """External views accepted at ``cycle``, to be scored once their horizon has passed."""
        at = np.array(index, dtype=int)
        priced = np.isfinite(close[at]) & (close[at] > 0)
        if priced.any():
            self.tracker.record(
                cycle,
                source,
                horizon,
                at[priced],
                np.array(scores)[priced],
                close[at[priced]],
                len(close),
            )

    def run(
        self, cycle: int, market: MarketClose, views: SignalViews, emit: Emitter
    ) -> QualityResult:
        if not views:
            return QualityResult(self.multipliers)
        tracker = self.tracker
        tracker.record_batches(cycle, views.model, market.close)
        tracker.mature(cycle, market.close)
        qualities = [tracker.quality(name) for name in self.source_names]
        self.multipliers = {q.source: q.multiplier for q in qualities}
        if cycle % self.record_every:
            return QualityResult(self.multipliers)
        event = emit(
            "SourceQualityMeasured",
            {
                "market_date": market.today.isoformat(),
                "sources": {
                    q.source: {
                        "ic": json_float(q.ic),
                        "hit_rate": json_float(q.hit_rate),
                        "coverage": json_float(q.coverage),
                        "observations": q.observations,
                        "weight_multiplier": round(q.multiplier, 6),
                    }
                    for q in qualities
                },
            },
        )
        return QualityResult(self.multipliers, tuple(quality_points_from_event(event)))
