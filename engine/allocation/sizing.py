"""Position sizing: coordinated signals become target weights (fractions of NAV) per portfolio."""

from __future__ import annotations

from datetime import date

import numpy as np

from engine.model import CoordinatedSignals, TargetWeights


def cap_weights(raw: np.ndarray, budget: float, max_weight: float) -> np.ndarray:
    """Scale non-negative ``raw`` scores to weights summing to ``budget``, each <= ``max_weight``.

    Water-filling: capped names are fixed at the cap and what they would have had above it is
    shared among the uncapped ones in proportion to their scores; repeated until nothing exceeds
    the cap. If every scored name is capped the total falls short of ``budget`` and the rest stays
    in cash: a cap is never breached to stay invested.
    """
    weights = np.zeros_like(raw, dtype=float)
    free = raw > 0
    remaining = budget
    while free.any() and remaining > 1e-12:
        share = raw[free] / raw[free].sum() * remaining
        over = share > max_weight
        if not over.any():
            weights[free] = share
            break
        capped = np.flatnonzero(free)[over]
        weights[capped] = max_weight
        remaining -= max_weight * len(capped)
        free[capped] = False
    return weights


class SignalProportionalAllocator:
    """Long-only weights proportional to positive conviction (score times confidence).

    Only instruments in the portfolio's universe with a tradable price are eligible; the total is
    ``1 - cash_buffer``, each weight is at most ``max_weight``; with no positive view at all the
    portfolio goes to cash.
    """

    def __init__(self, portfolio_id: str, max_weight: float, cash_buffer: float) -> None:
        self.portfolio_id = portfolio_id
        self.max_weight = max_weight
        self.cash_buffer = cash_buffer

    def allocate(
        self, signals: CoordinatedSignals, eligible: np.ndarray, timestamp: date
    ) -> TargetWeights:
        conviction = np.where(eligible, np.clip(signals.score, 0.0, None) * signals.confidence, 0.0)
        weights = cap_weights(conviction, 1.0 - self.cash_buffer, self.max_weight)
        return TargetWeights(self.portfolio_id, timestamp, weights, 1.0 - float(weights.sum()))
