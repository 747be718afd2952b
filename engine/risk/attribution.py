"""Euler risk attribution: who in the book carries the risk, by instrument, sector and sleeve.

A risk measure ``R(w)`` that is positively homogeneous of degree one (``R(t w) = t R(w)``,
``t > 0``) splits exactly into **components** ``C_i = w_i dR/dw_i`` that sum to ``R`` (Euler's
theorem; Tasche, *Risk contributions and performance measurement*, 1999). ``dR/dw_i`` is the
**marginal** risk: the change in ``R`` per unit of NAV added to instrument ``i``. Weights are
fractions of NAV over the instrument vector (negative = short); returns are daily; losses are
positive, as in ``engine.risk.metrics``.

- **Volatility** ``sigma = sqrt(w' S w)``: ``dsigma/dw = S w / sigma``.
- **Parametric VaR / CVaR** (normal, mean zero): ``VaR_a = z_a sigma`` and
  ``CVaR_a = sigma phi(z_a) / (1 - a)`` are ``sigma`` times a constant, so their marginals are
  that constant times ``S w / sigma``.
- **Historical CVaR** (today's weights over the scenarios ``x_t``, days x instruments, missing
  returns taken as zero as in ``risk_figures``): ``CVaR_a = -mean_{t in T} w' x_t`` over the tail
  ``T`` of days whose portfolio return is at or below the empirical ``(1 - a)`` quantile (numpy's
  linear interpolation, the estimator of ``metrics.historical_var_cvar``). The tail is locally
  fixed, so ``dCVaR/dw_i = -mean_{t in T} x_{t,i}`` and the components
  ``C_i = mean_{t in T} (-w_i x_{t,i})`` sum to the CVaR exactly (Scaillet, 2004).
- **Historical VaR**: the interpolated quantile ``q = (1 - f) r_(j) + f r_(j+1)`` of the sorted
  portfolio returns is a fixed blend of two scenarios (days ``t_j``, ``t_(j+1)``), so
  ``C_i = -w_i ((1 - f) x_{t_j,i} + f x_{t_(j+1),i})``. Exact, but it rests on one or two days
  and so is noisy from one day to the next (Hallerbach, 2003); prefer the CVaR components for
  steering and read the VaR ones as "what the quantile day looked like".

Groups add components: a sector's is the sum over its names (``by_group``); a sleeve's, with
``w = sum_s c_s w_s``, is ``(c_s w_s) . marginal`` (``by_sleeve``): the change in ``R`` if the
sleeve's whole contribution were scaled, and the sleeves again sum to ``R``.

A portfolio with no risk (no positions, or a zero covariance) has total, marginal and component
zero; nothing divides by zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from engine.risk.metrics import TRADING_DAYS_PER_YEAR, parametric_var_cvar


@dataclass(frozen=True, slots=True, eq=False)
class Attribution:
    """A risk measure and its Euler split over the instruments (fractions of NAV, daily)."""

    measure: str  # e.g. "volatility", "var_parametric_0.99", "cvar_historical_0.95"
    total: float
    marginal: np.ndarray  # dR/dw_i, per unit of NAV in instrument i
    component: np.ndarray  # w_i dR/dw_i; sums to ``total``

    @property
    def share(self) -> np.ndarray:
        """Each instrument's fraction of the total (sums to one; zeros when there is no risk)."""
        if self.total == 0.0:
            return np.zeros_like(self.component)
        return self.component / self.total


def _weights(weights: np.ndarray) -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 1:
        raise ValueError(f"weights: shape {weights.shape} must be one-dimensional (instruments)")
    if not np.all(np.isfinite(weights)):
        raise ValueError("weights: every weight must be finite")
    return weights


def _check_level(level: float) -> None:
    if not 0.5 < level < 1:
        raise ValueError(f"level: {level} must be in (0.5, 1)")


def _sigma_gradient(
    weights: np.ndarray,
    covariance: np.ndarray | None,
    covariance_times_weights: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    weights = _weights(weights)
    n = len(weights)
    if covariance_times_weights is None:
        if covariance is None:
            raise ValueError("covariance: needed when covariance_times_weights is not given")
        covariance = np.asarray(covariance, dtype=float)
        if covariance.shape != (n, n):
            raise ValueError(
                f"covariance: shape {covariance.shape} must be ({n}, {n}) for the weights"
            )
        covariance_times_weights = covariance @ weights
    variance = float(weights @ covariance_times_weights)
    if not variance > 0.0:  # zero (or a rounding-negative) variance: no risk to attribute
        return 0.0, np.zeros(n)
    sigma = float(np.sqrt(variance))
    return sigma, covariance_times_weights / sigma


def volatility_attribution(weights: np.ndarray, covariance: np.ndarray) -> Attribution:
    """Euler split of the daily volatility ``sqrt(w' S w)``."""
    sigma, marginal = _sigma_gradient(weights, covariance)
    return Attribution("volatility", sigma, marginal, np.asarray(weights, float) * marginal)


def parametric_var_attribution(
    weights: np.ndarray, covariance: np.ndarray, level: float
) -> Attribution:
    """Euler split of the normal 1-day VaR ``z_a sigma``."""
    _check_level(level)
    z, _ = parametric_var_cvar(1.0, level)
    sigma, marginal = _sigma_gradient(weights, covariance)
    marginal = z * marginal
    return Attribution(
        f"var_parametric_{level:g}", z * sigma, marginal, np.asarray(weights, float) * marginal
    )


def parametric_cvar_attribution(
    weights: np.ndarray, covariance: np.ndarray, level: float
) -> Attribution:
    """Euler split of the normal 1-day CVaR ``sigma phi(z_a) / (1 - a)``."""
    _check_level(level)
    _, k = parametric_var_cvar(1.0, level)
    sigma, marginal = _sigma_gradient(weights, covariance)
    marginal = k * marginal
    return Attribution(
        f"cvar_parametric_{level:g}", k * sigma, marginal, np.asarray(weights, float) * marginal
    )


def _scenarios(weights: np.ndarray, scenarios: np.ndarray) -> np.ndarray:
    scenarios = np.nan_to_num(np.asarray(scenarios, dtype=float))
    if scenarios.ndim != 2 or scenarios.shape[1] != len(weights):
        raise ValueError(
            f"scenarios: shape {scenarios.shape} must be (days, {len(weights)}) for the weights"
        )
    if scenarios.shape[0] == 0:
        raise ValueError("scenarios: at least one day is needed")
    return scenarios


def historical_cvar_attribution(
    weights: np.ndarray, scenarios: np.ndarray, level: float
) -> Attribution:
    """Euler split of the empirical 1-day CVaR over ``scenarios`` (days x instruments)."""
    _check_level(level)
    weights = _weights(weights)
    scenarios = _scenarios(weights, scenarios)
    name = f"cvar_historical_{level:g}"
    if not np.any(weights):
        return Attribution(name, 0.0, np.zeros(len(weights)), np.zeros(len(weights)))
    portfolio = scenarios @ weights
    cutoff = float(np.quantile(portfolio, 1.0 - level))
    tail_days = scenarios[portfolio <= cutoff]
    marginal = -tail_days.mean(axis=0)
    component = weights * marginal
    return Attribution(name, -float(portfolio[portfolio <= cutoff].mean()), marginal, component)


def historical_var_attribution(
    weights: np.ndarray, scenarios: np.ndarray, level: float
) -> Attribution:
    """Euler split of the empirical 1-day VaR: the blend of the scenario(s) at the quantile."""
    _check_level(level)
    weights = _weights(weights)
    scenarios = _scenarios(weights, scenarios)
    name = f"var_historical_{level:g}"
    if not np.any(weights):
        return Attribution(name, 0.0, np.zeros(len(weights)), np.zeros(len(weights)))
    portfolio = scenarios @ weights
    order = np.argsort(portfolio, kind="stable")
    # numpy's default ("linear") quantile: position (n - 1) p between order statistics j, j + 1.
    position = (len(portfolio) - 1) * (1.0 - level)
    j = int(np.floor(position))
    fraction = position - j
    upper = min(j + 1, len(portfolio) - 1)
    quantile_day = (1.0 - fraction) * scenarios[order[j]] + fraction * scenarios[order[upper]]
    marginal = -quantile_day
    component = weights * marginal
    total = -float((1.0 - fraction) * portfolio[order[j]] + fraction * portfolio[order[upper]])
    return Attribution(name, total, marginal, component)


def by_group(component: np.ndarray, labels: Sequence[str]) -> dict[str, float]:
    """Sum of the components per label (e.g. sector), in order of first appearance."""
    component = np.asarray(component, dtype=float)
    if len(labels) != len(component):
        raise ValueError(
            f"labels: {len(labels)} labels for {len(component)} components; one per instrument"
        )
    groups: dict[str, float] = {}
    for label, value in zip(labels, component, strict=True):
        groups[label] = groups.get(label, 0.0) + float(value)
    return groups


def by_sleeve(sleeve_contributions: np.ndarray, marginal: np.ndarray) -> np.ndarray:
    """Each sleeve's component ``(c_s w_s) . marginal`` from the rows ``c_s w_s`` (S x N).

    The sleeves sum to the total when the rows sum to the portfolio's weights ``w``."""
    sleeve_contributions = np.asarray(sleeve_contributions, dtype=float)
    marginal = np.asarray(marginal, dtype=float)
    if sleeve_contributions.ndim != 2 or sleeve_contributions.shape[1] != len(marginal):
        raise ValueError(
            f"sleeve_contributions: shape {sleeve_contributions.shape} must be "
            f"(sleeves, {len(marginal)}) for the marginals"
        )
    return sleeve_contributions @ marginal


class HoldingRisk(NamedTuple):
    """One holding's Euler attribution at the 99% level: ``index`` into the weights given;
    volatility annualised; VaR parametric and CVaR historical, 1-day, fractions of NAV."""

    index: int
    weight: float
    marginal_volatility: float
    component_volatility: float
    marginal_var_99: float
    component_var_99: float
    component_cvar_99_historical: float


def holding_attribution(
    weights: np.ndarray,
    covariance: np.ndarray | None,
    scenarios: np.ndarray,
    *,
    covariance_times_weights: np.ndarray | None = None,
) -> tuple[HoldingRisk, ...]:
    """Marginal and component volatility, VaR and CVaR of each holding (non-zero weight), the
    largest VaR component first; none for an empty book. ``scenarios``: days x instruments.

    Only ``Sigma w`` is needed of the covariance: worked out once for the volatility and the VaR
    (their marginals differ by the constant ``z``), or given as ``covariance_times_weights`` by
    a caller that has it (then the matrix is not read)."""
    w = np.asarray(weights, dtype=float)
    if not np.any(w):
        return ()
    annual = float(np.sqrt(TRADING_DAYS_PER_YEAR))
    z, _ = parametric_var_cvar(1.0, 0.99)
    _, vol_marginal = _sigma_gradient(w, covariance, covariance_times_weights)
    var_marginal = z * vol_marginal
    var_component = w * var_marginal
    cvar = historical_cvar_attribution(w, scenarios, 0.99)
    held = np.flatnonzero(w)
    held = held[np.argsort(-np.abs(var_component[held]), kind="stable")]
    # Whole columns to Python floats at once (a book holds hundreds of names, every cycle).
    weight, marginal = w[held], vol_marginal[held]
    return tuple(
        HoldingRisk(*row)
        for row in zip(
            held.tolist(),
            weight.tolist(),
            (marginal * annual).tolist(),
            (weight * marginal * annual).tolist(),
            var_marginal[held].tolist(),
            var_component[held].tolist(),
            cvar.component[held].tolist(),
            strict=True,
        )
    )
