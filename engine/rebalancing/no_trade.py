"""The cost-aware no-trade region (``[portfolios.rebalancing] cost_aware = true``;
docs/rebalancing.md): a rebalance leaves out the trades that gain less, in the allocation's own
objective, than they cost to make.

The objective is the allocation's: ``U(w) = mu' w - lambda (w - a)' Sigma (w - a)`` in daily
units, with ``mu`` the expected returns the coordinated signals imply, ``Sigma`` the allocation's
risk model and ``lambda`` the mandate's risk aversion:

- ``mean_variance`` sizes with it, ``a = 0``;
- ``minimum_variance`` with ``mu = 0``, ``lambda = 1``, ``a = 0``;
- the models without an objective of their own (``signal_proportional``, ``risk_parity``,
  ``equal_weight``, ``inverse_volatility``) aim at their target ``w*``: for them ``a = w*``, so
  that being off the target costs the expected return forgone and the tracking risk.

With ``d_i`` a name's trade toward the target, the **benefit** of trade ``i`` is what the
target loses if that trade alone is not made:

    B_i = U(w*) - U(w* - d_i e_i)
        = d_i (mu_i - 2 lambda (Sigma (w* - a))_i) + lambda d_i^2 Sigma_ii

in return per day, earned for ``horizon_days`` trading days (about until the next rebalance),
in USD ``B_i x horizon_days x NAV``. Its **cost** is the trade engine's estimate for the trade
(half-spread, square-root market impact for its size, commission) plus the tax its sale would
owe: the gains of the lots it closes (by the portfolio's lot method) at the short- or long-term
rate, a loss counting as a saving. A trade whose benefit is below its cost is held back: the
name stays as held, as long as that keeps every limit of the mandate (a trade a limit needs is
made whatever it costs). The worst trades (benefit less cost) are held back first.

With ``to_band_edge``, the target itself moves first: a name beyond its drift band is traded
to the band's edge rather than to the target, and a name inside its band is not traded.
"""

from __future__ import annotations

import numpy as np


def trade_benefits(
    mu: np.ndarray,
    covariance_times_offset: np.ndarray,
    variances: np.ndarray,
    risk_aversion: float,
    target: np.ndarray,
    current: np.ndarray,
) -> np.ndarray:
    """Each name's ``B_i`` (module docstring) in daily objective units: ``mu``, the covariance
    times the target's offset from the anchor (``Sigma (w* - a)``) and its diagonal
    (``variances``), all daily."""
    trade = target - current
    gradient = mu - 2.0 * risk_aversion * covariance_times_offset
    return trade * gradient + risk_aversion * trade**2 * variances


def held_back_order(benefit_usd: np.ndarray, cost_usd: np.ndarray) -> np.ndarray:
    """The names whose benefit is below their cost, worst (benefit less cost) first; a name
    whose benefit is unknown (NaN) is never held back."""
    margin = benefit_usd - cost_usd
    below = np.flatnonzero(np.nan_to_num(margin, nan=0.0) < 0)
    return below[np.argsort(margin[below], kind="stable")]


def band_edge_weights(target: np.ndarray, current: np.ndarray, bands: np.ndarray) -> np.ndarray:
    """The weights a trade to the band's edge aims at: ``current`` where it is inside its band
    (``bands``: each name's, ``inf`` for none: those go to the target), else the target plus
    the band on the side the name drifted to."""
    drift = current - target
    edged = target + np.clip(drift, -bands, bands)
    return np.where(np.isfinite(bands), edged, target)
