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
    """Weights proportional to conviction (score times confidence).

    Only instruments in the portfolio's universe with a tradable price are eligible. Long-only
    (``max_short_weight = 0``): positive conviction only, the total ``1 - cash_buffer``, each
    weight at most ``max_weight``; with no positive view at all the portfolio goes to cash.
    Long/short: positive views share the long side, ``(gross + net) / 2``, and negative views the
    short side, ``(gross - net) / 2``, each name capped (``max_weight`` long, ``max_short_weight``
    short); a side without views stays empty, its exposure in cash.
    """

    def __init__(
        self,
        portfolio_id: str,
        max_weight: float,
        cash_buffer: float,
        max_short_weight: float = 0.0,
        gross: float | None = None,
        net: float | None = None,
    ) -> None:
        self.portfolio_id = portfolio_id
        self.max_weight = max_weight
        self.cash_buffer = cash_buffer
        self.max_short_weight = max_short_weight
        self.net = 1.0 - cash_buffer if net is None else net
        self.gross = self.net if gross is None else gross
        if max_short_weight > 0 and not self.gross >= abs(self.net):
            raise ValueError(f"gross: {self.gross} must be at least |net| {abs(self.net)}")

    def allocate(
        self,
        signals: CoordinatedSignals,
        eligible: np.ndarray,
        timestamp: date,
        reserve: float = 0.0,
    ) -> TargetWeights:
        """``reserve``: net weight already taken (by pinned instruments), left out of the book."""
        conviction = np.where(eligible, signals.score * signals.confidence, 0.0)
        net = self.net - reserve
        if self.max_short_weight > 0:
            gross = max(self.gross - abs(reserve), abs(net))
            longs = cap_weights(np.clip(conviction, 0.0, None), (gross + net) / 2, self.max_weight)
            shorts = cap_weights(
                np.clip(-conviction, 0.0, None), (gross - net) / 2, self.max_short_weight
            )
            weights = longs - shorts
        else:
            weights = cap_weights(np.clip(conviction, 0.0, None), max(net, 0.0), self.max_weight)
        return TargetWeights(self.portfolio_id, timestamp, weights, 1.0 - float(weights.sum()))
