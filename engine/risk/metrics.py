"""Portfolio risk from current holdings: exposures, volatility, VaR and CVaR, drawdown, and Euler
attribution.

All figures are fractions of NAV over one trading day unless named ``annual``; losses (VaR, CVaR)
are positive numbers.

- **Parametric** (normal, mean zero): ``VaR_a = z_a sigma`` and
  ``CVaR_a = sigma phi(z_a) / (1 - a)`` with ``sigma = sqrt(w' Sigma w)`` (Jorion, *Value at
  Risk*, ch. 5).
- **Historical** (simulation with today's weights): the day-by-day portfolio returns ``r_t = w'
  x_t`` over the look-back; ``VaR_a`` is the loss at the ``(1 - a)`` empirical quantile (numpy's
  default linear interpolation), ``CVaR_a`` the mean loss of the days at or beyond it.
- **Euler attribution**: risk measures homogeneous of degree one split exactly into ``w_i dR/dw_i``.
  For the parametric VaR the contribution of instrument ``i`` is ``z_a w_i (Sigma w)_i / sigma``;
  the contributions sum to the VaR, and the reported shares (contribution / VaR) to one.
- **Drawdown**: ``1 - NAV / running peak NAV`` over the daily closes of a trailing window
  (``trailing_drawdowns``): the one definition the ``max_drawdown`` limit is checked against and
  the Risk page shows, so the limits table and the figures can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

TRADING_DAYS_PER_YEAR = 252
LEVELS = (0.95, 0.99)


@dataclass(frozen=True, slots=True)
class RiskFigures:
    gross_exposure: float
    net_exposure: float
    volatility_annual: float
    var_parametric: dict[float, float]
    cvar_parametric: dict[float, float]
    var_historical: dict[float, float]
    cvar_historical: dict[float, float]
    contributions: np.ndarray  # share of the parametric 99% VaR per instrument (sums to 1)


def parametric_var_cvar(sigma: float, level: float) -> tuple[float, float]:
    """Normal VaR and CVaR of a zero-mean return with standard deviation ``sigma``."""
    if not 0.5 < level < 1:
        raise ValueError(f"level: {level} must be in (0.5, 1)")
    normal = NormalDist()
    z = normal.inv_cdf(level)
    return z * sigma, sigma * normal.pdf(z) / (1.0 - level)


def historical_var_cvar(returns: np.ndarray, level: float) -> tuple[float, float]:
    """Empirical VaR and CVaR (positive losses) of daily ``returns``."""
    if not 0.5 < level < 1:
        raise ValueError(f"level: {level} must be in (0.5, 1)")
    returns = np.asarray(returns, dtype=float)
    returns = returns[np.isfinite(returns)]
    if len(returns) == 0:
        return float("nan"), float("nan")
    cutoff = float(np.quantile(returns, 1.0 - level))
    tail = returns[returns <= cutoff]
    return -cutoff, -float(tail.mean())


def drawdowns(nav: np.ndarray) -> tuple[float, float]:
    """Current and maximum drawdown of a NAV series (fractions of the running peak)."""
    nav = np.asarray(nav, dtype=float)
    if len(nav) == 0:
        return 0.0, 0.0
    peak = np.maximum.accumulate(nav)
    depth = 1.0 - nav / peak
    return float(depth[-1]), float(depth.max())


@dataclass(frozen=True, slots=True)
class Drawdowns:
    """Drawdowns of the daily closing NAV over a trailing window (fractions below the peak)."""

    current: float  # below the highest close of the window, at the latest close
    maximum: float  # the deepest fall below a running peak within the window
    window_days: int


def trailing_drawdowns(nav: np.ndarray, window_days: int) -> Drawdowns:
    """Current and maximum drawdown over the last ``window_days`` trading days of daily closing
    NAVs (the latest close and the ``window_days`` before it, so a one-day window compares two
    closes). The peak is the highest close inside the window: a fall older than the window no
    longer counts, so a book that stopped trading after a stop can come out of it."""
    if window_days < 1:
        raise ValueError(f"window_days: {window_days} must be at least one trading day")
    current, maximum = drawdowns(np.asarray(nav, dtype=float)[-(window_days + 1) :])
    return Drawdowns(current, maximum, window_days)


def drawdown_basis(window_days: int) -> str:
    """What a drawdown figure measures, for its label and tooltip."""
    return f"from the peak NAV of the last {window_days} trading days (daily closes)"


def risk_figures(
    weights: np.ndarray,
    returns: np.ndarray,
    covariance: np.ndarray | None,
    *,
    covariance_times_weights: np.ndarray | None = None,
) -> RiskFigures:
    """Risk of holding ``weights`` (of NAV) given daily ``returns`` (days x instruments, the
    historical scenarios) and their ``covariance`` (daily).

    Only ``Sigma w`` is needed of the covariance; a caller that has it already (the risk stage
    takes it from the scenarios, ``ScenarioRisk.covariance_times``, in O(T N) rather than
    O(N^2)) passes it as ``covariance_times_weights`` and the matrix is not read."""
    weights = np.asarray(weights, dtype=float)
    if covariance_times_weights is None:
        if covariance is None:
            raise ValueError("covariance: needed when covariance_times_weights is not given")
        marginal = covariance @ weights
    else:
        marginal = covariance_times_weights
    sigma = float(np.sqrt(max(float(weights @ marginal), 0.0)))
    portfolio = np.nan_to_num(returns) @ weights
    var_p, cvar_p, var_h, cvar_h = {}, {}, {}, {}
    for level in LEVELS:
        var_p[level], cvar_p[level] = parametric_var_cvar(sigma, level)
        var_h[level], cvar_h[level] = historical_var_cvar(portfolio, level)
    shares = weights * marginal / (sigma**2) if sigma > 0 else np.zeros_like(weights)
    return RiskFigures(
        float(np.abs(weights).sum()),
        float(weights.sum()),
        sigma * float(np.sqrt(TRADING_DAYS_PER_YEAR)),
        var_p,
        cvar_p,
        var_h,
        cvar_h,
        shares,
    )
