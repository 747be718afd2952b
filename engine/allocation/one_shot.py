"""One-shot allocation for analysts: weights from a price history, with the engine's own models.

``allocate_from_prices`` takes daily closes (days x instruments), keeps the instruments with a
full history over the last ``lookback_days`` returns (and says which it left out), estimates the
risk model and runs the sizing model. Mean-variance needs expected returns: the one-shot use takes
the historical mean daily return of the window, which is a noisy estimate; say so to whoever reads
the weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.allocation.optimisers import (
    TRADING_DAYS_PER_YEAR,
    Bounds,
    InfeasibleAllocation,
    Sizer,
)
from engine.allocation.risk_models import make_risk_model, trailing_returns

METHODS = Sizer.MODELS


@dataclass(frozen=True, slots=True)
class OneShotAllocation:
    method: str
    risk_model: str
    symbols: tuple[str, ...]
    weights: np.ndarray
    cash_weight: float
    annual_volatility: float
    risk_contributions: np.ndarray  # fractions of the book's variance, summing to 1
    observations: int
    left_out: tuple[str, ...]


def allocate_from_prices(
    symbols: tuple[str, ...],
    close: np.ndarray,
    method: str,
    risk_model: str = "ledoit_wolf",
    lookback_days: int = 252,
    bounds: Bounds | None = None,
    risk_aversion: float = 1.0,
) -> OneShotAllocation:
    if method not in METHODS:
        raise ValueError(f"method: {method!r} is not one of {', '.join(METHODS)}")
    if lookback_days < 2:
        raise ValueError(f"lookback_days: {lookback_days} must be at least 2")
    bounds = bounds or Bounds()
    if len(close) < 3:
        raise ValueError(f"prices: need at least 3 days, got {len(close)}")
    returns, complete = trailing_returns(close, lookback_days)
    if not complete.any():
        raise InfeasibleAllocation(
            f"prices: no instrument has a full, positive price history over the last "
            f"{len(returns) + 1} days"
        )
    kept = tuple(s for s, ok in zip(symbols, complete, strict=True) if ok)
    left_out = tuple(s for s, ok in zip(symbols, complete, strict=True) if not ok)
    returns = returns[:, complete]
    estimate = make_risk_model(risk_model).estimate(returns)
    mu = returns.mean(axis=0) if method == "mean_variance" else None
    weights = Sizer(method, risk_aversion).weights(estimate, bounds, mu)
    covariance = estimate.covariance
    variance = float(weights @ covariance @ weights)
    contributions = weights * (covariance @ weights) / variance if variance > 0 else weights * 0
    return OneShotAllocation(
        method,
        risk_model,
        kept,
        weights,
        1.0 - float(weights.sum()),
        float(np.sqrt(TRADING_DAYS_PER_YEAR * variance)),
        contributions,
        len(returns),
        left_out,
    )
