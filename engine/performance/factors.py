"""The holdings' return split into statistical (PCA) factors and what is specific to the names.

Each day, the factors are those of the risk model's PCA (engine/allocation/risk_models.py,
``PcaFactorModel``) estimated on the ``window`` daily returns before that day: exposures ``B``
(names x k, orthonormal columns). The day's factor returns are the cross-section of the names'
returns projected on them, ``f = B' r`` (the least-squares fit of ``r`` on ``B``, since
``B'B = I``); the book's exposure is ``x = B' w`` for its start-of-day weights ``w``. Factor j
contributes ``x_j f_j``, and the specific return is the rest, ``w' r - x' f``: the two add up to
the holdings' return exactly. A PCA factor's sign is arbitrary, and ``x_j f_j`` does not depend
on it. Names without a full window of prices have no exposures that day (their return is all
specific); cash earns nothing here.

Over a period, each day's parts are scaled as Carino's method scales Brinson effects (against a
zero benchmark), so that they add up to the period's compounded holdings return.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.allocation.risk_models import PcaFactorModel
from engine.performance.attribution import carino_factor, carino_factors

# A day's factor exposures by (history row, window, factors, names with a full window).
ExposureCache = dict[tuple[int, int, int, bytes], np.ndarray]


@dataclass(frozen=True, slots=True)
class FactorAttribution:
    factor_daily: np.ndarray  # days x k: each factor's contribution
    specific_daily: np.ndarray  # days
    factor_linked: np.ndarray  # k: over the period, Carino-linked
    specific_linked: float
    holdings_return: float  # the period's, compounded

    def to_dict(self) -> dict[str, object]:
        return {
            "factors": {
                f"factor {j + 1}": float(value) for j, value in enumerate(self.factor_linked)
            },
            "factor_total": float(self.factor_linked.sum()),
            "specific": self.specific_linked,
            "holdings_return": self.holdings_return,
        }


def factor_attribution(
    weights: np.ndarray,
    day_returns: np.ndarray,
    history: np.ndarray,
    first_day: int,
    window: int,
    factors: int = 5,
    exposures_cache: ExposureCache | None = None,
) -> FactorAttribution:
    """``weights`` and ``day_returns`` are days x names (start-of-day weights and the day's
    returns); ``history`` is every day's returns of the same names, row ``first_day + t`` being
    day ``t`` of ``weights``, so that the rows before it are the estimation window.

    ``exposures_cache`` keeps each day's factors for the next portfolio measured on the same
    history and settings (a run's portfolios share them)."""
    if window < 2 or first_day < window:
        raise ValueError(f"window: {window} days before the first day (row {first_day}) are needed")
    model = PcaFactorModel(factors)
    days, names = weights.shape
    k = min(factors, names)
    factor_daily = np.zeros((days, k))
    specific_daily = np.zeros(days)
    for t in range(days):
        past = history[first_day + t - window : first_day + t]
        r = np.nan_to_num(day_returns[t])
        w = np.nan_to_num(weights[t])
        full = np.isfinite(past).all(axis=0) & np.isfinite(day_returns[t])
        key = (first_day + t, window, factors, full.tobytes())
        exposures = exposures_cache.get(key) if exposures_cache is not None else None
        if exposures is None:
            exposures = np.zeros((names, k))
            if full.sum() > k:
                estimate = model.estimate(past[:, full])
                exposures[full, : estimate.exposures.shape[1]] = estimate.exposures
            if exposures_cache is not None:
                exposures_cache[key] = exposures
        x, f = exposures.T @ w, exposures.T @ r
        factor_daily[t] = x * f
        specific_daily[t] = w @ r - factor_daily[t].sum()
    total_daily = factor_daily.sum(axis=1) + specific_daily
    period = float(np.prod(1.0 + total_daily) - 1.0)
    scale = carino_factors(total_daily, np.zeros(days)) / carino_factor(period, 0.0)
    return FactorAttribution(
        factor_daily,
        specific_daily,
        (factor_daily * scale[:, None]).sum(axis=0),
        float((specific_daily * scale).sum()),
        period,
    )
