"""Expected returns from coordinated signals.

Grinold's "fundamental law" mapping (Grinold and Kahn, *Active Portfolio Management*, ch. 10):
an expected residual return is ``alpha = IC * sigma * z``, information coefficient times
volatility times a standardised score. A coordinated signal's ``score * confidence`` plays the part
of ``z`` (it lies in [-1, 1]: a full-conviction view is about one standard deviation), so a stock
twice as volatile carries twice the expected return for the same view, and the IC says how much
of a view to believe.
"""

from __future__ import annotations

import numpy as np


class SignalToReturn:
    """``mu_i = information_coefficient * sigma_i * score_i * confidence_i`` (daily units when
    ``sigma`` is a daily volatility)."""

    def __init__(self, information_coefficient: float = 0.05) -> None:
        if not 0 < information_coefficient <= 1:
            raise ValueError(
                f"information_coefficient: {information_coefficient} must be in (0, 1]"
            )
        self.information_coefficient = information_coefficient

    def expected_returns(
        self, score: np.ndarray, confidence: np.ndarray, volatility: np.ndarray
    ) -> np.ndarray:
        score, confidence, volatility = (
            np.asarray(a, dtype=float) for a in (score, confidence, volatility)
        )
        if not (score.shape == confidence.shape == volatility.shape):
            raise ValueError(
                f"score, confidence, volatility: shapes {score.shape}, {confidence.shape}, "
                f"{volatility.shape} differ"
            )
        if not np.all(np.isfinite(volatility) & (volatility >= 0)):
            raise ValueError("volatility: must be finite and not negative")
        return self.information_coefficient * volatility * score * confidence
