"""Signal coordination: many sources' views of an instrument become one.

``ConfidenceWeightedBlend`` is the default policy: each source's score counts in proportion to its
configured weight times its confidence, ``s = sum_k w_k c_k s_k / sum_k w_k c_k``; the blended
confidence is the weight-averaged confidence ``c = sum_k w_k c_k / sum_k w_k``, so a lone confident
source among silent ones is trusted less than the same view shared by all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from engine.model import CoordinatedSignals, SignalBatch


class ConfidenceWeightedBlend:
    def __init__(self, sources: Sequence[str], source_weights: Mapping[str, float]) -> None:
        if not sources:
            raise ValueError("sources: a coordinator needs at least one source")
        self.sources = tuple(sources)
        self.weights = {name: float(source_weights.get(name, 1.0)) for name in self.sources}

    def coordinate(self, batches: Mapping[str, SignalBatch]) -> CoordinatedSignals:
        missing = [name for name in self.sources if name not in batches]
        if missing:
            raise KeyError(f"sources: no signals this cycle from {missing}")
        first = batches[self.sources[0]]
        weighted_confidence = {
            name: self.weights[name] * batches[name].confidence for name in self.sources
        }
        total = sum(weighted_confidence.values())
        safe_total = np.where(total > 0, total, 1.0)
        contribution = {
            name: np.where(
                total > 0, weighted_confidence[name] * batches[name].score / safe_total, 0
            )
            for name in self.sources
        }
        score = sum(contribution.values())
        confidence = total / sum(self.weights.values())
        return CoordinatedSignals(
            self.sources, first.timestamp, np.asarray(score), confidence, contribution
        )
